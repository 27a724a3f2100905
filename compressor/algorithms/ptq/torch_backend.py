"""PyTorch post-training quantization backend (``TorchPTQBackend``, registered name ``"torch"``).

Static int8 through pt2e (``X86InductorQuantizer``, ``torch.compile`` with freezing), dynamic int8 through
eager ``quantize_dynamic``; why, with the timings measured: ``docs/torch-ptq-timings.md``.

A static plan cannot run some ops in dynamic int8 here (ONNX Runtime's can): torchao's
``X86InductorQuantizer`` skips a config whose ``is_dynamic`` differs from the others ("Mixed dynamic and
static quantization config is not supported"), and eager dynamic modules cannot sit inside the exported,
compiled static graph. So no op offers ``activation_mode="dynamic"``; fallback goes straight to fp32.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ...errors import BackendError
from ...quiet import quiet_frameworks
from .algorithm import OpInfo, OpQuant, Plan
from .backend import PTQBackend, timing_threads
from .torch.deps import require_pt2e, require_torch

# Per-channel first: same kernels and speed (per-tensor rides on per-channel kernels), better accuracy.
_WEIGHT_OPTIONS = (OpQuant(weight_granularity="per_channel"), OpQuant(weight_granularity="per_tensor"))
_OPTIONS = {
    ("static", "Linear"): _WEIGHT_OPTIONS,
    ("static", "Conv1d"): _WEIGHT_OPTIONS,
    ("static", "Conv2d"): _WEIGHT_OPTIONS,
    ("dynamic", "Linear"): _WEIGHT_OPTIONS,
    ("dynamic", "LSTM"): (OpQuant(weight_granularity="per_tensor"),),
}


class TorchPTQBackend(PTQBackend):
    """PTQ for ``torch.nn.Module`` models; batches are tuples of numpy arrays (the forward's inputs)."""

    name = "torch"

    def __init__(self, num_threads: int | None = None, compile: bool = True, *, threads: int | None = None) -> None:
        """``threads``: intra-op threads of ``latency_ms`` (``num_threads``: its older name; default 1).
        ``compile=False`` keeps static models un-compiled (reference q/dq ops: right numbers, slow)."""
        require_torch()
        self.threads = timing_threads(threads, "num_threads", num_threads)
        self.compile = compile

    # --- the op space ------------------------------------------------------------------------------
    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        """Linear/Conv1d/Conv2d/LSTM modules, in module order (the usual execution order).

        Exact types: subclasses such as MultiheadAttention's ``out_proj`` are applied functionally by
        their parent, so quantizing them as modules would do nothing.
        """
        import torch.nn as nn

        types = {nn.Linear: "Linear", nn.Conv1d: "Conv1d", nn.Conv2d: "Conv2d", nn.LSTM: "LSTM"}
        return [OpInfo(name, types[type(m)]) for name, m in model.named_modules() if type(m) in types]

    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        return list(_OPTIONS.get((approach, op.op_type), ()))

    def formats(self, approach: str) -> tuple[str, ...]:
        return ("default",)

    # --- quantization --------------------------------------------------------------------------------
    @quiet_frameworks()
    def quantize(self, model: Any, plan: Plan, calibration: Sequence[Any]) -> Any:
        from .torch.inputs import to_args

        if plan.quant_format not in self.formats(plan.approach):
            raise BackendError(
                f"torch backend: format {plan.quant_format!r} not supported; use one of {self.formats(plan.approach)}"
            )
        op_types = {op.name: op.op_type for op in self.quantizable_ops(model)}
        unknown = sorted(set(plan.ops) - set(op_types))
        if unknown:
            raise BackendError(f"torch backend: plan names ops the model does not have: {unknown}")
        no_kernel = [n for n in plan.quantized_ops if not self.op_options(OpInfo(n, op_types[n]), plan.approach)]
        if no_kernel:
            # Refused rather than silently left fp32, so that a quantized plan always means int8 kernels.
            kinds = ", ".join(f"{n} ({op_types[n]})" for n in no_kernel)
            raise BackendError(f"torch backend: no {plan.approach} int8 kernel for {kinds}; leave these ops fp32")
        batches = [to_args(b) for b in calibration]
        if not batches and (plan.approach == "static" or plan.smooth_quant_alpha is not None):
            raise BackendError("torch backend: static quantization and SmoothQuant need at least one calibration batch")
        work = copy.deepcopy(model).eval()  # the user's model is never touched
        scales = {}
        if plan.smooth_quant_alpha is not None:
            from .torch.smooth_quant import smooth_quant

            linears = [n for n in plan.quantized_ops if op_types[n] == "Linear"]
            scales = smooth_quant(work, linears, batches, plan.smooth_quant_alpha).hooked
        if plan.approach == "dynamic":
            from .torch.dynamic import quantize_dynamic
            from .torch.models import DynamicInt8Model

            return DynamicInt8Model(quantize_dynamic(work, plan, op_types), plan, scales)
        require_pt2e()
        from .torch.static import quantize_static

        return quantize_static(work, plan, batches, list(op_types), compile=self.compile)

    def quantized_op_names(self, model: Any) -> list[str]:
        """Ops of a quantized model that run int8 (read from its graph or modules, not from the plan)."""
        from .torch.dynamic import quantized_module_names
        from .torch.models import DynamicInt8Model, StaticInt8Model

        if isinstance(model, StaticInt8Model):
            from .torch.graph import quantized_op_names

            return quantized_op_names(model.graph_module)
        if isinstance(model, DynamicInt8Model):
            return quantized_module_names(model.module)
        return []

    # --- measurement ------------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        """Plain and dynamic models by forward hooks on the named modules (dynamic quantization keeps the
        names); static models by interpreting the un-compiled pt2e graph and recording the conv/linear node
        of each named module, i.e. the op's output with its input and weight quantization error, before
        the output requantization that oneDNN fuses after a following ReLU."""
        import numpy as np

        from ...backends.torch_basics import module_outputs
        from .torch.inputs import to_args
        from .torch.models import DynamicInt8Model, StaticInt8Model

        collected: dict[str, list] = {name: [] for name in op_names}
        for batch in batches:
            args = to_args(batch)
            if isinstance(model, StaticInt8Model):
                from .torch.graph import capture

                outputs = capture(model.graph_module, args, op_names)
            else:
                module = model.module if isinstance(model, DynamicInt8Model) else model
                outputs = module_outputs(module, args, op_names)
            for name in op_names:
                collected[name].append(outputs[name].float().numpy())
        return {name: np.concatenate(parts) for name, parts in collected.items() if parts}

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        """Median of ``iterations`` timed forwards; the untimed ``warmup`` includes any compilation."""
        from ...backends.torch_basics import median_forward_ms
        from .torch.inputs import to_args

        return median_forward_ms(model, to_args(batch), self.threads, warmup, iterations)

    # --- artefacts ---------------------------------------------------------------------------------------
    @quiet_frameworks()
    def save(self, model: Any, path: str) -> None:
        """Static: ``torch.export.save`` archive; dynamic: ``torch.save`` of tensors (see ``torch/serialize.py``)."""
        from .torch.serialize import write

        write(model, path)

    @quiet_frameworks()
    def load(self, path: str, fp32_model: Any = None) -> Any:
        """Reloads what ``save`` wrote without unpickling objects; dynamic models need their fp32 model."""
        import zipfile

        from .torch import serialize

        if zipfile.is_zipfile(path) and _is_pt2_archive(path):
            require_pt2e()  # the archive's graph refers to quantized_decomposed ops that torchao registers
            return serialize.load_static(path, compile=self.compile)
        if fp32_model is None:
            raise BackendError(f"{path}: a dynamic int8 model reloads onto its fp32 model: load(path, fp32_model)")
        op_types = {op.name: op.op_type for op in self.quantizable_ops(fp32_model)}
        return serialize.load_dynamic(path, fp32_model, op_types)

    def size_bytes(self, model: Any) -> int:
        from .torch.serialize import size_bytes

        return size_bytes(model)

    @quiet_frameworks()
    def export_onnx(self, model: Any, path: str, example_batch: Any = None) -> None:
        """ONNX (QDQ for static int8) via the dynamo exporter; dynamic int8 raises BackendError. Without
        ``example_batch`` a static int8 model exports on the calibration rows it keeps."""
        from .torch.inputs import export_example, to_args
        from .torch.models import DynamicInt8Model, StaticInt8Model
        from .torch.serialize import export_onnx

        if example_batch is not None:
            example = export_example([to_args(example_batch)])
        elif isinstance(model, StaticInt8Model):
            example = model.example_args
        elif isinstance(model, DynamicInt8Model):
            example = ()  # refused by export_onnx, with the reason
        else:
            raise BackendError("exporting this torch model to ONNX needs an example batch: export_onnx(path, batch)")
        export_onnx(model, path, example)


def _is_pt2_archive(path: str) -> bool:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("archive_format") for name in archive.namelist())
