"""docs/extending.md, done from a test file: a framework is one row per table, a strategy one decorated class.

The "framework" is the numpy MLP of these tests (numpy_backend.py): one row in the backends table, one
row in PTQ's implementations table, and the public ``quantization.fit`` quantizes and tunes it.
"""

from __future__ import annotations

import hashlib
import sys
import types

import digits_models as dm
import numpy as np
import pytest

import compressor
from compressor import backends, quantization
from compressor.algorithms import ptq
from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion
from compressor.errors import UnsupportedFrameworkError
from compressor.tuning import TuneStrategy


def _basics_module() -> types.ModuleType:
    basics = types.ModuleType("toy_numpy_basics")
    basics.load = lambda model: model
    basics.input_count = lambda model: 1
    basics.predict = lambda model, inputs: model(inputs[0])
    basics.runner = lambda model, threads=None: lambda inputs: model(inputs[0])
    basics.fingerprint = lambda model: hashlib.sha256(
        b"".join(np.ascontiguousarray(layer.weight).tobytes() for layer in model.layers)
    ).hexdigest()[:16]
    return basics


@pytest.fixture
def numpy_framework(monkeypatch):
    monkeypatch.setitem(sys.modules, "toy_numpy_basics", _basics_module())
    row = backends.Framework(
        "numpy_mlp", "toy_numpy_basics", "numpy", ("numpy_backend", "MLP"), (), ("a numpy MLP", "a numpy MLP")
    )
    monkeypatch.setitem(backends.FRAMEWORKS, "numpy_mlp", row)
    monkeypatch.setitem(ptq.IMPLEMENTATIONS, "numpy_mlp", "numpy_backend:NumpyBackend")


def test_a_framework_is_one_row_per_table(numpy_framework, mlp, digits, calib, tmp_path):
    assert compressor.framework_of(mlp) == "numpy_mlp"
    assert "numpy_mlp" in compressor.frameworks() and "numpy_mlp" in compressor.supported_frameworks("ptq")
    conf = PostTrainingQuantConfig(
        tuning_criterion=TuningCriterion(strategy="basic", max_trials=5),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=0.02),
    )
    q = quantization.fit(
        mlp, conf, calib_dataloader=calib, eval_func=lambda m: dm.accuracy(m, digits), workspace=tmp_path / "ws"
    )
    assert q.met_criterion and q.q_config["fallback_ops"] == []
    assert dm.accuracy(q.model, digits) == pytest.approx(q.accuracy)
    # A technique without a row for the framework says so, naming the ones it supports.
    with pytest.raises(UnsupportedFrameworkError, match="numpy_mlp.*onnxrt"):
        compressor.mix_precision.fit(mlp, eval_func=lambda m: 1.0, eval_dataloader=calib)


def test_a_strategy_registered_from_user_code_tunes(numpy_framework, fragile, digits, calib, tmp_path):
    proposals = []

    @compressor.register_strategy("toy_last_layer_first")
    class LastLayerFirst(TuneStrategy):
        """Full int8, then keep the last k layers fp32 for k = 1, 2, ..."""

        def propose(self, history):
            ops = self.space.tunable_ops()
            k = len(history)
            if history and history[-1].met or k > len(ops):
                return None
            plan = self.space.default_plan() if k == 0 else self.space.plan(fallback=ops[len(ops) - k :])
            proposals.append(list(plan.fallback_ops))
            return plan

    assert "toy_last_layer_first" in compressor.available_strategies()
    conf = PostTrainingQuantConfig(
        tuning_criterion=TuningCriterion(strategy="toy_last_layer_first", max_trials=10),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01),
    )
    q = quantization.fit(
        fragile, conf, calib_dataloader=calib, eval_func=lambda m: dm.accuracy(m, digits), workspace=tmp_path / "ws"
    )
    recorded = [list(trial.plan.fallback_ops) for trial in q.tuning.trials]
    assert recorded == proposals[: len(recorded)] and recorded[0] == []
    assert len(recorded) >= 2  # the fragile model needs at least one fallback
