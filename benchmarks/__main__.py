"""`python -m benchmarks [--scale S|M|L] [--repeat N] [--only NAME ...]`: run, write a table."""

from __future__ import annotations

import argparse
import datetime as dt
import platform
from pathlib import Path

from benchmarks.bench_generate import bench_generate
from benchmarks.bench_ingest import bench_ingest
from benchmarks.bench_ingest_all import bench_ingest_all
from benchmarks.bench_sandbox import bench_sandbox
from benchmarks.bench_transform import bench_transform
from benchmarks.harness import Measurement, format_table

BENCHMARKS = {
    "generate": bench_generate,
    "sandbox": bench_sandbox,
    "ingest": bench_ingest,
    "ingest-all": bench_ingest_all,
    "transform": bench_transform,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", default="S", choices=["S", "M", "L"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per benchmark (median)")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="a subset")
    args = parser.parse_args()

    results: list[Measurement] = []
    for name in args.only or BENCHMARKS:
        print(f"running {name} at scale {args.scale} ({args.repeat} runs)...", flush=True)
        results.extend(BENCHMARKS[name](args.scale, args.repeat))
    table = format_table(results)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"## {stamp}, scale {args.scale}, {platform.machine()}, {args.repeat} runs\n\n"
    print("\n" + table)
    out = Path(__file__).parent / "results" / f"scale-{args.scale}.md"
    with out.open("a") as handle:
        handle.write(header + table + "\n\n")
    print(f"\nappended to {out}")


if __name__ == "__main__":
    main()
