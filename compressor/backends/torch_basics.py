"""PyTorch basics: run a module on numpy inputs, fingerprint its weights."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch


def load(model: Any) -> torch.nn.Module:
    return model


def predict(model: Any, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """First output of ``model(*inputs)`` as numpy, in inference mode."""
    if hasattr(model, "eval"):
        model.eval()
    with torch.inference_mode():
        out = model(*(torch.from_numpy(np.ascontiguousarray(a)) for a in inputs))
    if isinstance(out, (tuple, list)):
        out = out[0]
    if hasattr(out, "logits"):
        out = out.logits
    return out.detach().float().cpu().numpy()


def runner(model: Any):
    """A callable mapping positional numpy inputs to the first output."""
    return lambda inputs: predict(model, inputs)


def input_count(model: Any) -> int | None:
    """Unknown for a Python forward: loaders for multi-input torch models yield ((a, b), labels)."""
    return None


def fingerprint(model: torch.nn.Module) -> str:
    """Hash of the architecture name and every parameter/buffer (name, dtype, shape, bytes): the same
    trained model, the same id; the same architecture with other weights, another id."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        _hash_value(digest, value)
    return digest.hexdigest()[:16]


def _hash_value(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.is_quantized:  # int8 codes plus their scales and zero points
            digest.update(repr(tensor.qscheme()).encode())
            if tensor.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                digest.update(f"{tensor.q_scale()},{tensor.q_zero_point()}".encode())
            else:
                _hash_value(digest, tensor.q_per_channel_scales())
                _hash_value(digest, tensor.q_per_channel_zero_points())
            tensor = tensor.int_repr()
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        # Raw bytes through a uint8 view: numpy has no bfloat16, so .numpy() would fail on bf16 weights.
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, (tuple, list)):  # e.g. quantized Linear's packed (weight, bias)
        for item in value:
            _hash_value(digest, item)
    elif isinstance(value, (str, int, float, bool, torch.dtype)):
        digest.update(repr(value).encode())
    else:  # extra state of another kind: its type only (its repr may hold memory addresses)
        digest.update(type(value).__qualname__.encode())


def median_forward_ms(model: Any, args: tuple, threads: int | None, warmup: int = 3, iterations: int = 20) -> float:
    """Median of ``iterations`` timed forwards (``compressor.timing``) at ``threads`` intra-op threads
    (None: torch's current setting); the untimed warmup (at least one call) includes any lazy compilation."""
    from ..timing import median, time_calls

    if threads is not None:
        torch.set_num_threads(threads)
    with torch.inference_mode():
        samples = time_calls(lambda a: model(*a), args, warmup=max(warmup, 1), iterations=iterations)
    return median(samples)


def module_outputs(module: Any, args: tuple, names: Any) -> dict[str, torch.Tensor]:
    """Outputs of the named submodules in one forward of ``module`` (detached copies; a module called
    twice keeps its first call, as graph capture does)."""
    outputs: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(mod, inputs, output):
            if name not in outputs:
                outputs[name] = (output[0] if isinstance(output, tuple) else output).detach().clone()

        return record

    handles = [module.get_submodule(n).register_forward_hook(hook(n)) for n in names]
    try:
        with torch.no_grad():
            module(*args)
    finally:
        for handle in handles:
            handle.remove()
    return outputs
