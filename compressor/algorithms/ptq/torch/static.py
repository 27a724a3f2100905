"""Static int8 through pt2e: export -> X86InductorQuantizer -> calibrate -> convert (compiled in models.py)."""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import Sequence

import torch
from torchao.quantization.pt2e import move_exported_model_to_eval
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import X86InductorQuantizer

from ..algorithm import OpQuant, Plan
from .inputs import batch_dims, export_example
from .models import StaticInt8Model
from .observers import check_static_choice, static_config

log = logging.getLogger(__name__)


def _global_choice(plan: Plan) -> OpQuant | None:
    """The most common int8 choice: it becomes the quantizer's global config.

    Ops quantized through a module-name config are annotated alone (the filter needs every node of a
    pattern inside that module), which loses conv/linear + ReLU fusion; the global config keeps it.
    It also quantizes pooling/flatten/cat between int8 ops and any conv/linear called functionally
    (outside an nn.Module, hence outside the plan's op list).
    """
    choices = Counter(plan.ops[name] for name in plan.quantized_ops)
    return choices.most_common(1)[0][0] if choices else None


def build_quantizer(plan: Plan, op_names: Sequence[str]) -> X86InductorQuantizer:
    quantizer = X86InductorQuantizer()
    default = _global_choice(plan)
    quantizer.set_global(static_config(default, plan.calibration) if default is not None else None)
    for name in op_names:
        choice = plan.ops.get(name)
        if choice is None or not choice.quantized:
            # Ops a plan does not mention stay fp32: a plan is explicit about what it quantizes.
            quantizer.set_module_name_qconfig(name, None)
            continue
        check_static_choice(name, choice)
        if choice != default:
            quantizer.set_module_name_qconfig(name, static_config(choice, plan.calibration))
    return quantizer


def _drop_unused_attributes(gm: torch.fx.GraphModule) -> None:
    """Removes the fp32 weights that convert_pt2e replaced by int8 constants but left registered.

    Export lifts every registered tensor, so without this a saved int8 model also carries its fp32
    weights and comes out larger than the fp32 model.
    """
    used = {node.target for node in gm.graph.nodes if node.op == "get_attr"}
    for name, _ in list(gm.named_parameters()) + list(gm.named_buffers()):
        if name not in used:
            owner, _, leaf = name.rpartition(".")
            delattr(gm.get_submodule(owner) if owner else gm, leaf)


def split_reused_module_calls(graph: torch.fx.GraphModule, model: torch.nn.Module) -> int:
    """Gives each call of a reused parameter-free module (one ``nn.ReLU`` applied twice, as in the zoo's
    ResNet blocks) its own name in the nodes' ``nn_module_stack``.

    ``X86InductorQuantizer`` groups nodes into source partitions by that name; two calls of one module
    become one partition with two outputs and annotation fails ("Input partition has more than one
    output node"). Export already tells the calls apart in the stack's keys (``relu``, ``relu@1``).
    Modules with weights keep their names: module-name qconfigs match on them. Returns nodes renamed.
    """
    renamed = 0
    for node in graph.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if not stack:
            continue
        key, (fqn, cls) = list(stack.items())[-1]
        _, at, call = key.rpartition("@")
        if not at or not call.isdigit():
            continue
        try:
            module = model.get_submodule(fqn)
        except AttributeError:
            continue
        if next(module.parameters(), None) is None:
            stack[key] = (f"{fqn}@{call}", cls)
            renamed += 1
    return renamed


def drop_dead_code(graph: torch.fx.GraphModule) -> None:
    """Removes computations whose result nothing uses (e.g. a Hugging Face encoder's pooler when only the
    hidden states are used). ``X86InductorQuantizer`` fails on a linear + unary partition without
    outputs ("list index out of range"), and dead int8 ops would only cost time."""
    if graph.graph.eliminate_dead_code():
        graph.recompile()


def quantize_static(
    model: torch.nn.Module,
    plan: Plan,
    batches: Sequence[tuple[torch.Tensor, ...]],
    op_names: Sequence[str],
    compile: bool = True,
) -> StaticInt8Model:
    example = export_example(batches)
    with torch.no_grad():
        graph = torch.export.export(model, example, dynamic_shapes=batch_dims(example)).module()
        split_reused_module_calls(graph, model)
        drop_dead_code(graph)
        prepared = prepare_pt2e(graph, build_quantizer(plan, op_names))
        for args in batches:
            prepared(*args)
        converted = move_exported_model_to_eval(convert_pt2e(prepared))
    _drop_unused_attributes(converted)
    log.debug(
        "pt2e static int8: %d ops quantized, %d fp32", len(plan.quantized_ops), len(op_names) - len(plan.quantized_ops)
    )
    names = tuple(inspect.signature(model.forward).parameters)
    return StaticInt8Model(converted, example, compile=compile, arg_names=names)
