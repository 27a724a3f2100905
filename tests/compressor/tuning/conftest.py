"""Fixtures for the tuning engine tests: digits data, a normal and a fragile numpy MLP, the numpy backend,
and a ``tune`` helper that runs the Tuner in a fresh ``tmp_path`` workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:  # tiny matmuls gain nothing from BLAS threads, and on a busy machine (pytest -n auto) they crawl
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    pass

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import digits_models as dm  # noqa: E402
import numpy_backend as nb  # noqa: E402
import tuning_helpers  # noqa: E402
from tuning_helpers import make_conf  # noqa: E402

# Plain-name imports through sys.path: make sure another test folder's helper did not shadow ours.
for _module in (dm, nb, tuning_helpers):
    if Path(_module.__file__).resolve().parent != HERE:
        raise ImportError(f"{_module.__name__} resolved to {_module.__file__}, not the tuning tests' helper")

from compressor.tuning import Tuner  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    return dm.load()


@pytest.fixture(scope="session")
def mlp(digits):
    return dm.train_mlp(digits)


@pytest.fixture(scope="session")
def fragile(mlp, digits):
    return dm.make_fragile(mlp, digits)


@pytest.fixture
def backend():
    # Modeled latency: deterministic, and int8 layers are cheaper (numpy's simulated int8 is not).
    return nb.NumpyBackend(latency_model=nb.modeled_latency())


@pytest.fixture(scope="session")
def calib(digits):
    return dm.calibration_batches(digits)


@pytest.fixture
def tune(backend, calib, digits, tmp_path):
    """``tune(model, conf=None, workspace=None, eval_func=None, **conf_kwargs) -> TuningResult``."""

    def run(model, conf=None, *, workspace=None, eval_func=None, resume=True, tuner_backend=None, **conf_kwargs):
        conf = conf or make_conf(**conf_kwargs)
        eval_func = eval_func or (lambda m: dm.accuracy(m, digits))
        tuner = Tuner(
            tuner_backend or backend,
            model,
            conf,
            calib,
            eval_func,
            workspace=workspace or tmp_path / "ws",
            resume=resume,
        )
        return tuner.run()

    return run
