"""Ingestion of the whole shop as `cdp ingest` runs it: every source, several at once.

- Full load: `cdp ingest` (default workers) of a fresh world into a fresh data dir. Baseline: the
  same full load with ``--workers 1`` (one source after another), measured once in the same run.
- Incremental: a copy of that loaded data dir, then `cdp ingest` after `cdp sandbox advance
  --days 1` (one simulated day of changes). Baseline: the same run against the unchanged world
  (nothing new to load: the fixed cost of starting, asking and committing).

The sandboxes run in their own processes with rate limits off, and are warmed by one untimed run
first (their per-world caches are the vendors' concern, not ours). Setup (generate, advance,
copies) is not timed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.bench_ingest import _cdp
from benchmarks.bench_sandbox import _free_port, _process
from benchmarks.harness import Measurement, median


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)


def _ingest(url: str, data_dir: Path, landing: Path, workers: int | None = None) -> float:
    """Seconds of one `cdp ingest` of every source; fails loudly if any source failed."""
    command = [_cdp(), "ingest", "--sandbox", url]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = {"CDP_DATA_DIR": str(data_dir), "SOURCES__POS__LANDING_DIR": str(landing)}
    started = time.perf_counter()
    _run(command, env)
    return time.perf_counter() - started


def _rows(data_dir: Path) -> int:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(
            "select sum(rows_loaded) from ops.pipeline_runs "
            "where run_id = (select max(run_id) from ops.pipeline_runs)"
        ).fetchone()
    return int(row[0]) if row and row[0] else 0


def bench_ingest_all(scale: str, repeat: int) -> list[Measurement]:
    """Full and incremental `cdp ingest` of every source, each with its baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-all-") as tmp:
        root = Path(tmp)
        world, advanced = root / "world", root / "advanced"
        _run([_cdp(), "sandbox", "generate", "--scale", scale], {"CDP_DATA_DIR": str(world)})
        _run([_cdp(), "sandbox", "export-pos"], {"CDP_DATA_DIR": str(world)})
        landing = world / "landing" / "pos"
        shutil.copytree(world, advanced, symlinks=True)
        _run([_cdp(), "sandbox", "advance", "--days", "1"], {"CDP_DATA_DIR": str(advanced)})
        serve = [_cdp(), "sandbox", "serve", "--rate-limits", "off", "--port"]
        port, advanced_port = _free_port(), _free_port()
        with (
            _process([*serve, str(port)], port, {"CDP_DATA_DIR": str(world)}) as url,
            _process(
                [*serve, str(advanced_port)], advanced_port, {"CDP_DATA_DIR": str(advanced)}
            ) as advanced_url,
        ):
            loaded = root / "loaded"
            _ingest(url, loaded, landing)  # warms the sandbox; the start of every incremental
            full = [_ingest(url, root / f"full{i}", landing) for i in range(repeat)]
            sequential = _ingest(url, root / "sequential", landing, workers=1)
            full_rows = _rows(loaded)
            incremental, unchanged = [], []
            incremental_rows = 0
            for i in range(repeat + 1):  # the first incremental warms the advanced sandbox
                for runs, server in ((incremental, advanced_url), (unchanged, url)):
                    copy = root / "copy"
                    shutil.copytree(loaded, copy, symlinks=True)
                    seconds = _ingest(server, copy, landing)
                    if i:
                        runs.append(seconds)
                    if server == advanced_url:
                        incremental_rows = _rows(copy)
                    shutil.rmtree(copy)
    return [
        Measurement(
            name=f"ingest all sources, full load, {full_rows:,} rows (baseline: --workers 1)",
            seconds=median(full),
            runs=full,
            items=full_rows,
            baseline_seconds=sequential,
        ),
        Measurement(
            name=(
                f"ingest all sources, incremental after 1 day, {incremental_rows:,} rows "
                "(baseline: nothing changed)"
            ),
            seconds=median(incremental),
            runs=incremental,
            items=incremental_rows,
            baseline_seconds=median(unchanged),
        ),
    ]
