"""Timing helpers: median of several runs, peak memory of a child process, ratio to a baseline.

These machines are shared and noisy, so every figure is the median of ``repeat`` runs and is also
reported as a ratio to a baseline measured in the same session.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Measurement:
    name: str
    seconds: float  # median wall time
    runs: list[float]
    peak_rss_mb: float | None = None
    items: int | None = None  # records processed per run, for a rate
    baseline_seconds: float | None = None

    @property
    def rate(self) -> float | None:
        return self.items / self.seconds if self.items and self.seconds else None

    @property
    def ratio(self) -> float | None:
        """Seconds relative to the baseline (lower is better; 1.0 = as fast as the baseline)."""
        if self.baseline_seconds:
            return self.seconds / self.baseline_seconds
        return None


def time_call(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return runs


def run_child(code: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run Python ``code`` in a fresh interpreter: (wall seconds, peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark child failed: {code[:80]}...")
    return seconds, usage.ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def format_table(rows: list[Measurement]) -> str:
    """A Markdown table of the measurements."""
    lines = [
        "| benchmark | median s | runs | rate (items/s) | peak RSS MB | baseline s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        lines.append(
            f"| {m.name} | {m.seconds:.2f} | {len(m.runs)} | "
            f"{f'{m.rate:,.0f}' if m.rate else ''} | "
            f"{f'{m.peak_rss_mb:,.0f}' if m.peak_rss_mb else ''} | "
            f"{f'{m.baseline_seconds:.2f}' if m.baseline_seconds else ''} | "
            f"{f'{m.ratio:.2f}' if m.ratio else ''} |"
        )
    return "\n".join(lines)
