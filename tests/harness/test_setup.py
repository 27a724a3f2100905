"""`harness setup`: installs the Debian packages the project needs, or says exactly how to."""

from __future__ import annotations

from harness import setup_cli
from harness.cli import main as harness_main


def _fake(monkeypatch, present: set[str], root: bool, installs: list | None = None):
    monkeypatch.setattr(setup_cli.Requirement, "present", lambda self: self.name in present)
    monkeypatch.setattr(setup_cli, "can_install", lambda: root)

    def apt(packages):
        installs.append(packages)
        present.update(r.name for r in setup_cli.requirements() if r.debian in packages)
        return 0

    monkeypatch.setattr(setup_cli, "apt_install", apt)


def test_requirements_cover_the_debian_datasets_and_numactl():
    names = {(r.name, r.debian) for r in setup_cli.requirements()}
    assert {
        ("numactl", "numactl"),
        ("fashion-mnist", "dataset-fashion-mnist"),
        ("wordnet-nouns10", "wordnet-base"),
    } <= names


def test_nothing_missing_is_a_quiet_success(monkeypatch, capsys):
    _fake(monkeypatch, {r.name for r in setup_cli.requirements()}, root=False)
    assert harness_main(["setup"]) == 0
    assert "everything is present" in capsys.readouterr().out


def test_without_root_it_prints_the_exact_command_and_fails(monkeypatch, capsys):
    _fake(monkeypatch, {"numactl"}, root=False)
    assert harness_main(["setup"]) == 1
    captured = capsys.readouterr()
    assert "missing: wordnet-nouns10 (Debian package wordnet-base" in captured.out
    assert "apt-get update && apt-get install -y dataset-fashion-mnist wordnet-base" in captured.err


def test_as_root_it_installs_what_is_missing(monkeypatch, capsys):
    installs: list = []
    _fake(monkeypatch, {"fashion-mnist"}, root=True, installs=installs)
    assert harness_main(["setup"]) == 0
    assert installs == [["numactl", "wordnet-base"]]
    assert "installed numactl wordnet-base" in capsys.readouterr().out
    assert harness_main(["setup", "--check"]) == 0  # now everything is there


def test_check_only_reports(monkeypatch):
    installs: list = []
    _fake(monkeypatch, set(), root=True, installs=installs)
    assert harness_main(["setup", "--check"]) == 1 and installs == []


def test_browser_adds_chromium_for_the_slow_set(monkeypatch, capsys):
    assert "chromium" not in {r.name for r in setup_cli.requirements()}
    assert ("chromium", "chromium") in {(r.name, r.debian) for r in setup_cli.requirements(browser=True)}
    _fake(monkeypatch, {r.name for r in setup_cli.requirements()}, root=False)
    assert harness_main(["setup", "--browser"]) == 1
    assert "apt-get install -y chromium" in capsys.readouterr().err
