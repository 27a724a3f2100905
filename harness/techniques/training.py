"""Training-time techniques (QAT, pruning + fine-tuning, distillation) through ``prepare_compression``.

Each starts from the job's trained fp32 zoo model and fine-tunes on the zoo's training split with seed
001's hook loop (torch: backward + optimizer.step; Keras: a GradientTape step, the same hooks). Options (the technique's ``options`` in the suite; unknown keys are errors):

- every kind: ``epochs``, ``lr`` (AdamW), ``batch_size``, ``train_samples`` (first N of a seeded
  permutation of the training split; null = all)
- ``qat``: ``op_name_dict`` (fallbacks, 1.x op_wise form)
- ``prune``: ``target_sparsity``, ``pattern``, ``pruning_type``, ``pruning_scope``, ``sparsity_decay_type``,
  ``excluded_op_names``, ``prune_fraction`` (share of the steps over which sparsity rises; the rest
  fine-tunes at the target)
- ``distill``: ``student`` (recipe overrides that make the student, e.g. ``{channels: [8, 16]}``),
  ``temperature``, ``loss_weights``; the teacher is the job's fp32 model

Rows record ``train_epochs``, ``train_seconds`` and, for pruning, ``sparsity`` (zero fraction of the
Conv/Linear weights of the measured model); ``notes`` carries the manager's summary.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any

import numpy as np

from compressor.errors import did_you_mean

from . import Compressed, register_technique

COMMON = {"epochs": 2, "lr": 1e-3, "batch_size": 64, "train_samples": 4096}
OPTIONS = {
    "qat": {**COMMON, "lr": 2e-4, "op_name_dict": None},
    "prune": {
        **COMMON,
        "epochs": 4,
        "target_sparsity": 0.8,
        "pattern": "4x1",
        "pruning_type": "snip_momentum",
        "pruning_scope": "global",
        "sparsity_decay_type": "exp",
        "excluded_op_names": [],
        "prune_fraction": 0.6,
    },
    "distill": {**COMMON, "epochs": 6, "lr": 3e-3, "student": {}, "temperature": 2.0, "loss_weights": [0.5, 0.5]},
}


def options_for(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    known = OPTIONS[kind]
    for key in given:
        if key not in known:
            close = did_you_mean(key, known)
            hint = f"; did you mean {close!r}?" if close else ""
            raise ValueError(f"technique kind {kind!r}: unknown option {key!r}{hint}; known: {', '.join(known)}")
    return {**known, **given}


def _training_data(ctx, opts):
    from models.evaluation import num_examples, take

    x, y = ctx.entry.load_data("train")
    order = np.random.default_rng(ctx.seed).permutation(num_examples(x))
    if opts["train_samples"] is not None:
        order = order[: int(opts["train_samples"])]
    return take(x, order), y[order]


def fine_tune(ctx, model, manager, opts, data=None) -> float:
    """Seed 001's orchestration loop over ``data`` (default: ``_training_data``); returns the seconds."""
    import torch

    from models.evaluation import num_examples, take
    from models.frameworks.torch_fw import to_tensors

    torch.set_num_threads(ctx.settings.threads)
    torch.manual_seed(ctx.seed)
    x, y = data if data is not None else _training_data(ctx, opts)
    labels = torch.from_numpy(y)
    n, batch = num_examples(x), int(opts["batch_size"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(opts["lr"]))
    rng = np.random.default_rng(ctx.seed)
    start = time.perf_counter()
    manager.callbacks.on_train_begin()
    for epoch in range(int(opts["epochs"])):
        model.train()
        manager.on_epoch_begin(epoch)
        order = rng.permutation(n)
        for step, first in enumerate(range(0, n, batch)):
            idx = order[first : first + batch]
            manager.on_step_begin(step)
            args, kwargs = to_tensors(take(x, idx))
            inputs = kwargs or (args[0] if len(args) == 1 else args)
            output = model(*args, **kwargs)
            loss = torch.nn.functional.cross_entropy(output, labels[idx])
            loss = manager.on_after_compute_loss(inputs, output, loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            manager.on_before_optimizer_step()
            optimizer.step()
            manager.on_after_optimizer_step()
            manager.on_step_end()
        manager.on_epoch_end()
    manager.callbacks.on_train_end()
    return time.perf_counter() - start


def fine_tune_keras(ctx, model, manager, opts, data=None) -> float:
    """The same loop for a Keras model: a GradientTape step per batch, AdamW, seed 001's hooks."""
    import keras
    import tensorflow as tf

    from models.evaluation import num_examples, take

    keras.utils.set_random_seed(ctx.seed)
    x, y = data if data is not None else _training_data(ctx, opts)
    n, batch = num_examples(x), int(opts["batch_size"])
    optimizer = keras.optimizers.AdamW(learning_rate=float(opts["lr"]))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rng = np.random.default_rng(ctx.seed)
    start = time.perf_counter()
    manager.callbacks.on_train_begin()
    for epoch in range(int(opts["epochs"])):
        manager.on_epoch_begin(epoch)
        order = rng.permutation(n)
        for step, first in enumerate(range(0, n, batch)):
            idx = order[first : first + batch]
            manager.on_step_begin(step)
            inputs = take(x, idx)
            with tf.GradientTape() as tape:
                output = model(inputs, training=True)
                loss = manager.on_after_compute_loss(inputs, output, loss_fn(y[idx], output))
            grads = tape.gradient(loss, model.trainable_variables)
            manager.on_before_optimizer_step()
            optimizer.apply(grads, model.trainable_variables)
            manager.on_after_optimizer_step()
            manager.on_step_end()
        manager.on_epoch_end()
    manager.callbacks.on_train_end()
    return time.perf_counter() - start


def _tune(ctx, model, manager, opts, data=None) -> float:
    loop = fine_tune_keras if ctx.framework == "tensorflow" else fine_tune
    return loop(ctx, model, manager, opts, data)


def _copy(ctx, model):
    """A trainable copy of the job's fp32 model (the job's own stays the baseline)."""
    if ctx.framework != "tensorflow":
        return copy.deepcopy(model)
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def weight_sparsity(model) -> float:
    """Zero fraction over the weights of every Conv/Linear module (Keras: every Dense/Conv kernel)."""
    if hasattr(model, "get_layer"):  # Keras
        kernels = [layer.kernel.numpy() for layer in model.layers if type(layer).__name__ in _KERAS_PRUNED]
        total = sum(k.size for k in kernels)
        return sum(int((k == 0).sum()) for k in kernels) / total if total else 0.0
    import torch

    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.modules.conv._ConvNd)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total if total else 0.0


def _param_count(model) -> int:
    if hasattr(model, "count_params"):  # Keras
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters())


_KERAS_PRUNED = ("Dense", "Conv1D", "Conv2D", "Conv3D")


def _result(model, manager, opts, seconds, **extra) -> Compressed:
    notes = {"summary": manager.summary(), **extra.pop("notes", {})}
    return Compressed(
        model=model,
        train_epochs=int(opts["epochs"]),
        train_seconds=seconds,
        notes=notes,
        **extra,
    )


@register_technique("qat", uses="qat")
def qat(ctx) -> Compressed:
    from compressor.config import QuantizationAwareTrainingConfig
    from compressor.training import prepare_compression

    opts = options_for("qat", ctx.technique.options)
    model = _copy(ctx, ctx.fp32_model)
    conf = QuantizationAwareTrainingConfig(op_name_dict=opts["op_name_dict"])
    manager = prepare_compression(model, conf)
    seconds = _tune(ctx, model, manager, opts)
    fallback = manager.quantized_model.q_config["fallback_ops"]
    return _result(manager.model, manager, opts, seconds, fp32_ops=list(fallback))


@register_technique("prune", uses="pruning")
def prune(ctx) -> Compressed:
    from compressor.config import WeightPruningConfig
    from compressor.training import prepare_compression
    from models.evaluation import num_examples

    opts = options_for("prune", ctx.technique.options)
    data = _training_data(ctx, opts)
    total = -(-num_examples(data[0]) // int(opts["batch_size"])) * int(opts["epochs"])
    end = max(1, int(total * float(opts["prune_fraction"])))
    conf = WeightPruningConfig(
        target_sparsity=float(opts["target_sparsity"]),
        pattern=opts["pattern"],
        pruning_type=opts["pruning_type"],
        pruning_scope=opts["pruning_scope"],
        sparsity_decay_type=opts["sparsity_decay_type"],
        excluded_op_names=list(opts["excluded_op_names"]),
        start_step=0,
        end_step=end,
        pruning_frequency=max(1, end // 20),
    )
    model = _copy(ctx, ctx.fp32_model)
    params = _param_count(model)
    manager = prepare_compression(model, conf)
    seconds = _tune(ctx, model, manager, opts, data)
    final = manager.model.eval() if hasattr(manager.model, "eval") else manager.model
    notes = {"params": _param_count(final), "fp32_params": params}
    return _result(final, manager, opts, seconds, sparsity=weight_sparsity(final), notes=notes)


@register_technique("distill", uses="distillation")
def distill(ctx) -> Compressed:
    from compressor.config import DistillationConfig, KnowledgeDistillationLossConfig
    from compressor.training import prepare_compression

    if ctx.framework == "tensorflow":
        from models.frameworks.tensorflow_fw import build
    else:
        from models.frameworks.torch_fw import build

    opts = options_for("distill", ctx.technique.options)
    student_entry = dataclasses.replace(ctx.entry, recipe={**ctx.entry.recipe, **opts["student"]})
    student = build(student_entry)
    criterion = KnowledgeDistillationLossConfig(
        temperature=float(opts["temperature"]), loss_types=["CE", "KL"], loss_weights=list(opts["loss_weights"])
    )
    manager = prepare_compression(student, DistillationConfig(teacher_model=ctx.fp32_model, criterion=criterion))
    seconds = _tune(ctx, student, manager, opts)
    notes = {"params": _param_count(student), "teacher_params": _param_count(ctx.fp32_model)}
    final = manager.model.eval() if hasattr(manager.model, "eval") else manager.model
    return _result(final, manager, opts, seconds, notes=notes)
