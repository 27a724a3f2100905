"""Test-only techniques that misbehave on purpose (enabled by HARNESS_DEBUG_TECHNIQUES=1)."""

from __future__ import annotations

import os
import time

from . import Compressed, register_technique


@register_technique("debug_crash", debug=True)
def debug_crash(ctx) -> Compressed:
    os._exit(int(ctx.technique.options.get("exit_code", 3)))  # a segfault-like death: no row, no cleanup


@register_technique("debug_sleep", debug=True)
def debug_sleep(ctx) -> Compressed:
    seconds = os.environ.get("HARNESS_DEBUG_SLEEP_S", ctx.technique.options.get("seconds", 3600))
    (ctx.workspace / "sleeping").write_text(str(os.getpid()))  # tests wait for this, not for a guessed delay
    time.sleep(float(seconds))
    return Compressed(model=ctx.fp32_model)


@register_technique("debug_fail", debug=True)
def debug_fail(ctx) -> Compressed:
    raise SystemError(ctx.technique.options.get("message", "debug_fail raised on purpose"))
