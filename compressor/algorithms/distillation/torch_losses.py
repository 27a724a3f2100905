"""PyTorch pieces shared by both distillation components: loss functions by name, logits from any
model output, and calling a model the way the student was called."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def soft_cross_entropy(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``mean_batch(-sum_classes softmax(teacher) * log_softmax(student))`` (inputs already / T)."""
    return -(F.softmax(teacher, dim=-1) * F.log_softmax(student, dim=-1)).sum(dim=-1).mean()


def kl_divergence(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(teacher) || softmax(student))`` summed over the last dim, averaged over the rest."""
    log_p = F.log_softmax(student, dim=-1)
    log_q = F.log_softmax(teacher, dim=-1)
    return (log_q.exp() * (log_q - log_p)).sum(dim=-1).mean()


def mse(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(student, teacher)


def l2_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of the difference over the whole tensor (INC's ``torch.dist``)."""
    return torch.dist(student, teacher)


# Loss name -> (function, whether it compares distributions and so takes the temperature)
KD_LOSSES: dict[str, tuple[LossFn, bool]] = {
    "CE": (soft_cross_entropy, True),
    "KL": (kl_divergence, True),
    "MSE": (mse, True),  # T**2 * MSE(s/T, t/T) == MSE(s, t): temperature is harmless, kept for INC parity
}
SELF_KD_LOSSES: dict[str, tuple[LossFn, bool]] = {
    "CE": (soft_cross_entropy, True),
    "KL": (kl_divergence, True),
    "L2": (l2_distance, False),
}


def logits_of(output: Any, what: str = "model output") -> torch.Tensor:
    """The logits tensor of a model output: a tensor, the first element of a tuple/list, or the
    ``logits`` entry/attribute of a dict or output object (Hugging Face ``ModelOutput``)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping) and "logits" in output:
        return logits_of(output["logits"], what)
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output:
        return logits_of(output[0], what)
    raise TypeError(
        f"distillation cannot find logits in the {what} of type {type(output).__name__}: expected a tensor, "
        "a tuple/list whose first element is the logits, or a dict/object with a 'logits' entry"
    )


def call_model(model: torch.nn.Module, inputs: Any) -> Any:
    """Call ``model`` as the student was: ``model(x)``, ``model(*inputs)`` or ``model(**inputs)``."""
    if isinstance(inputs, Mapping):
        how, call = "model(**inputs)", lambda: model(**inputs)
    elif isinstance(inputs, (tuple, list)):
        how, call = "model(*inputs)", lambda: model(*inputs)
    else:
        how, call = "model(inputs)", lambda: model(inputs)
    try:
        return call()
    except TypeError as exc:
        raise TypeError(
            f"the teacher was called as {how} with the inputs given to on_after_compute_loss and failed: {exc}. "
            "Pass exactly what the student was called with (not an (inputs, labels) batch), "
            "or pass precomputed teacher_outputs"
        ) from exc


def move_to(inputs: Any, device: torch.device) -> Any:
    """Tensors inside ``inputs`` (nested tuples, lists, dicts) on ``device``; anything else as is."""
    if isinstance(inputs, torch.Tensor):
        return inputs if inputs.device == device else inputs.to(device)
    if isinstance(inputs, Mapping):
        return {k: move_to(v, device) for k, v in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        moved = [move_to(v, device) for v in inputs]
        return moved if isinstance(inputs, list) else tuple(moved)
    return inputs


def first_tensor(output: Any) -> torch.Tensor | None:
    """The tensor a forward hook records for a layer: the output itself, its logits or first element."""
    try:
        return logits_of(output)
    except TypeError:
        return None


def param_device(model: torch.nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    return None


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
