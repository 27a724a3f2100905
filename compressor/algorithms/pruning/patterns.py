"""Pruning patterns: how a weight is cut into units that are pruned together (numpy only).

Every weight is first viewed as a 2-D matrix ``[out, rest]`` the way Intel Neural Compressor does:
Linear ``[out, in]`` as is; Conv ``[out, in, *kernel]`` is permuted to ``[out, *kernel, in]`` and
flattened, so input channels are the fastest-moving (contiguous) axis of a row.

- ``NxM`` (``4x1``, ``1x1``): blocks of N rows (output channels) by M columns (inputs); a block's
  score is the sum of its elements' scores. ``1x1`` is unstructured pruning.
- ``N:M`` (``2:4``): as INC documents it, *N weights are pruned* in each group of M consecutive
  weights along the input-channel axis. A unit is one group; pruning it zeroes its N lowest-scored
  weights and the group's score is the sum of those N scores. ``target_sparsity`` is element
  sparsity, so it can reach at most N/M (every group pruned); the report says when a target is
  capped. For Conv, groups never straddle kernel positions: input channels must divide by M.
- ``channelx1`` / ``1xchannel`` (INC's names): ``channelx1`` is a block spanning all output rows
  by one input, i.e. it prunes whole *input* channels (for Conv: the input channel at every kernel
  position); ``1xchannel`` spans one row by all inputs, i.e. it prunes whole *output* channels.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from ...errors import ConfigError

Shape = tuple[int, ...]


def to_2d(array: np.ndarray) -> np.ndarray:
    """``[out, in, *kernel]`` → ``[out, prod(kernel) * in]`` with inputs fastest."""
    if array.ndim == 2:
        return array
    return np.moveaxis(array, 1, -1).reshape(array.shape[0], -1)


def from_2d(array2d: np.ndarray, shape: Shape) -> np.ndarray:
    if len(shape) == 2:
        return array2d.reshape(shape)
    permuted = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(array2d.reshape(permuted), -1, 1)


def view_shape(shape: Shape) -> tuple[int, int]:
    return shape[0], int(np.prod(shape[1:]))


class Pattern(ABC):
    """One pattern; ``unit_ids`` maps each element of the 2-D view to the unit that owns it."""

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def max_sparsity(self) -> float:
        return 1.0

    @abstractmethod
    def problem(self, shape: Shape) -> str | None:
        """Why this pattern cannot cut a weight of ``shape`` (None when it can)."""

    @abstractmethod
    def unit_ids(self, shape: Shape) -> np.ndarray:
        """Integer unit id of every element of the 2-D view (units numbered 0..n_units-1)."""

    @abstractmethod
    def unit_size(self, shape: Shape) -> int:
        """Elements one pruned unit zeroes."""

    def unit_scores(self, scores2d: np.ndarray, shape: Shape) -> np.ndarray:
        ids = self.unit_ids(shape)
        return np.bincount(ids.ravel(), weights=scores2d.ravel(), minlength=int(ids.max()) + 1)

    def keep_mask(self, scores2d: np.ndarray, shape: Shape, pruned_units: np.ndarray) -> np.ndarray:
        """Boolean keep-mask of the 2-D view with the ``pruned_units`` removed."""
        return ~pruned_units[self.unit_ids(shape)]


class BlockPattern(Pattern):
    def __init__(self, text: str, rows: int, cols: int) -> None:
        super().__init__(text)
        self.rows, self.cols = rows, cols

    def problem(self, shape: Shape) -> str | None:
        r, c = view_shape(shape)
        if r % self.rows or c % self.cols:
            return (
                f"its weight viewed as [out, kernel*in] = [{r}, {c}] does not divide into "
                f"{self.rows}x{self.cols} blocks ({self.rows} output rows by {self.cols} input columns)"
            )
        return None

    def unit_ids(self, shape: Shape) -> np.ndarray:
        r, c = view_shape(shape)
        rows = np.arange(r)[:, None] // self.rows
        cols = np.arange(c)[None, :] // self.cols
        return rows * (c // self.cols) + cols

    def unit_size(self, shape: Shape) -> int:
        return self.rows * self.cols


class InputChannelPattern(Pattern):
    def problem(self, shape: Shape) -> str | None:
        return None

    def unit_ids(self, shape: Shape) -> np.ndarray:
        r, c = view_shape(shape)
        return np.broadcast_to(np.arange(c)[None, :] % shape[1], (r, c))

    def unit_size(self, shape: Shape) -> int:
        return int(np.prod(shape)) // shape[1]


class OutputChannelPattern(Pattern):
    def problem(self, shape: Shape) -> str | None:
        return None

    def unit_ids(self, shape: Shape) -> np.ndarray:
        r, c = view_shape(shape)
        return np.broadcast_to(np.arange(r)[:, None], (r, c))

    def unit_size(self, shape: Shape) -> int:
        return view_shape(shape)[1]


class NInMPattern(Pattern):
    """N of every M consecutive inputs pruned."""

    def __init__(self, text: str, n: int, m: int) -> None:
        super().__init__(text)
        self.n, self.m = n, m

    @property
    def max_sparsity(self) -> float:
        return self.n / self.m

    def problem(self, shape: Shape) -> str | None:
        if shape[1] % self.m:
            return (
                f"its {shape[1]} input channels do not divide into groups of {self.m} "
                f"(N:M groups run along the input-channel axis)"
            )
        return None

    def unit_ids(self, shape: Shape) -> np.ndarray:
        r, c = view_shape(shape)
        return np.arange(r * c).reshape(r, c) // self.m

    def unit_size(self, shape: Shape) -> int:
        return self.n

    def _groups(self, scores2d: np.ndarray) -> np.ndarray:
        return scores2d.reshape(-1, self.m)

    def unit_scores(self, scores2d: np.ndarray, shape: Shape) -> np.ndarray:
        return np.sort(self._groups(scores2d), axis=1, kind="stable")[:, : self.n].sum(axis=1)

    def keep_mask(self, scores2d: np.ndarray, shape: Shape, pruned_units: np.ndarray) -> np.ndarray:
        groups = self._groups(scores2d)
        lowest = np.argsort(groups, axis=1, kind="stable")[:, : self.n]
        keep = np.ones_like(groups, dtype=bool)
        rows = np.nonzero(pruned_units)[0]
        keep[rows[:, None], lowest[rows]] = False
        return keep.reshape(scores2d.shape)


# The one grammar of pattern names: WeightPruningConfig validates through ``parse_pattern`` too.
_BLOCK = re.compile(r"([1-9]\d*)x([1-9]\d*)")
_N_OF_M = re.compile(r"([1-9]\d*):([1-9]\d*)")
CHANNEL_PATTERNS = ("channelx1", "1xchannel")
ALLOWED = "'NxM' blocks such as '4x1' or '1x1', 'N:M' with N < M such as '2:4', 'channelx1' or '1xchannel'"


def _block(text: str) -> Pattern | None:
    m = _BLOCK.fullmatch(text)
    return BlockPattern(text, int(m[1]), int(m[2])) if m else None


def _n_of_m(text: str) -> Pattern | None:
    m = _N_OF_M.fullmatch(text)
    return NInMPattern(text, int(m[1]), int(m[2])) if m and int(m[1]) < int(m[2]) else None


#: pattern name parsers, tried in order; each returns a Pattern or None
PARSERS: list[Callable[[str], Pattern | None]] = [
    lambda t: InputChannelPattern(t) if t == "channelx1" else None,
    lambda t: OutputChannelPattern(t) if t == "1xchannel" else None,
    _block,
    _n_of_m,
]


def _parse(text: object) -> Pattern | None:
    if isinstance(text, str):
        for parser in PARSERS:
            pattern = parser(text)
            if pattern is not None:
                return pattern
    return None


def parse_pattern(text: object, field: str = "pattern") -> Pattern:
    """The pattern ``text`` names; ``ConfigError`` naming ``field`` (with a did-you-mean) when none."""
    pattern = _parse(text)
    if pattern is None:
        raise ConfigError(field, text, ALLOWED, suggestion=_suggestion(text))
    return pattern


def _suggestion(text: object) -> str | None:
    """A valid spelling of a near miss: 1.x's prefixed names ('ic_pattern_4x1'), case or whitespace ('4X1', '2 : 4')."""
    if not isinstance(text, str):
        return None
    cleaned = "".join(text.split()).lower()
    for candidate in (text.rsplit("_", 1)[-1], cleaned, cleaned.rsplit("_", 1)[-1]):
        if candidate != text and _parse(candidate) is not None:
            return candidate
    return None
