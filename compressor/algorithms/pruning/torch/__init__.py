"""PyTorch parts of pruning: criteria, producer→consumer channel chains (torch.fx), physical shrink."""
