"""A real, small PTQ backend over numpy MLPs (Linear+ReLU layers), for the tuning engine's tests.

Quantization is simulated int8: weights are quantized per tensor or per output channel (sym or asym)
and stored as int8 + scales; activations entering each int8 layer are fake-quantized (uint8 asym or
int8 sym) with ranges calibrated from the calibration batches (minmax, percentile, or an MSE-optimal
clip standing in for entropy) or, for the dynamic approach, computed per call. SmoothQuant migrates
activation outliers into the weights per input channel. Fp32 fallback keeps a layer untouched.
Latency is the measured median numpy forward time unless a ``latency_model`` is given.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from compressor.algorithms.ptq.algorithm import OpInfo, OpQuant, Plan
from compressor.algorithms.ptq.backend import PTQBackend


@dataclass
class Dense:
    name: str
    weight: np.ndarray  # (out, in)
    bias: np.ndarray
    relu: bool = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight.T + self.bias
        return np.maximum(y, 0.0) if self.relu else y


@dataclass
class ActQuant:
    """How the input of a quantized layer is fake-quantized; ``scale is None`` means dynamic."""

    scheme: str
    scale: float | None = None
    zero_point: int = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        scale, zero = (self.scale, self.zero_point) if self.scale is not None else act_params(x, self.scheme)
        lo, hi = (0, 255) if self.scheme == "asym" else (-127, 127)
        q = np.clip(np.round(x / scale) + zero, lo, hi)
        return ((q - zero) * scale).astype(np.float32)


@dataclass
class QDense:
    name: str
    weight: np.ndarray  # dequantized (with SmoothQuant scaling folded in)
    bias: np.ndarray
    relu: bool
    weight_q: np.ndarray  # int8
    weight_scales: np.ndarray
    act: ActQuant
    smooth: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.smooth is not None:
            x = x / self.smooth
        y = self.act(x) @ self.weight.T + self.bias
        return np.maximum(y, 0.0) if self.relu else y


class MLP:
    def __init__(self, layers: Sequence[Dense | QDense]) -> None:
        self.layers = list(layers)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def trace(self, x: np.ndarray) -> list[np.ndarray]:
        """The input of every layer, then the final output."""
        seen = [x]
        for layer in self.layers:
            x = layer(x)
            seen.append(x)
        return seen


def act_params(x: np.ndarray, scheme: str, lo: float | None = None, hi: float | None = None) -> tuple[float, int]:
    lo = float(np.min(x)) if lo is None else lo
    hi = float(np.max(x)) if hi is None else hi
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if scheme == "sym":
        return max(max(abs(lo), abs(hi)) / 127.0, 1e-8), 0
    scale = max((hi - lo) / 255.0, 1e-8)
    return scale, int(round(-lo / scale))


def quantize_weight(w: np.ndarray, granularity: str, scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int8 codes, scales, dequantized weight)."""
    axis = 1 if granularity == "per_channel" else None
    lo = np.min(w, axis=axis, keepdims=axis is not None)
    hi = np.max(w, axis=axis, keepdims=axis is not None)
    if scheme == "sym":
        scale = np.maximum(np.maximum(np.abs(lo), np.abs(hi)) / 127.0, 1e-12)
        zero = 0
        q = np.clip(np.round(w / scale), -127, 127)
    else:
        lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
        scale = np.maximum((hi - lo) / 255.0, 1e-12)
        zero = np.round(-128 - lo / scale)
        q = np.clip(np.round(w / scale) + zero, -128, 127)
    deq = ((q - zero) * scale).astype(np.float32)
    return q.astype(np.int8), np.atleast_1d(scale).astype(np.float32).ravel(), deq


def calibrate_range(x: np.ndarray, method: str, scheme: str) -> tuple[float, float]:
    if method == "percentile":
        return float(np.percentile(x, 0.01)), float(np.percentile(x, 99.99))
    lo, hi = float(np.min(x)), float(np.max(x))
    if method == "minmax":
        return lo, hi
    # "entropy": the clip ratio whose fake-quantization error on the data is smallest.
    best, best_err = (lo, hi), np.inf
    for ratio in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
        scale, zero = act_params(x, scheme, lo * ratio, hi * ratio)
        err = float(np.mean((ActQuant(scheme, scale, zero)(x) - x) ** 2))
        if err < best_err:
            best, best_err = (lo * ratio, hi * ratio), err
    return best


class NumpyBackend(PTQBackend):
    name = "numpy"

    def __init__(
        self,
        latency_model: Callable[[MLP], float] | None = None,
        iterations: int = 20,
        granularities: tuple[str, ...] = ("per_channel", "per_tensor"),
        dynamic_in_static: bool = False,
    ) -> None:
        """``granularities``: the weight granularities offered, best first (ONNX Runtime's order is
        per-tensor first). ``dynamic_in_static``: static plans may also run an op with run-time activation
        ranges (``OpQuant(activation_mode="dynamic")``, as ONNX Runtime's MatMuls can)."""
        self.latency_model = latency_model
        self.iterations = iterations
        self.granularities = granularities
        self.dynamic_in_static = dynamic_in_static

    def fingerprint(self, model: MLP) -> str:
        digest = hashlib.sha256()
        for layer in model.layers:
            for part in (layer.name.encode(), layer.weight.tobytes(), layer.bias.tobytes()):
                digest.update(part)
        return digest.hexdigest()[:16]

    def quantizable_ops(self, model: MLP) -> list[OpInfo]:
        return [OpInfo(layer.name, "Linear") for layer in model.layers]

    def op_options(self, op: OpInfo, approach: str) -> list[OpQuant]:
        options = [
            OpQuant("int8", granularity, wscheme, ascheme)
            for granularity in self.granularities
            for wscheme in ("sym", "asym")
            for ascheme in ("asym", "sym")
        ]
        if approach == "static" and self.dynamic_in_static:
            options += [OpQuant("int8", granularity, activation_mode="dynamic") for granularity in self.granularities]
        return options

    def formats(self, approach: str) -> tuple[str, ...]:
        return ("QOperator", "QDQ") if approach == "static" else ("QOperator",)

    def quantize(self, model: MLP, plan: Plan, calibration: Sequence[tuple]) -> MLP:
        if calibration:
            x = np.concatenate([batch[0] for batch in calibration]).astype(np.float32)
            inputs = model.trace(x)[:-1]  # fp32 activations entering each layer
        elif plan.approach == "static" or plan.smooth_quant_alpha is not None:
            raise ValueError("static quantization and SmoothQuant need calibration batches")
        else:
            inputs = [None] * len(model.layers)
        layers: list[Dense | QDense] = []
        for layer, seen in zip(model.layers, inputs, strict=True):
            choice = plan.ops[layer.name]
            if not choice.quantized:
                layers.append(layer)
                continue
            weight, smooth = layer.weight, None
            if plan.smooth_quant_alpha is not None:
                smooth = smooth_scales(seen, weight, plan.smooth_quant_alpha)
                weight, seen = weight * smooth[None, :], seen / smooth
            q, scales, deq = quantize_weight(weight, choice.weight_granularity, choice.weight_scheme)
            if plan.approach == "static" and not choice.dynamic:
                lo, hi = calibrate_range(seen, plan.calibration, choice.activation_scheme)
                act = ActQuant(choice.activation_scheme, *act_params(seen, choice.activation_scheme, lo, hi))
            else:
                act = ActQuant(choice.activation_scheme)
            layers.append(QDense(layer.name, deq, layer.bias, layer.relu, q, scales, act, smooth))
        return MLP(layers)

    def op_outputs(self, model: MLP, batches: Sequence[tuple], op_names: Sequence[str]) -> dict[str, np.ndarray]:
        x = np.concatenate([batch[0] for batch in batches]).astype(np.float32)
        outputs = model.trace(x)[1:]
        by_name = {layer.name: out for layer, out in zip(model.layers, outputs, strict=True)}
        return {name: by_name[name] for name in op_names}

    def latency_ms(self, model: MLP, batch: tuple, *, warmup: int = 3, iterations: int | None = None) -> float:
        if self.latency_model is not None:
            return float(self.latency_model(model))
        x = batch[0]
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(iterations or self.iterations):
            start = time.perf_counter_ns()
            model(x)
            times.append(time.perf_counter_ns() - start)
        return float(np.median(times)) / 1e6

    def save(self, model: MLP, path: str) -> None:
        arrays = {}
        for i, layer in enumerate(model.layers):
            arrays[f"{i}_weight"] = layer.weight
            arrays[f"{i}_bias"] = layer.bias
            if isinstance(layer, QDense):
                arrays[f"{i}_weight_q"] = layer.weight_q
                arrays[f"{i}_weight_scales"] = layer.weight_scales
        np.savez(path, **arrays)

    def size_bytes(self, model: MLP) -> int:
        total = 0
        for layer in model.layers:
            total += layer.bias.size * 4
            if isinstance(layer, QDense):
                total += layer.weight_q.size + layer.weight_scales.size * 4 + 8
                total += 0 if layer.smooth is None else layer.smooth.size * 4
            else:
                total += layer.weight.size * 4
        return total


def smooth_scales(x: np.ndarray, weight: np.ndarray, alpha: float) -> np.ndarray:
    """SmoothQuant's per-input-channel divisor ``max|X_j|^a / max|W_:j|^(1-a)``."""
    act = np.maximum(np.max(np.abs(x), axis=0), 1e-5)
    wmax = np.maximum(np.max(np.abs(weight), axis=0), 1e-5)
    return np.clip(act**alpha / wmax ** (1 - alpha), 1e-5, None).astype(np.float32)


def modeled_latency(int8_cost: float = 0.25) -> Callable[[MLP], float]:
    """A deterministic latency: weight elements per layer, int8 layers costing ``int8_cost`` of fp32."""

    def latency(model: MLP) -> float:
        return (
            sum(layer.weight.size * (int8_cost if isinstance(layer, QDense) else 1.0) for layer in model.layers) / 1e3
        )

    return latency
