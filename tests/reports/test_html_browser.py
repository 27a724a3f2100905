"""report.html in a real headless browser (Debian's ``chromium``): it renders, every image loads, every table
fits or scrolls inside its own container, and the page logs no console error. A full-page screenshot is
saved to the test's tmp dir.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-terminated JSON
on fds 3 and 4), so no websocket client or other package is needed. Without chromium the tests skip,
unless ``HARNESS_REQUIRE_BROWSER=1`` (CI) makes them fail instead.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.results import write_frame
from reports.render import write_report

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# What the page looks like to a script: images, tables and their scroll containers, horizontal overflow.
PROBE = """(() => {
  const imgs = [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));
  const tables = [...document.querySelectorAll('table')].map(t => {
    const box = t.parentElement;
    return {cls: t.className, rows: t.rows.length, width: t.getBoundingClientRect().width,
            boxWidth: box.clientWidth, overflowX: getComputedStyle(box).overflowX};
  });
  const html = document.documentElement;
  return {title: document.title, headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
          imgs, tables, pageWidth: html.scrollWidth, viewport: window.innerWidth, height: html.scrollHeight};
})()"""


class DevTools:
    """A minimal DevTools-protocol client on chromium's debugging pipe, attached to its first page."""

    def __init__(self, binary: str, workdir: Path, timeout: float = 60.0):
        self.timeout, self.events, self._next_id, self._buffer = timeout, [], 0, b""
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 4, so that the shell's `3<&N 4>&M` below cannot overwrite one of them with the other.
        to_browser_r, from_browser_w = (_high_fd(fd) for fd in (to_browser_r, from_browser_w))
        args = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={workdir / 'profile'}", "--remote-debugging-pipe", "about:blank",
        ]  # fmt: skip
        # The pipe protocol reads fd 3 and writes fd 4: let bash (dash takes one-digit fds only) put them there.
        redirect = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.log = workdir / "chromium.log"  # a file, not a pipe: chromium logs a lot and must never block on it
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", redirect, binary, *args],
                pass_fds=(to_browser_r, from_browser_w),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.session = self.call("Target.attachToTarget", targetId=self._first_page(), flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def _first_page(self) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:  # the about:blank page may still be on its way
            pages = [t["targetId"] for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if pages:
                return pages[0]
            time.sleep(0.1)
        raise TimeoutError("chromium opened no page")

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        seen = len(self.events)
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self.events)
            self.events.append(self._read())

    def open(self, url: str, width: int, height: int = 900) -> dict:
        """Load ``url`` at a ``width`` px wide viewport; the probe's view of the page once it has loaded."""
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        result = self.call("Runtime.evaluate", session=True, expression=PROBE, returnByValue=True)
        return result["result"]["value"]

    def screenshot(self, path: Path, width: int, height: int) -> Path:
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})  # fmt: skip
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def console_errors(self) -> list[str]:
        """Uncaught exceptions, console.error/assert calls and error log entries (failed loads) so far."""
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}")
        return errors

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):  # the pipe may close before the reply
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError(f"chromium sent nothing for {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"chromium closed the debugging pipe (exit {self.process.poll()}): {tail}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


@pytest.fixture
def chromium() -> str:
    """Path of Debian's chromium; skip without it, fail instead when ``HARNESS_REQUIRE_BROWSER=1``."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        reason = f"no headless browser on PATH (looked for {', '.join(BROWSERS)}; Debian: apt-get install chromium)"
        if os.environ.get("HARNESS_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"HARNESS_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(f"{reason} (set HARNESS_REQUIRE_BROWSER=1 to fail instead)")
    return found


@pytest.fixture
def browser(chromium, tmp_path):
    devtools = DevTools(chromium, tmp_path)
    yield devtools
    devtools.close()


@pytest.fixture
def report_html(results_frame, tmp_path) -> Path:
    """report.html of two seed-002 models (conftest), written to and read back from a results directory."""
    results = tmp_path / "results"
    write_frame(results, results_frame)
    return write_report(results, tmp_path / "report").html


def assert_fits_or_scrolls(page: dict) -> None:
    """The page never scrolls sideways; a table wider than its box sits in a box that scrolls."""
    assert page["pageWidth"] <= page["viewport"], page
    for table in page["tables"]:
        fits = table["width"] <= table["boxWidth"] + 1
        assert fits or table["overflowX"] in ("auto", "scroll"), table


def test_report_renders_with_every_image_loaded_and_tables_fitting_or_scrolling(browser, report_html, tmp_path):
    page = browser.open(report_html.as_uri(), width=1280)

    assert page["title"] == "Benchmark report"
    assert page["headings"][:3] == ["resnet50_v2 (mxnet)", "bert_mini (torch)", "Strategy summary"]
    classes = [t["cls"] for t in page["tables"]]
    assert classes == ["results", "results", "strategy-aggregate", "strategy-jobs"]
    assert all(t["rows"] > 1 for t in page["tables"]), page["tables"]
    assert len(page["imgs"]) == 4
    for img in page["imgs"]:
        assert img["alt"] and img["complete"] and img["width"] > 0, img
    assert_fits_or_scrolls(page)
    assert browser.console_errors() == []

    shot = browser.screenshot(tmp_path / "report.png", width=1280, height=page["height"])
    assert shot.stat().st_size > 0 and shot.read_bytes().startswith(b"\x89PNG")

    narrow = browser.open(report_html.as_uri(), width=480)  # a phone: the wide tables must scroll in place
    assert_fits_or_scrolls(narrow)
    assert any(t["width"] > t["boxWidth"] for t in narrow["tables"]), "at 480 px some table should need to scroll"
    assert browser.console_errors() == []


def test_the_probe_catches_a_broken_image_and_a_console_error(browser, tmp_path):
    """The checks above can fail: a missing image and a script error on a page are both reported."""
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body><h2>x</h2>"
        '<img src="missing.png" alt="gone"><table><tr><td>1</td></tr></table>'
        "<script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    page = browser.open(page_file.as_uri(), width=800)
    assert page["imgs"] == [{"alt": "gone", "complete": True, "width": 0}]
    errors = browser.console_errors()
    assert any("boom" in e for e in errors), errors
    assert any("undefinedFunction" in e for e in errors), errors
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in errors), errors
