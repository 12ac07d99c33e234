"""POS source: the till's CSV exports in the landing folder → raw_pos, checked against the world."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines import config
from pipelines.ingest import SourceRun, run_ingest
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.pos_export import COLUMNS, export_pos
from pipelines.sources.pos.helpers import parse_export
from tests.pipelines.conftest import query

SALES = """
    select transaction_id, line_no, sku, quantity, gross, discount, net, timestamp, location,
           customer_email, customer_phone
    from raw_pos.sales_lines
"""
HEADER = ",".join(COLUMNS)
GOOD = "T-1,2026-06-30T14:00:01-04:00,7,{line},SKU-{line},2,20.00,1.50,18.50,Ann@X.com , 555 0101"


@pytest.fixture
def landing(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default landing folder of this test's data dir (no setting overrides it)."""
    monkeypatch.delenv("SOURCES__POS__LANDING_DIR", raising=False)
    monkeypatch.delenv("SOURCES__POS__FILE_GLOB", raising=False)
    folder = config.paths().pos_landing
    folder.mkdir(parents=True)
    return folder


def ingest_pos() -> SourceRun:
    """Run `cdp ingest pos` and return its outcome."""
    (run,) = run_ingest(["pos"])
    return run


def world_sales(sandbox_root: Path) -> set[tuple[Any, ...]]:
    """Every till line of the world as the warehouse should hold it (the independent truth)."""
    world = sandbox_root / "world"
    lines = pl.read_parquet(world / "pos_lines.parquet")
    transactions = pl.read_parquet(world / "pos_transactions.parquet")

    def typed(value: str | None) -> str | None:
        return (value or "").strip() or None

    return {
        (
            row["transaction_id"],
            row["line_no"],
            row["sku"],
            row["quantity"],
            Decimal(row["gross_cents"]).scaleb(-2),
            Decimal(row["discount_cents"]).scaleb(-2),
            Decimal(row["net_cents"]).scaleb(-2),
            row["occurred_at"],
            str(row["location_id"]),
            typed(row["email"]),
            typed(row["phone"]),
        )
        for row in lines.join(transactions, on="transaction_id").iter_rows(named=True)
    }


def write_export(path: Path, *rows: str, mtime: float | None = None) -> Path:
    """A hand-made till file (CRLF, like the csv module writes), optionally with a set mtime."""
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_pos_loads_every_world_line_exactly_once(sandbox_root: Path, landing: Path) -> None:
    export_pos(sandbox_root, landing)

    run = ingest_pos()

    assert run.status == "succeeded", run.error
    expected = world_sales(sandbox_root)
    assert len(expected) > 100
    assert run.rows == {"sales_lines": len(expected)}
    assert set(query(SALES)) == expected
    (count, keys, files) = query(
        "select count(*), count(distinct (transaction_id, line_no)), count(distinct _source_file)"
        " from raw_pos.sales_lines"
    )[0]
    assert count == keys == len(expected)
    assert files == len(list(landing.glob("pos_*.csv")))
    world_ids = set(
        pl.read_parquet(sandbox_root / "world" / "pos_transactions.parquet")["transaction_id"]
    )
    assert {
        row[0] for row in query("select distinct transaction_id from raw_pos.sales_lines")
    } == world_ids


def test_pos_rerun_without_new_files_loads_nothing(sandbox_root: Path, landing: Path) -> None:
    export_pos(sandbox_root, landing)
    first = ingest_pos()
    loads_before = query("select count(*) from raw_pos._dlt_loads")[0][0]

    second = ingest_pos()

    assert first.rows["sales_lines"] > 0
    assert second.status == "succeeded", second.error
    assert second.rows == {}
    assert query("select count(*) from raw_pos._dlt_loads")[0][0] == loads_before
    assert query("select count(*) from raw_pos.sales_lines")[0][0] == first.rows["sales_lines"]


def test_pos_after_advance_reads_only_new_and_rewritten_files(
    sandbox_root: Path, landing: Path
) -> None:
    export_pos(sandbox_root, landing)
    # one day was exported while still open: the file held only its first sale so far
    open_day = max(landing.glob("pos_*.csv"), key=lambda path: len(path.read_bytes()))
    full_day = open_day.read_bytes().splitlines(keepends=True)
    assert len(full_day) >= 3, "the busiest day needs two lines or more to be partial"
    open_day.write_bytes(b"".join(full_day[:2]))
    first = ingest_pos()
    first_load = query("select max(_dlt_load_id) from raw_pos.sales_lines")[0][0]

    advance_world(sandbox_root, 14)
    written = export_pos(sandbox_root, landing)
    second = ingest_pos()

    assert first.status == second.status == "succeeded", (first.error, second.error)
    assert open_day in written and len(written) >= 2  # the finished day and new days
    lines_written = sum(len(path.read_bytes().splitlines()) - 1 for path in written)
    assert second.rows == {"sales_lines": lines_written}
    assert set(query(SALES)) == world_sales(sandbox_root)
    assert query("select count(*) from raw_pos.sales_lines")[0][0] == len(world_sales(sandbox_root))
    reread = query(
        "select distinct _source_file from raw_pos.sales_lines where _dlt_load_id > ?",
        [first_load],
    )
    assert {row[0] for row in reread} == {path.name for path in written}
    refreshed = run_ingest(["pos"], full_refresh=True)[0]
    assert refreshed.rows == {"sales_lines": len(world_sales(sandbox_root))}
    assert set(query(SALES)) == world_sales(sandbox_root)


def test_pos_rewritten_file_replaces_the_lines_it_held(landing: Path) -> None:
    path = landing / "pos_7_2026-06-30.csv"
    write_export(path, HEADER, *(GOOD.format(line=n) for n in (1, 2, 3)), mtime=1_780_000_000)
    assert ingest_pos().rows == {"sales_lines": 3}

    changed = GOOD.format(line=2).replace("2,20.00,1.50,18.50", "1,10.00,0.00,10.00")
    write_export(path, HEADER, GOOD.format(line=1), changed, mtime=1_780_000_100)
    run = ingest_pos()

    assert run.rows == {"sales_lines": 2}
    rows = query("select line_no, quantity, net from raw_pos.sales_lines order by line_no")
    assert rows == [(1, 2, Decimal("18.50")), (2, 1, Decimal("10.00"))]


def test_pos_malformed_lines_are_quarantined_and_the_rest_loads(
    landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_export(
        landing / "pos_7_2026-06-30.csv",
        HEADER,
        GOOD.format(line=1),
        GOOD.format(line=2).replace(",2,20.00,", ",two,20.00,"),
        GOOD.format(line=3),
        GOOD.format(line=4).replace("2026-06-30T14:00:01-04:00", "30/06/2026 14:00"),
        GOOD.format(line=5),
    )

    with caplog.at_level(logging.WARNING):
        run = ingest_pos()

    assert run.status == "succeeded", run.error
    assert run.rows == {"sales_lines": 3, "rejects": 2}
    assert [r[0] for r in query("select line_no from raw_pos.sales_lines order by 1")] == [1, 3, 5]
    rejects = query(
        "select _source_file, _source_line, raw_line, reason from raw_pos.rejects order by 2"
    )
    assert [(r[0], r[1]) for r in rejects] == [
        ("pos_7_2026-06-30.csv", 3),
        ("pos_7_2026-06-30.csv", 5),
    ]
    assert rejects[0][2] == GOOD.format(line=2).replace(",2,20.00,", ",two,20.00,")
    assert "quantity" in rejects[0][3] and "'two'" in rejects[0][3]
    assert "timestamp" in rejects[1][3] and "ISO 8601" in rejects[1][3]
    assert "2 line(s) of pos_7_2026-06-30.csv rejected" in caplog.text


def test_pos_file_without_required_columns_is_rejected_whole(
    landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_export(landing / "pos_7_2026-06-30.csv", HEADER, GOOD.format(line=1))
    bad_header = HEADER.replace(",net,", ",net_amount,").replace("sku,", "")
    write_export(landing / "pos_7_2026-07-01.csv", bad_header, GOOD.format(line=1))

    with caplog.at_level(logging.WARNING):
        run = ingest_pos()

    assert run.status == "succeeded", run.error
    assert run.rows == {"sales_lines": 1, "rejects": 1}
    assert query("select _source_file from raw_pos.sales_lines") == [("pos_7_2026-06-30.csv",)]
    ((file, line, raw, reason),) = query(
        "select _source_file, _source_line, raw_line, reason from raw_pos.rejects"
    )
    assert (file, line, raw) == ("pos_7_2026-07-01.csv", 1, bad_header)
    assert "sku, net" in reason and "file not loaded" in reason
    assert "pos_7_2026-07-01.csv rejected" in caplog.text


def test_pos_new_column_in_the_export_is_loaded(landing: Path) -> None:
    write_export(
        landing / "pos_7_2026-06-30.csv", HEADER + ",Cashier", GOOD.format(line=1) + ", Bea "
    )

    run = ingest_pos()

    assert run.status == "succeeded", run.error
    assert query("select sku, cashier from raw_pos.sales_lines") == [("SKU-1", "Bea")]


@pytest.mark.parametrize("configured", [True, False])
def test_pos_missing_landing_folder_fails_naming_the_setting(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    missing = data_dir / "nowhere" / "pos"
    if configured:
        monkeypatch.setenv("SOURCES__POS__LANDING_DIR", str(missing))
    else:
        monkeypatch.delenv("SOURCES__POS__LANDING_DIR", raising=False)
        missing = config.paths().pos_landing

    run = ingest_pos()

    assert run.status == "failed"
    assert run.error is not None and "\n" not in run.error
    assert "SOURCES__POS__LANDING_DIR" in run.error
    assert str(missing) in run.error and "does not exist" in run.error


MODIFIED = datetime(2026, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (GOOD.format(line=1).replace("T-1,", ",", 1), "transaction_id is missing"),
        (GOOD.format(line=1).replace("SKU-1", ""), "sku is missing"),
        (GOOD.format(line=1).replace("-04:00", ""), "has no UTC offset"),
        (GOOD.format(line=1).replace("20.00", "20.005"), "gross '20.005' is not an amount"),
        (GOOD.format(line=1).replace("18.50", "18.00"), "net 18.00 is not gross 20.00 minus"),
        (GOOD.format(line=1) + ",extra", "wrong number of fields: 12 instead of 11"),
        (GOOD.format(line=1).replace(",1,SKU", ",1.0,SKU"), "line_no '1.0' is not a whole number"),
        (GOOD.format(line=1).replace("1.50", "1e2"), "discount '1e2' is not an amount"),
        (GOOD.format(line=1).replace("20.00", "1" * 17), "is not an amount (at most 16 digits"),
    ],
)
def test_pos_parse_rejects_a_malformed_line_with_its_reason(line: str, reason: str) -> None:
    content = f"{HEADER}\r\n{GOOD.format(line=9)}\r\n{line}\r\n".encode()

    parsed = parse_export(content, "pos_7.csv", MODIFIED)

    assert [row["line_no"] for row in parsed.lines] == [9]
    ((reject),) = parsed.rejects
    assert (reject["_source_line"], reject["raw_line"]) == (3, line)
    assert reason in reject["reason"]


def test_pos_parse_types_values_and_keeps_identifiers_as_typed() -> None:
    content = f"\ufeff{HEADER}\n{GOOD.format(line=1).replace('20.00', '20')}\n\n".encode()

    parsed = parse_export(content, "pos_7.csv", MODIFIED)

    assert parsed.rejects == []
    ((line),) = parsed.lines
    assert line["timestamp"] == datetime(2026, 6, 30, 18, 0, 1, tzinfo=UTC)
    assert (line["quantity"], line["gross"], line["net"]) == (2, Decimal("20.00"), Decimal("18.50"))
    assert str(line["gross"]) == "20.00"
    assert (line["customer_email"], line["customer_phone"]) == ("Ann@X.com", "555 0101")
    assert (line["_source_file"], line["_source_line"]) == ("pos_7.csv", 2)


def test_pos_parse_matches_header_names_loosely_and_rejects_a_non_utf8_file() -> None:
    header = "Transaction ID,Timestamp,Location,Line No,SKU,Quantity,Gross,Discount,Net"
    row = "T-1,2026-06-30T14:00:01-04:00,7,1,S-1,1,5.00,0.00,5.00"

    parsed = parse_export(f"{header},\n{row},\n".encode(), "pos_7.csv", MODIFIED)
    latin1 = parse_export(
        f"{HEADER}\n{GOOD.format(line=1)}\n".replace("Ann", "Zoë").encode("cp1252"),
        "pos_8.csv",
        MODIFIED,
    )

    ((line),) = parsed.lines
    assert (line["transaction_id"], line["sku"], line["customer_email"]) == ("T-1", "S-1", None)
    assert line["column_10"] is None  # the unnamed column a trailing comma makes
    assert latin1.lines == [] and latin1.file_rejected
    ((reject),) = latin1.rejects
    assert reject["_source_line"] == 2 and "not UTF-8" in reject["reason"]
