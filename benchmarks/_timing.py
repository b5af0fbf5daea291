"""Shared timing helpers: best-of-repeats wall time and a machine description."""

from __future__ import annotations

import os
import platform
import time

import jax

__all__ = ["best_time", "machine", "table"]


def best_time(fn, *, repeats: int = 5, number: int = 1) -> float:
    """Best (minimum) seconds per call of ``fn`` over ``repeats`` rounds of ``number``
    calls; JAX results are blocked on so the time includes the device work."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            out = fn()
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def machine() -> str:
    dev = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{dev.platform.upper()} {getattr(dev, 'device_kind', '')}; host: {cpu}, "
            f"{os.cpu_count()} cores; jax {jax.__version__}")


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
