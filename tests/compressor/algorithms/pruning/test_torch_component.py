"""The torch pruning component driven by the seed-001 loop shapes: every config key has an effect."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from compressor.errors import BackendError  # noqa: E402


def _op(summary, name):
    return next(o for o in summary["ops"] if o["op"] == name)


def test_2x_loop_reaches_target_with_momentum_and_optimizer_built_before(h):
    model = h.make(h.MLP)
    params_before = [id(p) for p in model.parameters()]
    comp, out = h.prune(model, steps=10, target_sparsity=0.75, pattern="1x1", start_step=1, end_step=6)
    assert out is model and [id(p) for p in model.parameters()] == params_before
    s = comp.summary()
    assert s["target_met"] and s["pruners"][0]["reached_sparsity"] == pytest.approx(0.75, abs=0.01)
    weights = [model.fc1.weight, model.fc2.weight, model.head.weight]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    assert zeros == pytest.approx(0.75, abs=0.01)
    assert s["steps"] == 10 and s["pruners"][0]["events"] == [1, 2, 3, 4, 5, 6]


def test_masks_survive_sgd_momentum_steps_after_pruning(h):
    model = h.make(h.MLP)
    zero_counts = []
    h.prune(
        model, steps=12, pattern="4x1", target_sparsity=0.5, start_step=0, end_step=0,
        loop=h.recording(zero_counts, lambda m, _: int((m.fc2.weight == 0).sum())),
    )  # fmt: skip
    assert len(set(zero_counts)) == 1 and zero_counts[0] > 0  # one-shot at step 0, never revived


def test_1x_loop_with_epochs_and_gradient_accumulation_counts_global_steps(h):
    model = h.make(h.MLP)
    cfg = h.WeightPruningConfig(target_sparsity=0.6, pattern="1x1", start_step=4, end_step=10, pruning_frequency=3)
    comp = h.make_component(cfg, model, "torch")
    h.loop_1x(model, comp, steps=4, epochs=3, accumulation=2)  # 12 global steps, step arg restarts each epoch
    s = comp.summary()
    assert s["steps"] == 12 and s["pruners"][0]["events"] == [4, 7, 10]
    assert s["target_met"]


def test_start_step_delays_pruning(h):
    model = h.make(h.MLP)
    seen = []
    loop = h.recording(seen, lambda m, _: h.sparsity(m.fc1.weight))
    h.prune(
        model,
        steps=8,
        loop=loop,
        pattern="1x1",
        target_sparsity=0.5,
        start_step=4,
        end_step=6,
        pruning_type="magnitude",
    )
    assert seen[:4] == [0.0] * 4 and seen[-1] > 0.3


def test_end_step_beyond_training_is_reported_as_not_met(h):
    comp, _ = h.prune(
        h.make(h.MLP),
        steps=4,
        pattern="1x1",
        target_sparsity=0.8,
        start_step=0,
        end_step=20,
        sparsity_decay_type="linear",
    )
    p = comp.summary()["pruners"][0]
    assert not p["target_met"] and "before end_step 20" in p["note"]
    assert p["reached_sparsity"] == pytest.approx(0.8 * 3 / 20, abs=0.01)


def test_decay_types_differ_midway_but_reach_the_same_target(h):
    mids, finals = {}, {}
    for decay in ("exp", "linear", "cos", "cube"):
        model = h.make(h.MLP)
        trace = []
        loop = h.recording(trace, h.reached)
        comp, _ = h.prune(
            model, steps=10, loop=loop, pattern="1x1", target_sparsity=0.8, end_step=8, sparsity_decay_type=decay
        )
        mids[decay], finals[decay] = trace[4], comp.summary()["pruners"][0]["reached_sparsity"]
    assert mids["cube"] < mids["cos"] < mids["linear"] < mids["exp"]
    assert all(f == pytest.approx(0.8, abs=0.01) for f in finals.values())


def test_pruning_frequency_sets_the_events(h):
    comp, _ = h.prune(h.make(h.MLP), steps=10, pattern="1x1", target_sparsity=0.5, end_step=8, pruning_frequency=4)
    assert comp.summary()["pruners"][0]["events"] == [0, 4, 8]


def test_scope_global_and_local_give_different_per_op_sparsity(h):
    per_op = {}
    for scope in ("global", "local"):
        comp, _ = h.prune(
            h.make(h.MLP), steps=3, pattern="1x1", target_sparsity=0.6, pruning_scope=scope, pruning_type="magnitude"
        )
        per_op[scope] = [round(o["reached_sparsity"], 3) for o in comp.summary()["ops"]]
    assert per_op["local"] == pytest.approx([0.6, 0.6, 0.6], abs=0.005)
    assert per_op["global"] != per_op["local"] and len(set(per_op["global"])) > 1


def test_min_and_max_sparsity_ratio_per_op_bound_global_pruning(h):
    comp, _ = h.prune(
        h.make(h.MLP), steps=3, pattern="1x1", target_sparsity=0.6, pruning_type="magnitude",
        min_sparsity_ratio_per_op=0.5, max_sparsity_ratio_per_op=0.65,
    )  # fmt: skip
    reached = [o["reached_sparsity"] for o in comp.summary()["ops"]]
    assert all(0.5 - 1e-6 <= r <= 0.65 + 1e-6 for r in reached), reached
    assert comp.summary()["target_met"]


def test_op_names_excluded_op_names_and_op_types_select_ops(h):
    comp, _ = h.prune(
        h.make(h.MLP), steps=2, pattern="1x1", target_sparsity=0.5, op_names=["fc"], excluded_op_names=["fc2"]
    )
    assert comp.summary()["pruners"][0]["ops"] == ["fc1"]
    model = h.make(h.CNN)
    comp, _ = h.prune(model, steps=2, pattern="1x1", target_sparsity=0.5, pruning_op_types=["Conv"])
    assert comp.summary()["pruners"][0]["ops"] == ["conv1", "conv2"] and h.sparsity(model.fc.weight) == 0.0


def test_two_pruners_with_different_patterns_in_one_run(h):
    model = h.make(h.CNN)
    comp, _ = h.prune(
        model, steps=6, end_step=4, pruning_scope="local",
        pruning_configs=[
            {"op_names": ["conv"], "pattern": "2:4", "target_sparsity": 0.5},
            {"op_names": ["fc", "out"], "pattern": "4x1", "target_sparsity": 0.75},
        ],
    )  # fmt: skip
    s = comp.summary()
    assert [p["pattern"] for p in s["pruners"]] == ["2:4", "4x1"] and s["target_met"]
    w = model.conv2.weight.detach().permute(0, 2, 3, 1).reshape(-1, 4)  # groups of 4 input channels
    assert ((w == 0).sum(dim=1) == 2).all()
    blocks = model.fc.weight.detach().reshape(8, 4, 256).permute(0, 2, 1)  # 4x1: 4 output rows
    zero_block = (blocks == 0).all(dim=2)
    assert ((blocks == 0).any(dim=2) == zero_block).all() and zero_block.float().mean() == pytest.approx(0.75)


def test_first_pruner_wins_an_op_claimed_twice(h):
    comp, _ = h.prune(
        h.make(h.MLP), steps=2, pattern="1x1",
        pruning_configs=[{"op_names": ["fc1"], "target_sparsity": 0.3}, {"target_sparsity": 0.5}],
    )  # fmt: skip
    assert [p["ops"] for p in comp.summary()["pruners"]] == [["fc1"], ["fc2", "head"]]


def test_n_in_m_target_above_n_over_m_is_capped_and_reported(h):
    comp, _ = h.prune(h.make(h.MLP), steps=2, pattern="2:4", target_sparsity=0.9)
    p = comp.summary()["pruners"][0]
    assert p["reached_sparsity"] == pytest.approx(0.5) and not p["target_met"] and "at most 0.500" in p["note"]


@pytest.mark.parametrize("pruning_type", ["magnitude", "snip", "snip_momentum", "snip_momentum_progressive"])
def test_pruning_types_reach_target(h, pruning_type):
    comp, _ = h.prune(
        h.make(h.MLP),
        steps=12,
        pattern="1x1",
        target_sparsity=0.7,
        end_step=10,
        pruning_frequency=5,
        pruning_type=pruning_type,
    )
    assert comp.summary()["target_met"]


def test_criteria_choose_different_weights(h):
    masks = {}
    for pruning_type in ("magnitude", "snip"):
        model = h.make(h.MLP)
        h.prune(model, steps=3, pattern="1x1", target_sparsity=0.5, start_step=1, end_step=1, pruning_type=pruning_type)
        masks[pruning_type] = model.fc2.weight != 0
    assert (masks["magnitude"] != masks["snip"]).any()


def test_progressive_spreads_each_event_over_sub_steps(h):
    trace = {}
    for pruning_type in ("snip_momentum", "snip_momentum_progressive"):
        model, seen = h.make(h.MLP), []
        loop = h.recording(seen, h.reached)
        h.prune(
            model,
            steps=17,
            loop=loop,
            pattern="1x1",
            target_sparsity=0.8,
            end_step=16,
            pruning_frequency=8,
            sparsity_decay_type="linear",
            pruning_type=pruning_type,
        )
        trace[pruning_type] = seen
    plain, progressive = trace["snip_momentum"], trace["snip_momentum_progressive"]
    assert plain[8] == pytest.approx(0.4, abs=0.01) and len(set(plain[8:16])) == 1
    assert progressive[8] == pytest.approx(0.1, abs=0.01)  # a quarter of the event's new pruning
    assert progressive[8] < progressive[10] < progressive[12] < progressive[14] == pytest.approx(0.4, abs=0.01)
    assert plain[-1] == progressive[-1] == pytest.approx(0.8, abs=0.01)


def test_summary_format_and_masks_removed_at_train_end(h):
    model = h.make(h.MLP)
    comp, _ = h.prune(model, steps=3, pattern="1x1", target_sparsity=0.5)
    s = comp.summary()
    assert set(s) >= {"component", "framework", "steps", "target_met", "pruners", "ops", "shrink", "tolerance"}
    assert set(s["ops"][0]) == {"op", "type", "shape", "pruner", "pattern", "target_sparsity", "reached_sparsity"}
    assert json.loads(json.dumps(s)) == s
    assert comp.masks == {}
    before = h.sparsity(model.fc1.weight)
    comp.on_after_optimizer_step()  # no-op now
    assert h.sparsity(model.fc1.weight) == before


def test_unsupported_framework_names_supported_ones(h):
    with pytest.raises(
        BackendError, match=r"pruning does not support framework 'onnxrt'; supported frameworks: 'tensorflow', 'torch'"
    ):
        h.make_component(h.WeightPruningConfig(), h.make(h.MLP), "onnxrt")
