"""Training-time compression (seed 001): ``prepare_compression(model, confs)`` -> ``CompressionManager``.

    compression_manager = prepare_compression(model, [DistillationConfig(teacher), WeightPruningConfig()])
    model = compression_manager.model
    compression_manager.callbacks.on_train_begin()
    for epoch in ...:
        compression_manager.on_epoch_begin(epoch)
        for step, batch in ...:
            compression_manager.on_step_begin(step)
            loss = compression_manager.on_after_compute_loss(batch, model(batch), loss)
            loss.backward()
            compression_manager.on_before_optimizer_step()
            optimizer.step()
            compression_manager.on_after_optimizer_step()
            compression_manager.on_step_end()
        compression_manager.on_epoch_end()
    compression_manager.callbacks.on_train_end()
    compression_manager.save("out/model.pt")

One component per config (``algorithms/<technique>``) receives every hook, in the order of ``confs``.
Components change the user's model in place, so an optimizer built on ``model.parameters()`` before
``prepare_compression`` keeps working. Configs are checked against the model here, before any
training. Seed 001's loops differ in which hooks they call: a loop that starts with ``on_step_begin``
(no ``on_train_begin``) begins training implicitly, and the second ``on_train_begin`` of the
orchestration example (``callbacks.on_train_begin()`` then ``on_train_begin()`` inside the loop) is a
no-op. ``on_train_begin`` and ``on_train_end`` visit components in ``end_order`` whatever the order of
``confs``: distillation (which may copy the student as its own teacher before anything changes it),
pruning (which holds the weight Parameters before QAT wraps them), then QAT (which converts the pruned
fp32 model to int8 last). The other hooks follow ``confs``. After ``on_train_end`` ``.model`` is the
finished model.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import backends
from .config import (
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    PostTrainingQuantConfig,
    QuantizationAwareTrainingConfig,
    SelfKnowledgeDistillationLossConfig,
    WeightPruningConfig,
)
from .errors import BackendError, ConfigError

log = logging.getLogger(__name__)

# config type -> technique package under compressor.algorithms (each exposes make_component)
_TECHNIQUES: dict[type, str] = {
    QuantizationAwareTrainingConfig: "qat",
    WeightPruningConfig: "pruning",
    DistillationConfig: "distillation",
}
HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_step_begin",
    "on_after_compute_loss",
    "on_before_optimizer_step",
    "on_after_optimizer_step",
    "on_step_end",
    "on_epoch_end",
    "on_train_end",
)


def _component(conf: Any, model: Any, framework: str) -> Any:
    package = _TECHNIQUES[type(conf)]
    module = importlib.import_module(f"{__package__}.algorithms.{package}")
    return module.make_component(conf, model, framework)


def _as_list(confs: Any) -> list[Any]:
    items = list(confs) if isinstance(confs, (list, tuple)) else [confs]
    allowed = sorted(t.__name__ for t in _TECHNIQUES)
    if not items:
        raise ConfigError("confs", [], f"one config or a list of {allowed}")
    for i, conf in enumerate(items):
        if type(conf) in _TECHNIQUES:
            continue
        where = f"confs[{i}]" if isinstance(confs, (list, tuple)) else "confs"
        reason = None
        if isinstance(conf, PostTrainingQuantConfig):
            reason = "post-training quantization needs no training loop: use quantization.fit(model, conf, ...)"
        raise ConfigError(where, type(conf).__name__, allowed, reason=reason)
    if sum(isinstance(c, QuantizationAwareTrainingConfig) for c in items) > 1:
        raise ConfigError("confs", [type(c).__name__ for c in items], "at most one QuantizationAwareTrainingConfig")
    return items


class Callbacks:
    """``compression_manager.callbacks.X()``: the same hooks as ``compression_manager.X()``."""

    def __init__(self, manager: CompressionManager) -> None:
        self._manager = manager

    def __getattr__(self, name: str) -> Any:
        if name in HOOKS:
            return getattr(self._manager, name)
        raise AttributeError(f"callbacks has no hook {name!r}; hooks: {', '.join(HOOKS)}")


class CompressionManager:
    """Drives the components of one training run through the seed's hooks (see module docstring)."""

    def __init__(self, model: Any, confs: Sequence[Any], framework: str, components: Sequence[Any]) -> None:
        self.confs = list(confs)
        self.framework = framework
        self.components = list(components)
        self.callbacks = Callbacks(self)
        self._model = model
        self._state = "prepared"  # -> training -> finished

    @property
    def model(self) -> Any:
        """The user's model while training (same object, modified in place); the finished one after."""
        return self._model

    @property
    def quantized_model(self) -> Any:
        """The ``QuantizedModel`` QAT converted to (``save``, ``export_onnx``, ``q_config``), else None."""
        return next((c.quantized for c in self.components if getattr(c, "quantized", None) is not None), None)

    def _in_end_order(self) -> list[Any]:
        return sorted(self.components, key=lambda c: c.end_order)

    # --- the hooks ------------------------------------------------------------------------------------
    def _require_training(self, hook: str) -> None:
        if self._state == "finished":
            raise BackendError(f"{hook}: training already ended (on_train_end was called)")
        if self._state == "prepared":
            log.debug("%s before on_train_begin: beginning training implicitly", hook)
            self.on_train_begin()

    def on_train_begin(self) -> None:
        if self._state == "training":
            return  # the orchestration example calls it twice
        if self._state == "finished":
            raise BackendError("on_train_begin: training already ended; call prepare_compression again")
        self._state = "training"
        for component in self._in_end_order():
            component.on_train_begin(self._model)

    def on_epoch_begin(self, epoch: int) -> None:
        self._require_training("on_epoch_begin")
        for component in self.components:
            component.on_epoch_begin(epoch)

    def on_step_begin(self, step: int) -> None:
        self._require_training("on_step_begin")
        for component in self.components:
            component.on_step_begin(step)

    def on_after_compute_loss(self, inputs: Any, outputs: Any, loss: Any, teacher_outputs: Any = None) -> Any:
        """The loss to backpropagate: each component may add its terms (distillation does)."""
        self._require_training("on_after_compute_loss")
        for component in self.components:
            loss = component.on_after_compute_loss(inputs, outputs, loss, teacher_outputs)
        return loss

    def on_before_optimizer_step(self) -> None:
        self._require_training("on_before_optimizer_step")
        for component in self.components:
            component.on_before_optimizer_step()

    def on_after_optimizer_step(self) -> None:
        self._require_training("on_after_optimizer_step")
        for component in self.components:
            component.on_after_optimizer_step()

    def on_step_end(self) -> None:
        self._require_training("on_step_end")
        for component in self.components:
            component.on_step_end()

    def on_epoch_end(self) -> None:
        self._require_training("on_epoch_end")
        for component in self.components:
            component.on_epoch_end()

    def on_train_end(self) -> None:
        if self._state == "finished":
            return  # like on_train_begin, a repeated call is harmless
        self._require_training("on_train_end")
        model = self._model
        for component in self._in_end_order():
            model = component.on_train_end(model)
        self._model = model
        self._state = "finished"

    # --- results ----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "state": self._state,
            "techniques": [c.summary() for c in self.components],
        }

    def save(self, path: str | Path) -> Path:
        """Writes the finished model: QAT's int8 model as ``quantization.fit`` saves it, otherwise the
        model's ``state_dict`` (``torch.save``, reload with ``load``) or a Keras model as ``.keras``;
        ``<name>.summary.json`` beside it."""
        if self._state != "finished":
            raise BackendError("save: call on_train_end first (the model is still being trained)")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.quantized_model is not None:
            self.quantized_model.save(path)
        elif self.framework == "tensorflow":
            if path.suffix != ".keras":
                raise ConfigError(
                    "path suffix", path.suffix or path.name, [".keras"], reason="a Keras model is saved whole"
                )
            self._model.save(str(path))
        else:
            from .algorithms.torch_state import save_state

            save_state(self._model, path)
        path.with_name(path.name + ".summary.json").write_text(json.dumps(self.summary(), indent=2, default=str))
        return path


def prepare_compression(model: Any, confs: Any, **kwargs: Any) -> CompressionManager:
    """Builds the manager for ``confs`` (one config or a list) and checks them against ``model``."""
    if kwargs:
        raise ConfigError(
            "prepare_compression", sorted(kwargs), "model and confs only", reason="unexpected keyword arguments"
        )
    items = _as_list(confs)
    framework = backends.detect_framework(model)
    components = []
    for i, conf in enumerate(items):
        component = _component(conf, model, framework)
        try:
            component.validate(model)
        except ConfigError as exc:
            raise exc.with_prefix(f"confs[{i}]" if isinstance(confs, (list, tuple)) else type(conf).__name__) from None
        components.append(component)
    return CompressionManager(model, items, framework, components)


def load(path: str | Path, model: Any) -> Any:
    """Reloads a state dict written by ``CompressionManager.save`` into ``model`` (the architecture it was
    trained from); layers that pruning shrank are resized to the saved shapes first."""
    from .algorithms.torch_state import load_state

    return load_state(Path(path), model)


__all__ = [
    "CompressionManager",
    "DistillationConfig",
    "KnowledgeDistillationLossConfig",
    "QuantizationAwareTrainingConfig",
    "SelfKnowledgeDistillationLossConfig",
    "WeightPruningConfig",
    "load",
    "prepare_compression",
]
