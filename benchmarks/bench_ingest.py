"""Ingestion: rows/s per source, full load from the sandbox into a fresh warehouse.

Each source runs as `cdp ingest --source X --sandbox URL` in its own process against the sandbox
(rate limits off) in another process. Ceiling: DuckDB's own ``read_json`` of the same vendor's
main list pages, saved to disk during a walk (the cost of just landing that JSON in DuckDB).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import requests

from benchmarks.bench_sandbox import WALKS, _free_port, _process, _time_walk
from benchmarks.harness import Measurement, median

# source -> the sandbox walk whose pages are its ceiling
CEILINGS = {
    "shopify": "shopify orders graphql (first 250)",
    "amazon": "amazon orders (100)",
    "hubspot": "hubspot contacts (limit 100)",
    "klaviyo": "klaviyo events (page[size] 1000)",
    "shipstation": "shipstation shipments (pageSize 500)",
}
SOURCES = ("shopify", "amazon", "pos", "hubspot", "klaviyo", "shipstation", "easypost")


def _cdp() -> str:
    return str(Path(sys.executable).parent / "cdp")


def _ingest_once(source: str, url: str, data_dir: Path, world: Path) -> tuple[float, int]:
    """Seconds and rows of one full load of ``source`` into a fresh data dir."""
    env = {**os.environ, "CDP_DATA_DIR": str(data_dir)}
    if source == "pos":
        subprocess.run(
            [_cdp(), "sandbox", "export-pos"],
            env={**env, "CDP_DATA_DIR": str(world)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        env["SOURCES__POS__LANDING_DIR"] = str(world / "landing" / "pos")
    started = time.perf_counter()
    subprocess.run(
        [_cdp(), "ingest", "--source", source, "--sandbox", url],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (rows,) = con.execute("select sum(rows_loaded) from ops.pipeline_runs").fetchone()  # type: ignore[misc]
    return seconds, int(rows)


def _ceiling(walk_name: str, url: str, folder: Path, repeat: int) -> tuple[float, int]:
    """Median seconds for DuckDB to read the saved pages' JSON into a table, and the pages' size."""
    folder.mkdir()
    _time_walk(WALKS[walk_name], url, save=folder)
    pattern = str(folder / "*.json").replace("'", "''")
    runs = []
    for _ in range(repeat):
        with duckdb.connect() as con:
            started = time.perf_counter()
            con.execute(f"create table pages as select * from read_json('{pattern}')")
            runs.append(time.perf_counter() - started)
    return median(runs), sum(p.stat().st_size for p in folder.iterdir())


def bench_ingest(scale: str, repeat: int) -> list[Measurement]:
    """Full-load rows/s per source, with the read_json ceiling where a list endpoint dominates."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        world = Path(tmp) / "world"
        env = {"CDP_DATA_DIR": str(world)}
        subprocess.run(
            [_cdp(), "sandbox", "generate", "--scale", scale],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = _free_port()
        serve = [_cdp(), "sandbox", "serve", "--rate-limits", "off", "--port", str(port)]
        with _process(serve, port, env) as url:
            requests.get(f"{url}/_sandbox/health", timeout=30)
            for source in SOURCES:
                runs, rows = [], 0
                for i in range(repeat):
                    seconds, rows = _ingest_once(source, url, Path(tmp) / f"{source}{i}", world)
                    runs.append(seconds)
                ceiling = None
                if source in CEILINGS:
                    ceiling, _ = _ceiling(
                        CEILINGS[source], url, Path(tmp) / f"pages-{source}", repeat
                    )
                results.append(
                    Measurement(
                        name=f"ingest {source} full load, {rows:,} rows",
                        seconds=median(runs),
                        runs=runs,
                        items=rows,
                        baseline_seconds=ceiling,
                    )
                )
    return results
