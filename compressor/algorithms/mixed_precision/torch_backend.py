"""PyTorch mixed precision (``TorchMixedPrecisionBackend``, registered name ``"torch"``).

Each converted module gets bf16/fp16 weights and is wrapped so that its floating inputs are cast to the
low precision and its outputs back to fp32 (``LowPrecisionModule``). Everything else, in particular the
functional softmax/layer norm/losses between modules, keeps running in fp32: numerically sensitive ops
stay fp32 by construction, and any op can fall back alone.

Why module wrappers rather than ``torch.autocast`` or ``model.to(bfloat16)``. Measured on torch
2.13.0+cpu, 1 thread, a Xeon with AMX-BF16/AVX512-BF16/AVX512-FP16 (oneDNN bf16 and fp16 kernels
available), median of 3 alternating rounds, ms per forward (speed-up over fp32):

    model            batch  fp32     autocast bf16  .to(bf16)      wrappers bf16  wrappers fp16
    cnn_mnist        1      0.121    0.293 (0.41x)  0.235 (0.52x)  0.271 (0.45x)  0.246 (0.49x)
    cnn_mnist        64     5.60     5.38  (1.04x)  5.28  (1.06x)  5.68  (0.99x)  7.35  (0.76x)
    minilm_wordnet   1      11.0     13.8  (0.80x)  6.93  (1.59x)  7.54  (1.46x)  12.4  (0.88x)
    minilm_wordnet   32     444      176   (2.52x)  104   (4.29x)  149   (2.98x)  376   (1.18x)

Autocast re-casts the fp32 weights on every call and is the slowest; ``.to(bfloat16)`` is fastest but
puts softmax/LayerNorm (and the attention matmuls) in bf16 and cannot keep one op in fp32. The
wrappers get most of the gain on MiniLM and allow per-op fallback. Tiny CNNs are not faster at all:
their convolutions are too small for AMX to pay for the casts.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ...backends.torch_basics import module_outputs
from ...errors import BackendError
from ...hardware import HardwareVerdict, assess, cpu_capabilities, torch_kernel_support
from ...quiet import quiet_frameworks
from ..ptq.algorithm import OpInfo, Plan
from ..ptq.backend import timing_threads
from ..ptq.torch.inputs import export_example, to_args
from .algorithm import ops_by_dtype
from .backend import MixedPrecisionBackend

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# Modules whose work is matmul/conv arithmetic; exact types (see TorchPTQBackend.quantizable_ops).
CONVERTIBLE = {
    nn.Linear: "Linear",
    nn.Conv1d: "Conv1d",
    nn.Conv2d: "Conv2d",
    nn.Conv3d: "Conv3d",
    nn.ConvTranspose1d: "ConvTranspose1d",
    nn.ConvTranspose2d: "ConvTranspose2d",
    nn.LSTM: "LSTM",
    nn.GRU: "GRU",
}
SAVE_FORMAT = "compressor.mixed_precision.torch/1"


def _cast(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(v, dtype) for v in value)
    return value


class LowPrecisionModule(nn.Module):
    """``module`` in ``dtype``: floating inputs cast down, outputs cast back to fp32."""

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module = module.to(dtype)
        self.dtype = dtype

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = self.module(*_cast(args, self.dtype), **{k: _cast(v, self.dtype) for k, v in kwargs.items()})
        return _cast(out, torch.float32)


class TorchMixedPrecisionBackend(MixedPrecisionBackend):
    """Mixed precision for ``torch.nn.Module`` models; batches are tuples of numpy arrays."""

    name = "torch"

    def __init__(self, num_threads: int | None = None, *, threads: int | None = None) -> None:
        """``threads``: intra-op threads of ``latency_ms`` (``num_threads``: its older name; default 1)."""
        self.threads = timing_threads(threads, "num_threads", num_threads)

    # --- the op space ------------------------------------------------------------------------------
    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        return [OpInfo(n, CONVERTIBLE[type(m)]) for n, m in model.named_modules() if type(m) in CONVERTIBLE]

    def hardware(self, precision: str, model: Any = None) -> HardwareVerdict:
        kernels = torch_kernel_support(precision)
        reason = "" if kernels is not False else f"reports no {precision} support"
        return assess(
            precision, cpu_capabilities(), runtime="torch/oneDNN", runtime_native=kernels, runtime_reason=reason
        )

    # --- conversion --------------------------------------------------------------------------------
    def convert(self, model: Any, plan: Plan) -> Any:
        names = {op.name for op in self.quantizable_ops(model)}
        unknown = sorted(set(plan.ops) - names)
        if unknown:
            raise BackendError(f"torch mixed precision: plan names modules the model does not have: {unknown}")
        work = copy.deepcopy(model).eval()  # the user's model is never touched
        for dtype_name, ops in ops_by_dtype(plan).items():
            if dtype_name in DTYPES:
                for name in ops:
                    work = _replace(work, name, LowPrecisionModule(work.get_submodule(name), DTYPES[dtype_name]))
        return work

    def converted_ops(self, model: Any) -> dict[str, str]:
        """{module name: "bf16"|"fp16"} read from the model's wrappers (not from a plan)."""
        names = {v: k for k, v in DTYPES.items()}
        return {n: names[m.dtype] for n, m in model.named_modules() if isinstance(m, LowPrecisionModule)}

    # --- measurement -------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        import numpy as np

        collected: dict[str, list] = {name: [] for name in op_names}
        for batch in batches:
            outputs = module_outputs(model, to_args(batch), op_names)
            for name in op_names:
                collected[name].append(outputs[name].float().numpy())
        return {name: np.concatenate(parts) for name, parts in collected.items() if parts}

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        from ...backends.torch_basics import median_forward_ms

        return median_forward_ms(model, to_args(batch), self.threads, warmup, iterations)

    def size_bytes(self, model: Any) -> int:
        return sum(t.numel() * t.element_size() for t in model.state_dict().values())

    # --- artefacts ---------------------------------------------------------------------------------
    def save(self, model: Any, path: str) -> None:
        """The per-module precisions and the state dict (tensors only: reloads with ``weights_only``)."""
        torch.save({"format": SAVE_FORMAT, "ops": self.converted_ops(model), "state_dict": model.state_dict()}, path)

    def load(self, path: str, fp32_model: Any = None) -> Any:
        from .algorithm import plan_from_dtypes

        if fp32_model is None:
            raise BackendError(f"{path}: a torch mixed-precision model reloads onto its fp32 model: load(path, model)")
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or saved.get("format") != SAVE_FORMAT:
            raise BackendError(f"{path}: not a file written by a torch mixed-precision model's save()")
        model = self.convert(fp32_model, plan_from_dtypes(saved["ops"]))
        model.load_state_dict(saved["state_dict"])
        return model

    @quiet_frameworks()
    def export_onnx(self, model: Any, path: str, example_batch: Any) -> None:
        """TorchScript-based export: low-precision modules become Cast → op in bf16/fp16 → Cast nodes."""
        if example_batch is None:
            raise BackendError("exporting a torch model to ONNX needs an example batch: export_onnx(path, batch)")
        args = export_example([to_args(example_batch)])
        names = [f"input_{i}" for i in range(len(args))]
        axes = {n: {0: "batch"} for n in names} | {"output": {0: "batch"}}
        try:
            torch.onnx.export(
                model, args, path, dynamo=False, opset_version=17, input_names=names,
                output_names=["output"], dynamic_axes=axes,
            )  # fmt: skip
        except Exception as exc:
            raise BackendError(f"torch.onnx.export failed: {type(exc).__name__}: {exc}") from exc


def _replace(root: nn.Module, name: str, new: nn.Module) -> nn.Module:
    if not name:
        return new
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)
    return root
