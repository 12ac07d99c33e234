"""The pop-up till's CSV export: every sale exactly once, local timestamps, rerunnable."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.pos_export import COLUMNS, export_pos

NAME = re.compile(r"^pos_(\d+)_(\d{4}-\d{2}-\d{2})\.csv$")
NEW_YORK = ZoneInfo("America/New_York")


def read_exports(landing: Path) -> pl.DataFrame:
    """All exported rows as strings, with the file each came from."""
    records = []
    for path in sorted(landing.glob("pos_*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == COLUMNS
            records += [{**row, "file": path.name} for row in reader]
    return pl.DataFrame(records, schema=dict.fromkeys((*COLUMNS, "file"), pl.String))


def world_lines(root: Path) -> pl.DataFrame:
    lines = pl.read_parquet(root / "world" / "pos_lines.parquet")
    transactions = pl.read_parquet(root / "world" / "pos_transactions.parquet")
    return lines.join(transactions, on="transaction_id", how="inner")


def cents(column: str) -> pl.Expr:
    return (pl.col(column).cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64)


def test_pos_export_covers_every_line_once(world_root: Path, tmp_path: Path) -> None:
    written = export_pos(world_root, tmp_path)
    rows = read_exports(tmp_path)
    expected = world_lines(world_root)
    assert {p.name for p in written} == set(rows["file"])
    keys = rows.select("transaction_id", pl.col("line_no").cast(pl.Int64))
    assert keys.height == keys.unique().height == expected.height > 0
    assert keys.sort(pl.all()).equals(expected.select("transaction_id", "line_no").sort(pl.all()))
    totals = rows.select(cents("gross").sum(), cents("discount").sum(), cents("net").sum()).row(0)
    assert totals == expected.select(
        pl.col("gross_cents").sum(), pl.col("discount_cents").sum(), pl.col("net_cents").sum()
    ).row(0)


def test_pos_export_rows_carry_local_time_and_typed_identifiers(
    world_root: Path, tmp_path: Path
) -> None:
    export_pos(world_root, tmp_path)
    rows = read_exports(tmp_path)
    expected = {
        (r["transaction_id"], str(r["line_no"])): r
        for r in world_lines(world_root).iter_rows(named=True)
    }
    for row in rows.iter_rows(named=True):
        truth = expected[(row["transaction_id"], row["line_no"])]
        stamp = datetime.fromisoformat(row["timestamp"])
        assert stamp.utcoffset() == truth["occurred_at"].astimezone(NEW_YORK).utcoffset()
        assert stamp == truth["occurred_at"].replace(microsecond=0)
        location, day = NAME.match(row["file"]).groups()  # type: ignore[union-attr]
        assert day == stamp.date().isoformat()
        assert location == row["location"] == str(truth["location_id"])
        assert row["customer_email"] == (truth["email"] or "")
        assert row["customer_phone"] == (truth["phone"] or "")
        assert row["sku"] == truth["sku"]
        assert int(row["quantity"]) == truth["quantity"]


def test_pos_export_rerun_leaves_identical_files_untouched(
    world_root: Path, tmp_path: Path
) -> None:
    first = export_pos(world_root, tmp_path)
    stamps = {path: path.stat().st_mtime_ns for path in first}
    assert export_pos(world_root, tmp_path) == []
    assert {path: path.stat().st_mtime_ns for path in first} == stamps


def test_pos_export_adds_new_days_after_advance(fresh_world: Path, tmp_path: Path) -> None:
    before = {p.name for p in export_pos(fresh_world, tmp_path)}
    new_names: set[str] = set()
    for _ in range(14):  # the pop-up opens on some days only: advance until it has sold again
        advance_world(fresh_world, 1)
        new_names |= {p.name for p in export_pos(fresh_world, tmp_path)} - before
        if new_names:
            break
    assert new_names, "the pop-up's new days of sales should land as new files"
    rows = read_exports(tmp_path)
    expected = world_lines(fresh_world)
    keys = rows.select("transaction_id", pl.col("line_no").cast(pl.Int64))
    assert keys.height == keys.unique().height == expected.height
