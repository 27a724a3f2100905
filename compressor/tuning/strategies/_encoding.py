"""Plans as vectors of categorical choices, for the sampling and model-based strategies.

Dimensions: approach, calibration, format, SmoothQuant alpha, then one per tunable op whose value is an
index into that op's int8 options or the last value for fp32. Decoding clips indices that a given
approach does not offer, so every decoded plan is inside the space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...algorithms.ptq.algorithm import FP32, Plan
from ..space import TuningSpace
from ..trial import Trial


class PlanEncoder:
    def __init__(self, space: TuningSpace) -> None:
        self.space = space
        self.calibrations = space.calibrations
        self.formats = sorted({f for fs in space.formats.values() for f in fs}, key=_format_order(space))
        # Ops with a real choice: fp32 or int8, or several int8 options.
        self.ops = [c for c in space.ops if any(c.tunable(a) or len(c.options(a)) > 1 for a in space.approaches)]
        widths = [max(len(c.options(a)) for a in space.approaches) for c in self.ops]
        self.sizes = [len(space.approaches), len(self.calibrations), len(self.formats), len(space.smooth_quant_alphas)]
        self.sizes += [w + 1 for w in widths]

    def decode(self, codes: Sequence[int]) -> Plan:
        space = self.space
        approach = space.approaches[codes[0]]
        calibrations = space.calibrations_for(approach)
        formats = space.formats[approach]
        fmt = self.formats[codes[2]]
        base = space.plan(
            approach,
            calibration=self.calibrations[codes[1]] if self.calibrations[codes[1]] in calibrations else calibrations[0],
            quant_format=fmt if fmt in formats else formats[0],
            smooth_quant_alpha=space.smooth_quant_alphas[codes[3]],
        )
        ops = {}
        for choice, code, size in zip(self.ops, codes[4:], self.sizes[4:], strict=True):
            options = choice.options(approach)
            if not options:
                continue
            wants_fp32 = code == size - 1
            ops[choice.name] = FP32 if wants_fp32 and choice.fp32_allowed else options[min(code, len(options) - 1)]
        return base.with_ops(**ops)

    def encode(self, plan: Plan) -> list[int]:
        codes = [
            self.space.approaches.index(plan.approach),
            self.calibrations.index(plan.calibration),
            self.formats.index(plan.quant_format),
            self.space.smooth_quant_alphas.index(plan.smooth_quant_alpha),
        ]
        for choice, size in zip(self.ops, self.sizes[4:], strict=True):
            current = plan.ops[choice.name]
            options = choice.options(plan.approach)
            codes.append(size - 1 if not current.quantized else options.index(current) if current in options else 0)
        return codes

    def one_hot(self, codes: Sequence[int]) -> np.ndarray:
        """One-hot per dimension; for an op the last slot is fp32, so fallback is a feature of its own."""
        parts = []
        for code, size in zip(codes, self.sizes, strict=True):
            row = np.zeros(size)
            row[code] = 1.0
            parts.append(row)
        return np.concatenate(parts) if parts else np.zeros(0)

    def sample(self, rng: np.random.Generator, fallback_rate: float | None = None) -> list[int]:
        """Uniform knobs; each tunable op fp32 with probability ``fallback_rate`` (drawn in [0, 0.5))."""
        rate = rng.uniform(0.0, 0.5) if fallback_rate is None else fallback_rate
        codes = [int(rng.integers(size)) for size in self.sizes[:4]]
        for size in self.sizes[4:]:
            codes.append(size - 1 if rng.random() < rate else int(rng.integers(size - 1)))
        return codes

    def mutate(self, codes: Sequence[int], rng: np.random.Generator) -> list[int]:
        """``codes`` with one dimension changed to another value."""
        out = list(codes)
        dims = [d for d, size in enumerate(self.sizes) if size > 1]
        if not dims:
            return out
        d = dims[int(rng.integers(len(dims)))]
        out[d] = (out[d] + 1 + int(rng.integers(self.sizes[d] - 1))) % self.sizes[d]
        return out


def score(trials: Sequence[Trial], n_ops: int) -> np.ndarray:
    """Higher is better: first meet the criterion (low loss), then keep few ops in fp32.

    The fallback penalty only counts fully among passing plans: while nothing passes, falling back an
    op that barely helps must not look worse than a fully-int8 plan that fails.
    """
    losses = np.array([t.loss if math.isfinite(t.loss) else np.nan for t in trials], dtype=float)
    finite = losses[np.isfinite(losses)]
    worst = float(finite.max()) if finite.size else 1.0
    losses = np.where(np.isfinite(losses), losses, worst * 2 + 1)
    spread = float(losses.max() - losses.min()) or 1.0
    fallback = np.array([len(t.fallback_ops) for t in trials], dtype=float) / max(n_ops, 1)
    met = np.array([t.met for t in trials], dtype=float)
    return -losses / spread + met * (1.0 - 0.5 * fallback) - 0.01 * fallback


def _format_order(space: TuningSpace):
    order = [f for fs in space.formats.values() for f in fs]
    return order.index
