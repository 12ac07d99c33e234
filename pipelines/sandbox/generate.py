"""Generate the simulated retailer's world (and its ground truth), and move its clock forward.

``generate_world`` simulates one hidden timeline from ``as_of - 730 days`` to ``as_of + 365 days``,
caches it under ``root/timeline/`` and serves its cut at ``as_of``; ``advance_world`` re-cuts the
cached timeline at a later clock. Layout under ``root`` (the sandbox folder)::

    timeline/<table>.parquet, timeline/meta.json   the hidden timeline (private ``_`` columns)
    world/<table>.parquet, world/meta.json         the served world as of the clock
    truth/identity.parquet, truth/summary.json     ground truth (never read by the pipeline)

Every file is written to a temporary name and then moved into place, so a reader never sees a
half-written file. Same seed, scale, people and ``as_of`` give byte-identical files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines.errors import UserError
from pipelines.sandbox import schema
from pipelines.sandbox.sim.context import (
    DEFAULT_AS_OF,
    SCALES,
    Context,
    from_us,
    make_context,
    to_us,
)
from pipelines.sandbox.sim.cut import cut
from pipelines.sandbox.sim.timeline import simulate
from pipelines.sandbox.sim.truth import identity, summarise

__all__ = ["DEFAULT_AS_OF", "SCALES", "WorldError", "WorldInfo", "advance_world", "generate_world"]


class WorldError(UserError):
    """The sandbox world cannot be produced or advanced as asked."""


@dataclass(frozen=True)
class WorldInfo:
    """What was written: where, from which parameters, the clock, and rows per world table."""

    root: Path
    seed: int
    scale: str
    people: int
    start: datetime
    clock: datetime
    horizon: datetime
    rows: dict[str, int]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _write_json(path: Path, payload: dict) -> None:
    _write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def _write_parquet(path: Path, frame: pl.DataFrame | pl.LazyFrame) -> int:
    """Write (or stream) a frame to ``path`` atomically; returns its row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(temporary, compression="zstd", statistics=True)
        rows = pl.scan_parquet(temporary).select(pl.len()).collect().item()
    else:
        frame.write_parquet(temporary, compression="zstd", statistics=True)
        rows = frame.height
    os.replace(temporary, path)
    return rows


def _serve(root: Path, meta: dict, clock: datetime) -> WorldInfo:
    """Cut the cached timeline at the clock and write world/ and truth/."""

    def load(table: str) -> pl.LazyFrame:
        return pl.scan_parquet(root / "timeline" / f"{table}.parquet")

    def read(table: str, columns: list[str]) -> pl.DataFrame:
        return pl.read_parquet(root / "world" / f"{table}.parquet", columns=columns)

    rows: dict[str, int] = {}
    for table, frame in cut(load, clock):
        rows[table] = _write_parquet(root / "world" / f"{table}.parquet", frame)
        del frame
    rows = {table: rows[table] for table in schema.WORLD}
    _write_parquet(root / "truth" / "identity.parquet", identity(read))
    _write_json(
        root / "truth" / "summary.json", summarise(read, clock, meta["seed"], meta["scale"])
    )
    _write_json(root / "world" / "meta.json", {**meta, "clock": _iso(clock), "rows": rows})
    return WorldInfo(
        root=root,
        seed=meta["seed"],
        scale=meta["scale"],
        people=meta["people"],
        start=_parse(meta["start"]),
        clock=clock,
        horizon=_parse(meta["horizon"]),
        rows=rows,
    )


def _meta(ctx: Context) -> dict:
    return {
        "seed": ctx.seed,
        "scale": ctx.scale,
        "people": ctx.people,
        "as_of": ctx.as_of.isoformat(),
        "start": _iso(from_us(ctx.start_us)),
        "horizon": _iso(from_us(ctx.horizon_us)),
    }


def generate_world(
    root: Path,
    *,
    scale: str = "S",
    seed: int = 42,
    as_of: date = DEFAULT_AS_OF,
    people: int | None = None,
) -> WorldInfo:
    """Simulate the timeline, cache it under ``root/timeline`` and serve its cut at ``as_of``."""
    root = Path(root)
    ctx = make_context(scale, seed, as_of, people)
    meta = _meta(ctx)

    def sink(table: str, frame: pl.DataFrame) -> None:
        _write_parquet(root / "timeline" / f"{table}.parquet", frame)

    simulate(ctx, sink)
    _write_json(root / "timeline" / "meta.json", meta)
    return _serve(root, meta, from_us(ctx.clock_us))


def advance_world(root: Path, days: int) -> WorldInfo:
    """Move the served world's clock forward by ``days`` and rewrite world/ and truth/."""
    root = Path(root)
    world_meta = root / "world" / "meta.json"
    timeline_meta = root / "timeline" / "meta.json"
    if not world_meta.exists() or not timeline_meta.exists():
        raise WorldError(
            f"no sandbox world under {root}: generate one first (generate_world or `cdp sandbox`)"
        )
    if days < 0:
        raise WorldError(f"the sandbox clock only moves forward; got days={days}")
    meta = json.loads(timeline_meta.read_text())
    clock = _parse(json.loads(world_meta.read_text())["clock"]) + timedelta(days=days)
    horizon = _parse(meta["horizon"])
    if to_us(clock) > to_us(horizon):
        raise WorldError(
            f"cannot advance the sandbox clock to {_iso(clock)}: the simulated timeline ends at "
            f"{_iso(horizon)}; generate a world with a later as_of instead"
        )
    return _serve(root, meta, clock)
