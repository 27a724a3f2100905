"""Framework-free parts: schedules, patterns, allocation."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.algorithms.pruning.allocation import OpUnits, allocate_global, allocate_local
from compressor.algorithms.pruning.patterns import from_2d, parse_pattern, to_2d
from compressor.algorithms.pruning.schedule import DECAYS, Schedule
from compressor.config import WeightPruningConfig
from compressor.errors import ConfigError


def test_decay_types_differ_midway_and_agree_at_the_end():
    mids = {name: Schedule(0.8, 0, 10, 1, name).sparsity_at(5) for name in DECAYS}
    assert len({round(v, 6) for v in mids.values()}) == 4
    assert mids["cube"] < mids["cos"] < mids["linear"] < mids["exp"]
    assert mids["linear"] == pytest.approx(0.4)
    assert all(Schedule(0.8, 0, 10, 1, name).sparsity_at(10) == pytest.approx(0.8) for name in DECAYS)
    assert all(Schedule(0.8, 0, 10, 1, name).sparsity_at(0) == pytest.approx(0.0) for name in DECAYS)


def test_events_follow_frequency_and_always_include_end_step():
    assert Schedule(0.5, 2, 9, 3, "exp").events() == [2, 5, 8, 9]
    assert Schedule(0.5, 2, 8, 3, "exp").events() == [2, 5, 8]
    s = Schedule(0.5, 3, 3, 1, "exp")
    assert s.one_shot and s.events() == [3] and s.sparsity_at(3) == 0.5
    assert not s.is_event(2) and not s.is_event(4)


def test_conv_2d_view_puts_input_channels_last_and_round_trips():
    w = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    view = to_2d(w)
    assert view.shape == (2, 12)
    assert list(view[0, :3]) == [w[0, 0, 0, 0], w[0, 1, 0, 0], w[0, 2, 0, 0]]
    assert np.array_equal(from_2d(view, w.shape), w)


def test_n_in_m_prunes_exactly_n_lowest_of_each_group():
    rng = np.random.default_rng(0)
    scores = rng.random((4, 8))
    p = parse_pattern("2:4")
    units = p.unit_scores(scores, (4, 8))
    keep = p.keep_mask(scores, (4, 8), np.ones(len(units), dtype=bool))
    groups, kept = scores.reshape(-1, 4), keep.reshape(-1, 4)
    assert (kept.sum(axis=1) == 2).all()
    for g, k in zip(groups, kept, strict=True):
        assert set(np.flatnonzero(~k)) == set(np.argsort(g)[:2])
    assert p.max_sparsity == 0.5


def test_block_pattern_prunes_whole_blocks():
    p = parse_pattern("4x2")
    scores = np.random.default_rng(1).random((8, 6))
    pruned = np.zeros(6, dtype=bool)
    pruned[[0, 4]] = True
    keep = p.keep_mask(scores, (8, 6), pruned)
    blocks = keep.reshape(2, 4, 3, 2).transpose(0, 2, 1, 3).reshape(6, 8)
    assert (blocks.all(axis=1) | ~blocks.any(axis=1)).all()
    assert list(~blocks.any(axis=1)) == list(pruned)
    assert p.problem((6, 6)) and "4x2" in p.problem((6, 6))


def test_channel_patterns_cover_whole_channels_of_a_conv():
    shape = (4, 3, 2, 2)
    out_ids = parse_pattern("1xchannel").unit_ids(shape)
    in_ids = from_2d(parse_pattern("channelx1").unit_ids(shape), shape)
    assert (from_2d(out_ids, shape) == np.arange(4)[:, None, None, None]).all()
    assert (in_ids == np.arange(3)[None, :, None, None]).all()


def _ops():
    rng = np.random.default_rng(2)
    # op 0 has small scores, op 1 large ones: global pruning takes mostly from op 0
    return [OpUnits(rng.random(100) * 0.1, 1, 100), OpUnits(rng.random(100), 1, 100)]


def test_local_scope_gives_every_op_the_target_and_global_ranks_across_ops():
    local = [p.mean() for p in allocate_local(_ops(), 0.5, 0.0, 0.98)]
    glob = [p.mean() for p in allocate_global(_ops(), 0.5, 0.0, 0.98)]
    assert local == [0.5, 0.5]
    assert sum(glob) / 2 == pytest.approx(0.5)
    assert glob[0] > 0.8 and glob[1] < 0.2


def test_global_scope_respects_min_and_max_ratio_per_op():
    glob = [p.mean() for p in allocate_global(_ops(), 0.5, 0.3, 0.7)]
    assert glob[0] == pytest.approx(0.7) and glob[1] == pytest.approx(0.3)


def test_pruned_units_stay_pruned():
    ops = [OpUnits(np.array([-np.inf, -np.inf, 0.1, 0.2]), 1, 4)]
    assert allocate_local(ops, 0.25, 0.0, 0.98)[0].tolist() == [True, True, False, False]


@pytest.mark.parametrize("text", ["0x4", "4:2", "2:2", "4x1\n", "ic_pattern_4x1", "4X1", "2 : 4", 5])
def test_config_validates_with_the_algorithms_own_pattern_grammar(text):
    with pytest.raises(ConfigError) as from_config:
        WeightPruningConfig(pattern=text)
    with pytest.raises(ConfigError) as from_parser:
        parse_pattern(text)
    assert str(from_config.value) == str(from_parser.value)
    assert "'N:M' with N < M" in str(from_parser.value)


def test_pattern_suggestions_are_patterns_the_grammar_accepts():
    for text, meant in [("ic_pattern_4x1", "4x1"), ("4X1", "4x1"), ("2 : 4", "2:4"), ("CHANNELX1", "channelx1")]:
        with pytest.raises(ConfigError, match=f"did you mean '{meant}'"):
            parse_pattern(text)
        assert parse_pattern(meant).text == meant
    with pytest.raises(ConfigError) as err:
        parse_pattern("4 : 2")  # cleaned up it is still N >= M: nothing to suggest
    assert err.value.suggestion is None
