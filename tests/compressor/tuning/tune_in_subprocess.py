"""Run one tuning in its own process (killed with SIGKILL by test_resume.py).

Usage: python tune_in_subprocess.py REPO WORKSPACE MODEL.npz CONF.json EVAL_SLEEP_S
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

repo, workspace, model_path, conf_path, sleep_s = sys.argv[1:6]
sys.path[:0] = [repo, str(Path(__file__).resolve().parent)]

from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)

import digits_models as dm  # noqa: E402
import numpy_backend as nb  # noqa: E402

from compressor.config import PostTrainingQuantConfig  # noqa: E402
from compressor.tuning import Tuner  # noqa: E402

data = dm.load()


def slow_eval(model):
    time.sleep(float(sleep_s))
    return dm.accuracy(model, data)


conf = PostTrainingQuantConfig.from_json(Path(conf_path).read_text())
backend = nb.NumpyBackend(latency_model=nb.modeled_latency())
Tuner(backend, dm.load_mlp(model_path), conf, dm.calibration_batches(data), slow_eval, workspace=workspace).run()
