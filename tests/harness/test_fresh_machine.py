"""The README's two set-up commands on a fresh machine: a new container from the offline base image with
nothing but Python and `pip install tox` (containers/fresh-machine.sh). Slow (~15 min here: torch and friends
installed twice, the zoo trained, bench-cpu and the test suite run); `tox -e slow` with a Docker daemon."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.docker]
ROOT = Path(__file__).resolve().parents[2]
BASE = "compressor/base:bookworm"


@pytest.fixture(scope="module")
def base_image(docker_image):
    return docker_image(BASE, "harness containers bootstrap-base")


def test_both_readme_commands_pass_on_a_fresh_machine(base_image, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed to clone the project")
    out = tmp_path / "fresh"
    done = subprocess.run(
        ["bash", str(ROOT / "containers" / "fresh-machine.sh"), "--out", str(out), "--image", BASE],
        capture_output=True,
        text=True,
        timeout=3 * 3600,
    )
    summary = json.loads((out / "fresh-machine.json").read_text())
    tails = {name: (out / f"{name}.log").read_text()[-3000:] for name in summary}
    assert done.returncode == 0, (summary, tails)
    assert summary["bench_cpu"]["rc"] == 0 and summary["tests"]["rc"] == 0, tails
    report = (out / "report" / "report.md").read_text()
    assert "minilm_wordnet" in report and "cnn_mnist_outlier2" in report
    assert (out / "report" / "report.html").stat().st_size > 10_000
    # What a user reads: the tests' summary line and the installs `harness setup` did by itself.
    assert " passed" in tails["tests"] and " failed" not in tails["tests"].splitlines()[-1]
    assert "wordnet-base" in (out / "bench_cpu.log").read_text()
