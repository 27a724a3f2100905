"""Every PTQ and mixed-precision backend takes ``threads=``; the old framework-specific names still work."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from compressor.algorithms.mixed_precision import mixed_precision_backend  # noqa: E402
from compressor.algorithms.ptq import ptq_backend  # noqa: E402
from compressor.errors import ConfigError  # noqa: E402

ALIASES = {"torch": "num_threads", "onnxrt": "intra_op_num_threads"}
FACTORIES = {"ptq": ptq_backend, "mixed_precision": mixed_precision_backend}


@pytest.mark.parametrize("technique", sorted(FACTORIES))
@pytest.mark.parametrize("framework", sorted(ALIASES))
def test_threads_is_uniform_and_aliases_still_work(technique, framework):
    make = FACTORIES[technique]
    assert make(framework).threads == 1
    assert make(framework, threads=3).threads == 3
    assert make(framework, **{ALIASES[framework]: 2}).threads == 2
    with pytest.raises(ConfigError, match="threads"):
        make(framework, threads=0)
    with pytest.raises(ConfigError, match=f"both threads and {ALIASES[framework]}"):
        make(framework, threads=2, **{ALIASES[framework]: 4})
