"""Helpers of the PyTorch PTQ backend (``torch_backend.py``): one concept per module.

Every module here imports torch at import time; ``torch_backend`` imports them only after
``deps.require_torch`` has checked that torch (and, for static int8, torchao) is installed.
"""
