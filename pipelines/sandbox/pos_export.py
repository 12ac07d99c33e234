"""The pop-up shop till's sales export: one CSV per location and business day.

A till (Square, Lightspeed, Shopify POS...) exports its day's sales as a flat file with one row per
sold line; the shop drops those files into ``data/landing/pos/`` where the dlt filesystem source
picks them up. ``export_pos`` writes that export from the sandbox world:

- file name ``pos_<location>_<YYYY-MM-DD>.csv``: ``<location>`` is the location id (the Shopify
  location the pop-up stock lives in), the date is the business day in the store's local time;
- columns ``transaction_id, timestamp, location, line_no, sku, quantity, gross, discount, net,
  customer_email, customer_phone``; ``timestamp`` is ISO 8601 in the store's local time with its
  offset, to the second (``2026-06-30T14:00:01-04:00``); money columns are decimal strings
  (``12.30``); email and phone are exactly as typed at the till, blank when not given;
- rows are ordered by time, transaction and line; the header is always present; UTF-8, CRLF line
  ends as the csv module writes them.

Rerunnable: a file whose content is unchanged is left alone (same bytes, same mtime); new days are
added and a day whose sales changed (the last, partial day before ``advance``) is replaced
atomically. The current, still open business day is exported too, so that the files always hold
every sale of the world.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import polars as pl

from pipelines.sandbox.world import World

COLUMNS = (
    "transaction_id",
    "timestamp",
    "location",
    "line_no",
    "sku",
    "quantity",
    "gross",
    "discount",
    "net",
    "customer_email",
    "customer_phone",
)
DEFAULT_TIME_ZONE = "America/New_York"  # the pop-up trades 10:00-18:00 US Eastern
CITY_TIME_ZONES = {
    "brooklyn": "America/New_York",
    "new york": "America/New_York",
    "boston": "America/New_York",
    "chicago": "America/Chicago",
    "austin": "America/Chicago",
    "denver": "America/Denver",
    "phoenix": "America/Phoenix",
    "reno": "America/Los_Angeles",
    "los angeles": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
}


def time_zone(city: str | None) -> str:
    """The IANA time zone a store in ``city`` keeps its till in."""
    return CITY_TIME_ZONES.get((city or "").strip().lower(), DEFAULT_TIME_ZONE)


def _decimal(column: str) -> pl.Expr:
    cents = pl.col(column)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (cents.abs() // 100).cast(pl.String)
    frac = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str([sign, whole, pl.lit("."), frac])


def sales_rows(world: World) -> pl.DataFrame:
    """Every till line with its export columns plus ``day`` (the store-local business day)."""
    transactions = world.table("pos_transactions")
    lines = world.table("pos_lines")
    locations = world.table("locations").select("location_id", "city")
    joined = lines.join(transactions, on="transaction_id", how="inner").join(
        locations, on="location_id", how="left"
    )
    parts = []
    for (city,), group in joined.group_by(["city"], maintain_order=True):
        local = pl.col("occurred_at").dt.convert_time_zone(time_zone(city))
        parts.append(
            group.with_columns(
                local.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("timestamp"),
                local.dt.date().alias("day"),
            ).with_columns(pl.col("occurred_at").dt.replace_time_zone(None))
        )
    if not parts:
        return pl.DataFrame(schema={**{c: pl.String for c in COLUMNS}, "day": pl.Date})
    return (
        pl.concat(parts)
        .sort("occurred_at", "transaction_id", "line_no")
        .select(
            "transaction_id",
            "timestamp",
            pl.col("location_id").cast(pl.String).alias("location"),
            pl.col("line_no").cast(pl.String),
            "sku",
            pl.col("quantity").cast(pl.String),
            _decimal("gross_cents").alias("gross"),
            _decimal("discount_cents").alias("discount"),
            _decimal("net_cents").alias("net"),
            pl.col("email").fill_null("").alias("customer_email"),
            pl.col("phone").fill_null("").alias("customer_phone"),
            "day",
        )
    )


def _csv_bytes(rows: pl.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows.select(COLUMNS).iter_rows())
    return buffer.getvalue().encode("utf-8")


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.exists() and path.read_bytes() == content:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return True


def export_pos(sandbox_root: Path, landing_dir: Path) -> list[Path]:
    """Write the till's daily CSVs for the world under ``sandbox_root``; return the files written.

    Files already there with the same content are not rewritten and not returned.
    """
    rows = sales_rows(World(sandbox_root / "world"))
    landing_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (location, day), group in rows.group_by(["location", "day"], maintain_order=True):
        path = landing_dir / f"pos_{location}_{day.isoformat()}.csv"
        if _write_if_changed(path, _csv_bytes(group)):
            written.append(path)
    return sorted(written)
