"""Post-training quantization of ONNX models with ONNX Runtime's quantization tools.

Static plans go through ``quantize_static`` (U8S8: uint8 activations, int8 weights, in the plan's QDQ
or QOperator format), dynamic plans through ``quantize_dynamic`` (MatMul/Gemm; ConvInteger measured
2-12x slower than fp32 here, so convs are dynamic only when a plan asks for them by name). Ranges are
calibrated once per (model, calibration batches, method, SmoothQuant alpha) and reused across fallback
sets. SmoothQuant is our own (``onnxrt/smooth_quant.py``): ORT's ``SmoothQuant`` option imports Intel
Neural Compressor.

Only the plan's ops (Conv/MatMul/Gemm) and a few value-preserving ops around them (Relu, MaxPool,
Reshape...) are quantized: numeric ops outside the plan (Add, Mul, LayerNormalization, Softmax) stay
fp32 because no plan could send them back to fp32 (a MiniLM measured here recovered most of its
accuracy only with LayerNorm left in fp32). Pass ``extra_op_types`` to widen that set.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...errors import BackendError, ConfigError
from ...quiet import quiet_frameworks
from .algorithm import APPROACHES, FP32, OpInfo, OpQuant, Plan
from .backend import PTQBackend, check_plan_ops, timing_threads
from .onnxrt import deps, probes, session
from .onnxrt import graph as g
from .onnxrt.calibration import METHODS, BatchReader, RangeCache, calibrate, check_batches, supports_range_cache
from .onnxrt.fallback import strip_qdq_into_fp32
from .onnxrt.plan_options import quantizer_arguments
from .onnxrt.smooth_quant import smooth

log = logging.getLogger(__name__)

DEFAULT_EXTRA_OP_TYPES = ("Relu", "Clip", "MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze")

# Best-known first: ORT's default (per-tensor symmetric weights, asymmetric uint8 activations) is the
# fastest; per-channel mostly helps convs; the rest are accuracy alternatives.
_WEIGHTED_STATIC = (
    OpQuant(),
    OpQuant(weight_granularity="per_channel"),
    OpQuant(weight_scheme="asym"),
    OpQuant(activation_scheme="sym"),
    OpQuant(weight_granularity="per_channel", activation_scheme="sym"),
)
_UNWEIGHTED_STATIC = (OpQuant(), OpQuant(activation_scheme="sym"))
# Dynamic activations are always asymmetric uint8 in ORT; only the weight choices remain.
_WEIGHTED_DYNAMIC = (OpQuant(), OpQuant(weight_granularity="per_channel"), OpQuant(weight_scheme="asym"))
# A weighted op of a static plan may instead quantize its input at run time (MatMulInteger /
# DynamicQuantizeMatMul next to the QDQ ops): no calibrated range to get wrong, int8 weights kept. On MiniLM
# this ran faster than static QDQ MatMuls (see ``quantize``); the strategies try it before fp32.
_IN_STATIC_DYNAMIC = (
    OpQuant(activation_mode="dynamic"),
    OpQuant(weight_granularity="per_channel", activation_mode="dynamic"),
)


_HIDDEN_GEMM = ("KeptGemm", "compressor.hidden")


class OnnxRuntimePTQBackend(PTQBackend):
    """PTQ of ``onnx.ModelProto`` models (paths to ``.onnx`` files are accepted too)."""

    name = "onnxrt"

    def __init__(
        self,
        intra_op_num_threads: int | None = None,
        *,
        threads: int | None = None,
        extra_op_types: Sequence[str] = DEFAULT_EXTRA_OP_TYPES,
        reduce_range: bool = False,
        dynamic_convs: bool = False,
        entropy_bins: int = 512,
        dynamic_in_static: bool = True,
    ) -> None:
        """``threads``: intra-op threads of ``latency_ms`` (``intra_op_num_threads``: its older name;
        default 1). ``reduce_range`` (7-bit weights) is ORT's advice for x86 CPUs without VNNI;
        ``dynamic_convs`` offers ConvInteger in the dynamic tuning space; ``entropy_bins`` see
        ``onnxrt.calibration``; ``dynamic_in_static``: a static plan may run MatMul/Gemm ops with
        run-time activation ranges (False: every int8 op of a static plan is calibrated)."""
        deps.onnx(), deps.quantization()  # fail here, with the install hint, rather than mid-tuning
        self.threads = timing_threads(threads, "intra_op_num_threads", intra_op_num_threads)
        self.extra_op_types = tuple(extra_op_types)
        self.reduce_range = reduce_range
        self.dynamic_convs = dynamic_convs
        self.entropy_bins = entropy_bins
        self.dynamic_in_static = dynamic_in_static
        self._ranges = RangeCache()
        self._smoothed: dict[tuple[str, str, float], tuple[bytes, list[str]]] = {}

    # --- model and space ---------------------------------------------------------------------------
    @quiet_frameworks()
    def prepare(self, model: Any) -> Any:
        """``quant_pre_process`` (shape inference + ORT basic optimizations), then stable node names."""
        onnx, q = deps.onnx(), deps.quantization()
        proto = g.as_model(model)
        with tempfile.TemporaryDirectory(prefix="compressor-ort-prep-") as tmp:
            source, target = Path(tmp) / "model.onnx", Path(tmp) / "prepared.onnx"
            onnx.save(proto, str(source))
            try:
                q.quant_pre_process(str(source), str(target))
            except Exception as exc:  # symbolic shape inference rejects some graphs; ONNX's own may not
                log.warning("quant_pre_process failed (%s); retrying without symbolic shape inference", exc)
                try:
                    q.quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
                except Exception as again:
                    raise BackendError(f"ONNX Runtime quant_pre_process failed on this model: {again}") from again
            prepared = onnx.load(str(target))
        renamed = g.name_nodes(prepared)
        if renamed:
            log.info("named %d unnamed or duplicate-named nodes", renamed)
        return prepared

    def quantizable_ops(self, model: Any) -> list[OpInfo]:
        return g.op_infos(model)

    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        if approach not in APPROACHES:
            raise ConfigError("approach", approach, APPROACHES)
        can_be_dynamic = op.has_weight and (op.op_type != "Conv" or self.dynamic_convs)
        if approach == "static":
            if not op.has_weight:
                return list(_UNWEIGHTED_STATIC)
            mixed = can_be_dynamic and self.dynamic_in_static
            return list(_WEIGHTED_STATIC + (_IN_STATIC_DYNAMIC if mixed else ()))
        # MatMul of two activations is never dynamic in ORT; ConvInteger is slow
        return list(_WEIGHTED_DYNAMIC) if can_be_dynamic else []

    def preset(self, model: Any) -> tuple[str, dict[str, Any]]:
        """The first plan a practitioner would pick for this kind of model (``onnxrt/structure.py``): for a
        transformer, every linear op (a MatMul/Gemm with a weight) in dynamic int8 with per-channel weights
        and the attention MatMuls (Q·Kᵀ, softmax·V) in static int8; other models keep the plain full-int8 plan.

        Measured on MiniLM-L6 + a linear head, batch 20 x 32 tokens, one thread, a Xeon with AVX-512 VNNI and
        AMX (onnxruntime 1.32); relative accuracy loss
        and speedup over fp32 on the zoo task / held-out nouns10b / held-out verbs10 (1 example = 0.07 % on
        the held-out tasks):

        - linears static per-channel, attention static:    0.86 % 1.94x / 1.98 % 1.92x /  2.24 % 1.89x
        - linears dynamic per-tensor, attention static:    1.40 % 2.25x / 1.03 % 2.22x /  2.01 % 2.18x
        - linears dynamic per-channel, attention static:   0.47 % 2.23x / 0.77 % 2.21x /  2.01 % 2.18x
        - linears dynamic per-tensor, attention fp32:      1.87 % 2.31x / 0.34 % 2.33x /  2.36 % 2.25x
        - linears dynamic per-channel, attention fp32:     0.23 % 2.2x  / 1.03 % 2.30x / -0.12 % 2.22x
        - as above with the Q·Kᵀ MatMuls static:              -        / 1.03 % 2.27x / -0.35 % 2.22x

        No plan wins everywhere; the third is the first plan (it meets 1 % on two of three), and the tuner's
        group step (attention MatMuls in fp32, ``op_groups``) is the usual next trial.
        Dynamic linears were both faster and more accurate than static ones on all three tasks. Without
        ``dynamic_in_static`` the linears are static per-channel."""
        from .onnxrt import structure

        kind = structure.model_type(model)
        if kind != "transformer":
            return kind, {}
        roles = structure.op_roles(model)
        wish = {"weight_granularity": "per_channel"}
        if self.dynamic_in_static:
            wish["activation_mode"] = "dynamic"
        return kind, {op: dict(wish) for op, role in roles.items() if role == "linear"}

    def op_groups(self, model: Any) -> dict[str, list[str]]:
        """Quantizable ops by role (``onnxrt/structure.py``: linear, conv, attention_scores, attention_values,
        matmul), for strategies that move a role at once (on a held-out MiniLM task the six softmax·V
        MatMuls in fp32 turned a 2.0 % loss into a gain at the same speed)."""
        from .onnxrt import structure

        groups: dict[str, list[str]] = {}
        for op, role in structure.op_roles(model).items():
            groups.setdefault(role, []).append(op)
        return groups

    def formats(self, approach: str) -> tuple[str, ...]:
        if approach not in APPROACHES:
            raise ConfigError("approach", approach, APPROACHES)
        # U8S8 QDQ and QOperator ran equally fast here (ORT fuses QDQ into the same QLinear kernels);
        # QDQ first because it keeps node names and can mix per-channel and per-tensor weights.
        return ("QDQ", "QOperator") if approach == "static" else ("QOperator",)

    # --- quantization ------------------------------------------------------------------------------
    @quiet_frameworks()
    def quantize(self, model: Any, plan: Plan, calibration: Sequence[Any]) -> Any:
        onnx = deps.onnx()
        proto = g.as_model(model)
        check_batches(g.input_dims(proto), calibration)
        key = g.digest(proto.SerializeToString())
        choices = self._choices(proto, plan)
        quant_format = self.formats(plan.approach)[0] if plan.quant_format == "default" else plan.quant_format
        if plan.approach == "dynamic" and quant_format != "QOperator":
            raise BackendError("ONNX Runtime's dynamic quantization has only the QOperator (IntegerOps) form")
        if all(not choice.quantized for choice in choices.values()):
            # Nothing to quantize: ORT would still insert Q/DQ around Relu/MaxPool; hand back fp32 as is.
            log.info("every op of the plan is fp32: returning the model unquantized")
            return _with_probes(proto, g.op_probes(proto))
        base, inserted = _shape_inferred(proto), []
        if plan.smooth_quant_alpha is not None:
            base, inserted = self._smooth(base, key, float(plan.smooth_quant_alpha), calibration)
        # Ops of a static plan that quantize their activations at run time: left fp32 by the static pass,
        # then quantized by a dynamic pass restricted to them (ORT keeps the QDQ nodes it does not own).
        dynamic = {n: c for n, c in choices.items() if c.dynamic} if plan.approach == "static" else {}
        static = {n: (FP32 if n in dynamic else c) for n, c in choices.items()}
        args: dict[str, Any] = {"nodes_to_exclude": []}
        with tempfile.TemporaryDirectory(prefix="compressor-ort-q-") as tmp:
            source, target = Path(tmp) / "model.onnx", Path(tmp) / "quantized.onnx"
            onnx.save(base, str(source))
            if plan.approach == "dynamic":
                args = self._arguments(base, choices, "dynamic", quant_format, inserted)
                self._quantize_dynamic(source, target, args)
            elif any(c.quantized for c in static.values()):
                args = self._arguments(base, static, "static", quant_format, inserted)
                self._quantize_static(source, target, base, key, plan, quant_format, args, calibration)
            else:
                target = source
            quantized = onnx.load(str(target))
            if plan.approach == "static" and quant_format == "QDQ" and args["nodes_to_exclude"]:
                removed = strip_qdq_into_fp32(quantized, set(args["nodes_to_exclude"]), base)
                log.debug("removed %d Q/DQ pairs that fed fp32 ops", removed)
            if dynamic:
                quantized = self._dynamic_pass(quantized, base, dynamic, Path(tmp))
        probes.attach(quantized, g.op_probes(proto))
        return quantized

    def _arguments(self, base, choices, approach, quant_format, inserted) -> dict[str, Any]:
        args = quantizer_arguments(
            base, choices, approach=approach, quant_format=quant_format, extra_op_types=self.extra_op_types
        )
        args["nodes_to_exclude"] += inserted
        return args

    def _dynamic_pass(self, model: Any, base: Any, dynamic: dict[str, OpQuant], tmp: Path) -> Any:
        """``model`` with exactly the ``dynamic`` ops (names of ``base``) quantized dynamically."""
        onnx = deps.onnx()
        nodes = g.quantizable_nodes(base)
        as_dynamic = {
            node.name: replace(dynamic[node.name], activation_mode="static") if node.name in dynamic else FP32
            for node in nodes
        }
        args = quantizer_arguments(
            base, as_dynamic, approach="dynamic", quant_format="QOperator", extra_op_types=self.extra_op_types
        )
        gemms = {node.name for node in nodes if node.op_type == "Gemm"}
        args.pop("nodes_to_exclude")
        # Dynamic quantization renames a Gemm to <gemm>_MatMul before it matches names (plan_options.py).
        args["nodes_to_quantize"] = [*dynamic, *(f"{n}_MatMul" for n in dynamic if n in gemms)]
        source, target = tmp / "static.onnx", tmp / "mixed.onnx"
        model = _own_inputs(model, dynamic)  # a copy: what follows changes only it
        # ORT's dynamic quantizer turns *every* Gemm into MatMul+Add first; a QDQ Gemm's weight then needs a
        # Transpose at run time. Gemms it must not touch are hidden from it under another op type.
        for node in model.graph.node:
            if node.op_type == "Gemm" and node.domain in ("", "ai.onnx") and node.name not in dynamic:
                node.op_type, node.domain = _HIDDEN_GEMM
        model.opset_import.append(onnx.helper.make_opsetid(_HIDDEN_GEMM[1], 1))
        onnx.save(model, str(source))
        self._quantize_dynamic(source, target, args)
        mixed = onnx.load(str(target))
        for node in mixed.graph.node:
            if (node.op_type, node.domain) == _HIDDEN_GEMM:
                node.op_type, node.domain = "Gemm", ""
        kept = [o for o in mixed.opset_import if o.domain != _HIDDEN_GEMM[1]]
        del mixed.opset_import[:]
        mixed.opset_import.extend(kept)
        return mixed

    def _quantize_static(self, source, target, base, key, plan, quant_format, args, calibration) -> None:
        q = deps.quantization()
        reader = BatchReader(g.input_signature(base), calibration)
        if not len(reader):
            raise BackendError("static quantization needs calibration batches; none were given")
        range_key = (key, reader.digest(), plan.calibration, plan.smooth_quant_alpha)
        ranges = self._ranges.get(range_key)
        if ranges is None:
            ranges = calibrate(
                source,
                plan.calibration,
                args["op_types_to_quantize"],
                reader,
                source.parent,
                entropy_bins=self.entropy_bins,
            )
            self._ranges.put(range_key, ranges)
        else:
            log.debug("reusing calibrated ranges (%s, alpha=%s)", plan.calibration, plan.smooth_quant_alpha)
        if supports_range_cache():
            feed = {"calibration_cache_path": RangeCache.write(ranges, source.parent / "ranges.json")}
        else:
            reader.rewind()
            feed = {"calibration_data_reader": reader}
        try:
            q.quantize_static(
                str(source),
                str(target),
                quant_format=getattr(q.QuantFormat, quant_format),
                activation_type=q.QuantType.QUInt8,
                weight_type=q.QuantType.QInt8,
                calibrate_method=getattr(q.CalibrationMethod, METHODS[plan.calibration]),
                reduce_range=self.reduce_range,
                **feed,
                **args,
            )
        except Exception as exc:
            raise BackendError(
                f"ONNX Runtime quantize_static ({quant_format}, calibration={plan.calibration!r}) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _quantize_dynamic(self, source, target, args) -> None:
        q = deps.quantization()
        try:
            q.quantize_dynamic(
                str(source), str(target), weight_type=q.QuantType.QInt8, reduce_range=self.reduce_range, **args
            )
        except Exception as exc:
            raise BackendError(f"ONNX Runtime quantize_dynamic failed: {type(exc).__name__}: {exc}") from exc

    def _choices(self, proto: Any, plan: Plan) -> dict[str, OpQuant]:
        """Every quantizable op's choice; ops the plan does not name take their first option (or fp32)."""
        ops = self.quantizable_ops(proto)
        names = [op.name for op in ops]
        check_plan_ops(plan, names)
        choices = {}
        for op in ops:
            choice = plan.ops.get(op.name)
            if choice is None:
                options = self.op_options(op, plan.approach)
                choice = options[0] if options else FP32
            elif choice.quantized and choice.weight_granularity == "per_channel" and choice.weight_scheme == "asym":
                log.info("op %s: ORT quantizes per-channel weights symmetrically", op.name)
            choices[op.name] = choice
        return choices

    def _smooth(self, proto: Any, key: str, alpha: float, calibration: Sequence[Any]) -> tuple[Any, list[str]]:
        onnx = deps.onnx()
        if not calibration:
            raise BackendError("SmoothQuant needs calibration batches to measure activation ranges")
        smooth_key = (key, BatchReader(g.input_signature(proto), calibration).digest(), alpha)
        cached = self._smoothed.get(smooth_key)
        if cached is None:
            model, inserted = smooth(proto, alpha, lambda m, names: session.run_batches(m, calibration, names))
            cached = (model.SerializeToString(), inserted)
            self._smoothed[smooth_key] = cached
        return onnx.load_from_string(cached[0]), list(cached[1])

    # --- measurement -------------------------------------------------------------------------------
    def op_outputs(self, model: Any, batches: Sequence[Any], op_names: Sequence[str]) -> dict[str, Any]:
        """Outputs of the named ops (after a Relu/Clip ORT fuses into them; see ``onnxrt/probes.py``)."""
        proto = g.as_model(model)
        check_batches(g.input_dims(proto), batches)
        return probes.op_outputs(proto, batches, op_names)

    def latency_ms(self, model: Any, batch: Any, *, warmup: int = 3, iterations: int = 20) -> float:
        proto = g.as_model(model)
        check_batches(g.input_dims(proto), [batch])  # the tuner times calibration batch 0
        return session.latency_ms(proto, batch, threads=self.threads, warmup=warmup, iterations=iterations)

    def fp32_optimized(self, model: Any, *, level: str = "extended") -> Any:
        """The fp32 model after ORT's graph optimizations (the "fp32 + graph optimization" baseline)."""
        if level not in session.LEVELS:
            raise ConfigError("level", level, tuple(session.LEVELS))
        return session.optimized_model(g.as_model(model), level)

    def save(self, model: Any, path: str) -> None:
        deps.onnx().save(g.as_model(model), str(path))

    def load(self, path: str, fp32_model: Any = None) -> Any:
        return deps.onnx().load(str(path))

    def size_bytes(self, model: Any) -> int:
        return g.as_model(model).ByteSize()


def _own_inputs(model: Any, ops: Any) -> Any:
    """A copy of ``model`` where each of ``ops`` reads its activation inputs through its own Identity.

    ORT's quantizers name what they derive from a tensor after it (``<tensor>_quantized``, ``_scale``,
    ``_zero_point``); the static pass already made those for a tensor it quantized (a QOperator Flatten's
    output feeding a dynamic Gemm), so the dynamic pass would define them twice. Fresh input names avoid
    that; ORT removes the Identity nodes when it loads the model."""
    onnx = deps.onnx()
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    inits = g.initializer_names(copy.graph)
    nodes = []
    for node in copy.graph.node:
        if node.name in ops:
            for i, tensor in enumerate(node.input):
                if tensor and tensor not in inits:
                    renamed = f"{tensor}__{node.name}__dynamic_input"
                    nodes.append(onnx.helper.make_node("Identity", [tensor], [renamed], name=f"{renamed}_Identity"))
                    node.input[i] = renamed
        nodes.append(node)
    del copy.graph.node[:]
    copy.graph.node.extend(nodes)
    return copy


def _with_probes(model: Any, found: dict[str, tuple[str, str]]) -> Any:
    copy = deps.onnx().ModelProto()
    copy.CopyFrom(model)
    probes.attach(copy, found)
    return copy


def _shape_inferred(model: Any) -> Any:
    """``model`` itself when ``prepare`` ran on it; else with ONNX shape inference, which the calibrator
    needs to find tensors to calibrate (it only looks at tensors with a known type)."""
    if any(p.key == "onnx.quant.pre_process" for p in model.metadata_props):
        return model
    log.warning("quantizing a model that did not go through prepare(); running ONNX shape inference")
    try:
        return deps.onnx().shape_inference.infer_shapes(model)
    except Exception as exc:
        raise BackendError(f"ONNX shape inference failed ({exc}); call prepare(model) first") from exc
