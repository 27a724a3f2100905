"""compressor.pinning: cores, cpu lists, the kernel's Cpus_allowed_list, the method (never silent)."""

from __future__ import annotations

import logging
import shutil

import pytest

from compressor import pinning
from compressor.errors import ConfigError


def test_cpu_lists_round_trip():
    assert pinning.parse_cpu_list("0-2,5") == [0, 1, 2, 5]
    assert pinning.parse_cpu_list(" 3\n") == [3]
    assert pinning.format_cpu_list([0, 1, 5]) == "0,1,5"
    assert pinning.parse_cpu_list(pinning.format_cpu_list([4, 7])) == [4, 7]


def test_cpus_allowed_reads_the_kernel_status(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nCpus_allowed_list:\t0-1,4\nMems_allowed:\t1\n")
    assert pinning.cpus_allowed_list(status) == "0-1,4"
    assert pinning.cpus_allowed(status) == [0, 1, 4]
    missing = tmp_path / "absent"
    assert pinning.cpus_allowed(missing) == pinning.available_cpus()
    assert set(pinning.cpus_allowed()) <= set(range(4096))


def test_slots_are_disjoint_and_shrink_to_fit(caplog):
    cpus = [0, 1, 2, 3, 4]
    assert pinning.slots(2, 2, cpus) == [(0, 1), (2, 3)]
    with caplog.at_level(logging.WARNING, logger="compressor.pinning"):
        assert pinning.slots(4, 2, cpus) == [(0, 1), (2, 3)]
    assert "running 2 at a time" in caplog.text
    assert pinning.slots(3, 9, cpus) == [(0, 1, 2, 3, 4)]


def test_plan_cores(monkeypatch):
    monkeypatch.setattr(pinning, "available_cpus", lambda: [0, 1])
    assert pinning.plan_cores(1, 2) == [[0], [1]]
    assert pinning.plan_cores(1, 3, allow_oversubscription=True) == [[0], [1], [0]]
    with pytest.raises(ConfigError, match="more cores requested than exist"):
        pinning.plan_cores(2, 2)


def test_argv_prefix():
    assert pinning.argv_prefix("sched_setaffinity", [1]) == pinning.argv_prefix("none", [1]) == []
    prefix = pinning.Pinning((2, 3), "numactl").argv_prefix
    assert prefix[0].endswith("numactl") and prefix[1:] == ["--physcpubind=2,3", "--"]


def test_bad_method_is_a_value_error_with_a_suggestion():
    with pytest.raises(ValueError, match="did you mean 'numactl'"):
        pinning.method("numactrl")
    assert pinning.method("none") == "none" and pinning.method("sched_setaffinity") == "sched_setaffinity"


def test_without_numactl_the_fallback_is_loud(monkeypatch, caplog):
    real_which = shutil.which
    monkeypatch.setattr(pinning.shutil, "which", lambda name, *a, **k: None if name == "numactl" else real_which(name))
    with caplog.at_level(logging.WARNING, logger="compressor.pinning"):
        assert pinning.pinning_method() == ("sched_setaffinity", "numactl not found on PATH")
    assert "FALLBACK" in caplog.text
    with pytest.raises(ValueError, match="requested but numactl not found"):
        pinning.method("numactl")


@pytest.mark.skipif(shutil.which("numactl") is None, reason="numactl not installed")
def test_numactl_probe_runs_once(monkeypatch):
    pinning._probe_numactl.cache_clear()
    first = pinning.numactl_problem()
    monkeypatch.setattr(pinning.subprocess, "run", lambda *a, **k: pytest.fail("probed twice"))
    assert pinning.numactl_problem() == first
