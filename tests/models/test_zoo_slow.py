"""Full cold training of every entry: reaches the stated fp32 accuracy, and ONNX scores the same.

Slow (about 6 minutes for the whole zoo on 2 cores); run with ``pytest -m slow tests/models``.
"""

from __future__ import annotations

import pytest

import models

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


@pytest.mark.slow
# Variants (the hard tier) are derived from a parent, not trained: tests/models/test_outliers.py covers them.
@pytest.mark.parametrize("entry", [e for e in models.list_entries() if e.parent is None], ids=lambda e: e.name)
def test_entry_trains_to_its_stated_accuracy(entry):
    result = entry.prepare("torch")
    assert not result.from_cache
    assert result.accuracy_ok, f"{entry.name}: {result.accuracy:.4f} vs {entry.expected_accuracy}±{entry.tolerance}"

    exported = entry.prepare("onnxrt")
    assert exported.accuracy == pytest.approx(result.accuracy, abs=0.002)

    reloaded = entry.prepare("torch", verify=True)
    assert reloaded.from_cache and reloaded.accuracy == pytest.approx(result.accuracy, abs=1e-6)
