"""MXNet Gluon adapter: same data and recipe as torch, a plain autograd loop with Adam + cosine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from models.definition import EntryDefinition, resolve
from models.errors import CacheError
from models.evaluation import Inputs, num_examples

NAME = "mxnet"
SUFFIX = ".params"


def versions() -> tuple[str, ...]:
    return ("mxnet",)


def build(entry: EntryDefinition) -> Any:
    mx.random.seed(int(entry.recipe["seed"]))
    net = resolve(entry.builders["mxnet"])(entry)
    net.initialize(mx.init.Xavier(magnitude=2.0), ctx=mx.cpu())
    # Hybridized and run once: MXNet's quantization (quantize_net) needs a traced graph.
    net.hybridize(static_alloc=True, static_shape=False)
    shape = (2, *entry.input_signature[0].shape)
    net(mx.nd.zeros(shape))
    return net


def train(entry: EntryDefinition, model: Any) -> Any:
    recipe = entry.recipe
    x, y = entry.load_data("train")
    epochs, batch_size, lr = int(recipe["epochs"]), int(recipe["batch_size"]), float(recipe["lr"])
    n = num_examples(x)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    # Warmup then cosine: MXNet's counterpart of the OneCycleLR the torch recipe uses.
    schedule = mx.lr_scheduler.CosineScheduler(
        max_update=steps, base_lr=lr, final_lr=lr * 1e-4, warmup_steps=steps * 3 // 10, warmup_begin_lr=lr / 25
    )
    trainer = gluon.Trainer(
        model.collect_params(),
        "adam",
        {"learning_rate": lr, "wd": float(recipe.get("wd", 1e-4)), "lr_scheduler": schedule},
    )
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(int(recipe["seed"]))
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            data, label = mx.nd.array(x[idx]), mx.nd.array(y[idx])
            with autograd.record():
                loss = loss_fn(model(data), label)
            loss.backward()
            trainer.step(len(idx))
    mx.nd.waitall()
    return model


def save(entry: EntryDefinition, model: Any, path: Path) -> None:
    model.save_parameters(str(path))  # MXNet's binary NDArray format, not pickle


def load(entry: EntryDefinition, path: Path) -> Any:
    model = build(entry)
    try:
        model.load_parameters(str(path), ctx=mx.cpu())
    except Exception as exc:  # noqa: BLE001 - MXNetError and OSError both mean "unusable file"
        raise CacheError(f"cannot load cached MXNet parameters {path}: {exc}; rerun with --force") from exc
    return model


def predict_fn(model: Any) -> Callable[[Inputs], np.ndarray]:
    def predict(x: Inputs) -> np.ndarray:
        return model(mx.nd.array(x)).asnumpy()

    return predict


def num_params(model: Any) -> int:
    return int(sum(np.prod(p.shape) for p in model.collect_params().values() if p.grad_req != "null"))
