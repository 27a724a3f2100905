"""The one did-you-mean helper: what it suggests and how a hint reads."""

from __future__ import annotations

from compressor.errors import did_you_mean, did_you_mean_hint


def test_did_you_mean_prefers_a_case_only_difference_then_the_closest_spelling():
    assert did_you_mean("qdq", ["QDQ", "QOperator"]) == "QDQ"
    assert did_you_mean("statc", ["static", "dynamic", "auto"]) == "static"
    assert did_you_mean("STATC", ("static", "dynamic")) == "static"
    assert did_you_mean(1, [1, 2]) is None


def test_did_you_mean_returns_none_when_nothing_is_close_enough():
    assert did_you_mean("zzz", ["static", "dynamic"]) is None
    assert did_you_mean("mse", ["mse_v2", "basic"], cutoff=0.9) is None
    assert did_you_mean("mse", ["mse_v2", "basic"], cutoff=0.5) == "mse_v2"


def test_hint_is_ready_to_append_to_a_message():
    assert did_you_mean_hint("fc", ["fc1", "conv"]) == " (did you mean 'fc1'?)"
    assert did_you_mean_hint("zzz", ["fc1", "conv"]) == ""
