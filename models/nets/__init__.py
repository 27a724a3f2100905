"""Torch architectures, one family per module. Imported only when a torch model is built."""
