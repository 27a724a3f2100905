"""Channel patterns: the shrunk model equals the masked one, is smaller, and residual ops are skipped."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _outputs(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize(
    ("pattern", "ops", "after"),
    [
        # output channels of the producers
        ("1xchannel", ["conv1", "conv2", "^fc$"], {"conv1": 4, "conv2": 8, "fc": 16}),
        # input channels of the consumers; conv2's channels own 16 fc columns each, so only
        # the chains into conv2 and into out lose whole channels
        ("channelx1", ["conv2", "out"], {"conv1": 4, "conv2": 16, "fc": 16}),
    ],
)
def test_channel_shrink_keeps_outputs_and_removes_parameters(h, pattern, ops, after):
    model = h.make(h.CNN)
    comp, small = h.prune(
        model, steps=6, pattern=pattern, op_names=ops, target_sparsity=0.5, end_step=3, pruning_scope="local"
    )
    assert small is not model
    x = h.batches(model, 1, seed=7)[0][0]
    assert torch.allclose(_outputs(small, x), _outputs(model, x), atol=1e-5)
    shrink = comp.summary()["shrink"]
    assert shrink["applied"] and shrink["params_after"] < shrink["params_before"]
    assert {c["producer"]: c["channels_after"] for c in shrink["chains"]} == after
    assert small.conv1.out_channels == 4 and small.bn1.num_features == 4 and small.conv2.in_channels == 4
    assert small.fc.in_features == after["conv2"] * 16  # flatten: each conv2 channel owns 4*4 columns
    assert small.out.in_features == 16
    assert model.conv1.weight.shape[0] == 8  # the original stays a valid (masked) model
    assert sum(p.numel() for p in small.parameters()) == shrink["params_after"]


def test_channel_shrink_skips_residual_and_shared_outputs_with_reasons(h):
    model = h.make(h.ResidualCNN)
    comp, small = h.prune(
        model,
        steps=4,
        pattern="1xchannel",
        pruning_op_types=["Conv"],
        target_sparsity=0.5,
        end_step=2,
        pruning_scope="local",
    )
    shrink = comp.summary()["shrink"]
    reasons = {s["op"]: s["reason"] for s in shrink["skipped"]}
    assert "residual add" in reasons["conv2"]
    assert "2 users" in reasons["stem"]
    assert [c["producer"] for c in shrink["chains"]] == ["conv1"]
    x = h.batches(model, 1, seed=3)[0][0]
    assert torch.allclose(_outputs(small, x), _outputs(model, x), atol=1e-5)
    assert small.conv1.out_channels == 4 and small.conv2.in_channels == 4 and small.conv2.out_channels == 8


def test_untraceable_model_reports_why_it_was_not_shrunk(h):
    class Branchy(h.MLP):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
                x = x * 1
            return super().forward(x)

    model = h.make(Branchy)
    comp, out = h.prune(model, steps=3, pattern="1xchannel", target_sparsity=0.5, pruning_scope="local")
    assert out is model
    shrink = comp.summary()["shrink"]
    assert not shrink["applied"] and "torch.fx cannot trace" in shrink["reason"]
    assert comp.summary()["target_met"]
