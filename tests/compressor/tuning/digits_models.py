"""Tiny MLPs trained on sklearn's digits, deterministically: a normal one and a fragile one whose
hidden activations carry a few huge outlier channels (so per-tensor int8 activations break it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy_backend import MLP, Dense


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load() -> Digits:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1200], order[1200:]
    return Digits(x[train], y[train], x[test], y[test])


def train_mlp(data: Digits, sizes=(64, 48, 32, 10), epochs: int = 40, seed: int = 0) -> MLP:
    """Minibatch SGD with momentum on softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, np.sqrt(2.0 / n_in), (n_out, n_in)).astype(np.float32)
        for n_in, n_out in zip(sizes, sizes[1:], strict=False)
    ]
    biases = [np.zeros(n, np.float32) for n in sizes[1:]]
    velocity = [np.zeros_like(p) for p in weights + biases]
    x, y = data.x_train, data.y_train
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 64):
            idx = order[start : start + 64]
            acts = [x[idx]]
            for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
                z = acts[-1] @ w.T + b
                acts.append(np.maximum(z, 0) if i < len(weights) - 1 else z)
            logits = acts[-1] - acts[-1].max(axis=1, keepdims=True)
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            grad = probs
            grad[np.arange(len(grad)), y[idx]] -= 1
            grad /= len(grad)
            grads_w, grads_b = [], []
            for i in reversed(range(len(weights))):
                grads_w.insert(0, grad.T @ acts[i])
                grads_b.insert(0, grad.sum(axis=0))
                if i:
                    grad = (grad @ weights[i]) * (acts[i] > 0)
            for j, (p, g) in enumerate(zip(weights + biases, grads_w + grads_b, strict=True)):
                velocity[j] = 0.9 * velocity[j] - 0.05 * g
                p += velocity[j]
    layers = [
        Dense(f"fc{i + 1}", w, b, relu=i < len(weights) - 1)
        for i, (w, b) in enumerate(zip(weights, biases, strict=True))
    ]
    return MLP(layers)


def make_fragile(model: MLP, data: Digits, layer: int = 0, channels: int = 3, factor: float = 300.0) -> MLP:
    """The same function, but ``channels`` outputs of ``layer`` scaled by ``factor`` (and the next layer's
    matching inputs by 1/factor): ReLU is positively homogeneous, so fp32 accuracy is unchanged while the
    next layer's input gets a few huge outlier channels."""
    first, second = model.layers[layer], model.layers[layer + 1]
    hidden = model.trace(data.x_train)[layer + 1]
    top = np.argsort(-hidden.mean(axis=0), kind="stable")[:channels]
    scale = np.ones(first.weight.shape[0], np.float32)
    scale[top] = factor
    layers = list(model.layers)
    layers[layer] = Dense(first.name, first.weight * scale[:, None], first.bias * scale, first.relu)
    layers[layer + 1] = Dense(second.name, second.weight / scale[None, :], second.bias, second.relu)
    return MLP(layers)


def save_mlp(model: MLP, path) -> None:
    arrays = {}
    for i, layer in enumerate(model.layers):
        arrays[f"{i}_weight"], arrays[f"{i}_bias"] = layer.weight, layer.bias
        arrays[f"{i}_relu"] = np.array(layer.relu)
    np.savez(path, names=np.array([layer.name for layer in model.layers]), **arrays)


def load_mlp(path) -> MLP:
    with np.load(path, allow_pickle=False) as data:
        names = [str(n) for n in data["names"]]
        return MLP(
            [Dense(n, data[f"{i}_weight"], data[f"{i}_bias"], bool(data[f"{i}_relu"])) for i, n in enumerate(names)]
        )


def accuracy(model: MLP, data: Digits) -> float:
    return float(np.mean(np.argmax(model(data.x_test), axis=1) == data.y_test))


def calibration_batches(data: Digits, batch: int = 50, count: int = 4) -> list[tuple[np.ndarray]]:
    return [(data.x_train[i * batch : (i + 1) * batch],) for i in range(count)]


def make_weight_outliers(model: MLP, data: Digits, factor: float = 60.0) -> MLP:
    """Every layer gets one huge weight on an input that is always 0, so the function is unchanged (up to a
    hidden unit it silences) while per-tensor int8 weights crush every other weight of the layer to a few
    levels; per-channel weights confine the damage to one output row. fc1's input is a pixel that is 0 in
    every digit; deeper layers read a hidden unit the transform silences (zero weights, negative bias)."""
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        weight, bias = layer.weight.copy(), layer.bias
        if i == 0:
            dead = int(np.flatnonzero(np.all(data.x_train == 0, axis=0))[0])
        else:
            previous = layers[i - 1]
            # The least used unit other than 0 (row 0 of the previous layer carries its own outlier).
            dead = 1 + int(np.argmin(model.trace(data.x_train)[i].mean(axis=0)[1:]))
            silenced_w, silenced_b = previous.weight.copy(), previous.bias.copy()
            silenced_w[dead], silenced_b[dead] = 0.0, -1.0
            layers[i - 1] = Dense(previous.name, silenced_w, silenced_b, previous.relu)
            weight[:, dead] = 0.0
        weight[0, dead] = factor * float(np.abs(layer.weight).max())
        layers[i] = Dense(layer.name, weight, bias, layer.relu)
    return MLP(layers)
