"""ONNX Runtime mixed precision (``OnnxRuntimeMixedPrecisionBackend``, registered name ``"onnxrt"``).

The op space is the graph's Conv/ConvTranspose/Gemm/MatMul nodes; softmax, normalisations, reductions
and element-wise ops always stay fp32. See ``onnxrt_graph.py`` for how nodes are converted and why, on
x86 with onnxruntime 1.32, every converted op computes in fp32 between casts (no CPU kernel): the
result then says "emulated: no speedup expected" and lists those ops, and the model is still smaller
(weights stored in 16 bits).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ...errors import BackendError, did_you_mean_hint
from ...hardware import HardwareVerdict, assess, cpu_capabilities
from ..ptq.algorithm import OpInfo, Plan
from ..ptq.backend import timing_threads
from ..ptq.onnxrt import deps, probes, session
from ..ptq.onnxrt import graph as g
from . import onnxrt_graph as mp
from .backend import MixedPrecisionBackend

log = logging.getLogger(__name__)

METADATA_KEY = "compressor.mixed_precision"


class OnnxRuntimeMixedPrecisionBackend(MixedPrecisionBackend):
    """Mixed precision of ``onnx.ModelProto`` models (paths to ``.onnx`` files are accepted too)."""

    name = "onnxrt"

    def __init__(self, intra_op_num_threads: int | None = None, *, threads: int | None = None) -> None:
        """``threads``: intra-op threads of ``latency_ms`` (``intra_op_num_threads``: its older name; default 1)."""
        deps.onnx(), deps.ort()
        self.threads = timing_threads(threads, "intra_op_num_threads", intra_op_num_threads)

    # --- the op space ------------------------------------------------------------------------------
    def prepare(self, model: Any) -> Any:
        """A copy with every node named (op names are node names)."""
        onnx = deps.onnx()
        proto = onnx.ModelProto()
        proto.CopyFrom(g.as_model(model))
        renamed = g.name_nodes(proto)
        if renamed:
            log.info("named %d unnamed or duplicate-named nodes", renamed)
        return proto

    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        return g.op_infos(model, tuple(mp.FLOAT_INPUTS))

    def hardware(self, precision: str, model: Any = None) -> HardwareVerdict:
        """Native only if the CPU has the instructions and ORT has a kernel for a converted op type."""
        ort = deps.ort()
        runtime = f"onnxruntime {ort.__version__} CPU EP"
        types = sorted(mp.FLOAT_INPUTS)
        if model is not None:
            converted = self.converted_ops(model)
            types = sorted({n.op_type for n in g.as_model(model).graph.node if n.name in converted}) or types
        native = [t for t in types if mp.has_kernel(t, precision)]
        missing = [t for t in types if t not in native]
        reason = (
            f"has no {precision} kernel for {', '.join(missing)} (computed in fp32 between casts)" if missing else ""
        )
        return assess(
            precision, cpu_capabilities(), runtime=runtime, runtime_native=bool(native), runtime_reason=reason
        )

    # --- conversion --------------------------------------------------------------------------------
    def convert(self, model: Any, plan: Plan) -> Any:
        proto = g.as_model(model)
        names = [op.name for op in self.quantizable_ops(proto)]
        unknown = [name for name in plan.ops if name not in names]
        if unknown:
            raise BackendError(
                f"plan names op(s) {unknown} that this model does not have" + did_you_mean_hint(unknown[0], names)
            )
        dtypes = {name: choice.dtype for name, choice in plan.ops.items() if choice.dtype in ("bf16", "fp16")}
        converted, fp32_compute = mp.convert_nodes(proto, dtypes)
        probes.attach(converted, g.op_probes(proto))
        _set_metadata(converted, {"ops": dtypes, "fp32_compute": fp32_compute})
        try:
            deps.onnx().checker.check_model(converted)
        except Exception as exc:
            raise BackendError(f"the converted ONNX graph is invalid: {exc}") from exc
        return converted

    def converted_ops(self, model: Any) -> dict[str, str]:
        return dict(_metadata(g.as_model(model)).get("ops", {}))

    def fp32_compute_ops(self, model: Any) -> list[str]:
        return list(_metadata(g.as_model(model)).get("fp32_compute", []))

    # --- measurement -------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        return probes.op_outputs(g.as_model(model), batches, op_names)

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        return session.latency_ms(g.as_model(model), batch, threads=self.threads, warmup=warmup, iterations=iterations)

    def size_bytes(self, model: Any) -> int:
        return g.as_model(model).ByteSize()

    # --- artefacts ---------------------------------------------------------------------------------
    def save(self, model: Any, path: str) -> None:
        deps.onnx().save(g.as_model(model), str(path))

    def load(self, path: str, fp32_model: Any = None) -> Any:
        return deps.onnx().load(str(path))

    def export_onnx(self, model: Any, path: str, example_batch: Any = None) -> None:
        self.save(model, path)


def _set_metadata(model: Any, value: dict) -> None:
    import json

    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(value, sort_keys=True)


def _metadata(model: Any) -> dict:
    import json

    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    return {}
