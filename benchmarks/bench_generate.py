"""Generation of the simulated retailer: seconds and peak memory per scale.

Baseline: writing the same number of rows (random int64 columns, same column count per table)
to Parquet with polars, in a fresh interpreter too: the cost of just producing that much data.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.harness import Measurement, median, run_child

GENERATE = """
from pathlib import Path
from pipelines.sandbox.generate import generate_world
generate_world(Path({root!r}), scale={scale!r}, seed={seed})
"""

BASELINE = """
import json
from pathlib import Path
import numpy as np, polars as pl
from pipelines.sandbox.schema import WORLD
rows = json.loads(Path({meta!r}).read_text())["rows"]
rng = np.random.default_rng(0)
out = Path({out!r}); out.mkdir(parents=True, exist_ok=True)
for table, n in rows.items():
    if table not in WORLD:
        continue
    cols = {{c: rng.integers(0, 1 << 40, n) for c in WORLD[table]}}
    pl.DataFrame(cols).write_parquet(out / f"{{table}}.parquet")
"""


def bench_generate(scale: str, repeat: int) -> list[Measurement]:
    """Median generation time and peak RSS at ``scale``, with the Parquet-writing baseline."""
    runs, peaks, base_runs = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        for i in range(repeat):
            root = Path(tmp) / f"run{i}"
            seconds, peak = run_child(GENERATE.format(root=str(root), scale=scale, seed=42))
            runs.append(seconds)
            peaks.append(peak)
            meta = root / "world" / "meta.json"
            base_seconds, _ = run_child(BASELINE.format(meta=str(meta), out=str(root / "base")))
            base_runs.append(base_seconds)
        rows = sum(json.loads(meta.read_text())["rows"].values())
    return [
        Measurement(
            name=f"generate world {scale} ({rows:,} rows)",
            seconds=median(runs),
            runs=runs,
            peak_rss_mb=max(peaks),
            items=rows,
            baseline_seconds=median(base_runs),
        )
    ]
