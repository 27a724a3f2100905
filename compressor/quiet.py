"""Frameworks' own chatter, kept off the user's stderr while compressor drives them.

``quiet_frameworks()`` wraps compressor's calls *into* torch and ONNX Runtime (quantize, calibrate,
ONNX export, save/load, a compiled model's first forward per input shape), never the user's own code
such as ``eval_func``, and changes nothing for the process outside those calls. Inside:

- Python warnings raised from the frameworks' files (or from ours, where a framework warns about our
  call with ``stacklevel``), and every ``DeprecationWarning``/``FutureWarning``, are logged at DEBUG
  on ``compressor.frameworks``; any other warning is re-issued unchanged to the user's filters.
- ONNX Runtime's quantization tools log to the *root* logger (``logging.warning(...)``); those records
  go to DEBUG too. Such module-level calls also run ``logging.basicConfig()`` in a process whose root
  logger has no handler, after which every library's log records print on stderr, so a handler-less
  root gets a stand-in for the duration of the call that prints what Python's last-resort handler
  would have printed (compressor's own warnings still show).
- the framework loggers in ``QUIET_LOGGERS`` (torch's export/ONNX exporter notes such as "torchvision
  is not installed") are raised to ERROR for the duration.

ONNX Runtime's C++ log belongs to each session: ``quiet_session_options`` sets ERROR severity on
sessions compressor creates. With DEBUG enabled on ``compressor.frameworks`` (for example
``logging.basicConfig(level=logging.DEBUG)``) nothing is raised or dropped: the debug log shows it all.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("compressor.frameworks")

FRAMEWORK_PACKAGES = ("torch", "torchao", "torchvision", "onnx", "onnxruntime", "onnxscript", "onnx_ir")
QUIET_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
QUIET_LOGGERS = ("torch.export", "torch.onnx", "onnxruntime", "onnxscript")
ORT_ERROR_SEVERITY = 3  # ORT's levels: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_REISSUED: dict[Any, Any] = {}  # the warnings registry of re-issued warnings: once per location, as Python does


def _noisy_dirs() -> tuple[str, ...]:
    dirs = [_OWN_DIR]
    for name in FRAMEWORK_PACKAGES:
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(dirs)


def _from_frameworks(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_noisy_dirs())


class _FrameworkRootRecords(logging.Filter):
    """Drops (to DEBUG) the root-logger records that frameworks' files emit."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _from_frameworks(record.pathname):
            return True
        log.debug("%s (%s:%d)", record.getMessage(), record.pathname, record.lineno)
        return False


class _LastResort(logging.Handler):
    """Stands in for an empty root handler list: emits what ``logging.lastResort`` would have."""

    def emit(self, record: logging.LogRecord) -> None:
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


def _route(caught: warnings.WarningMessage) -> None:
    if issubclass(caught.category, QUIET_CATEGORIES) or _from_frameworks(caught.filename):
        log.debug("%s: %s (%s:%s)", caught.category.__name__, caught.message, caught.filename, caught.lineno)
    else:
        warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno, registry=_REISSUED)


@contextmanager
def quiet_frameworks() -> Iterator[None]:
    """Inside: framework warnings and log notes go to DEBUG (see the module docstring). Also a decorator."""
    root = logging.getLogger()
    guard = _LastResort() if not root.handlers else None
    if guard is not None:
        root.addHandler(guard)
    records = _FrameworkRootRecords()
    root.addFilter(records)
    raised = {}
    if not log.isEnabledFor(logging.DEBUG):
        for name in QUIET_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.ERROR:
                raised[logger] = logger.level
                logger.setLevel(logging.ERROR)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for logger, level in raised.items():
            logger.setLevel(level)
        root.removeFilter(records)
        if guard is not None:
            root.removeHandler(guard)
        for item in caught:
            _route(item)


def quiet_session_options(options: Any) -> Any:
    """``options`` (an ``ort.SessionOptions``) with C++ log severity ERROR, unless DEBUG is on."""
    if not log.isEnabledFor(logging.DEBUG):
        options.log_severity_level = ORT_ERROR_SEVERITY
    return options
