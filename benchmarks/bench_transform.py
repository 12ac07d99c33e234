"""Transformation: `cdp transform` (dbt build + publish) and identity resolution alone.

Setup (not timed): a raw warehouse holding only the ``raw_*`` schemas dlt writes.
- S and M: ``BENCH_TRANSFORM_WAREHOUSE`` names a prepared warehouse to copy the raw schemas from
  (it is only read); without it a world of the scale is generated, served and ingested.
- L: a real L world takes minutes to generate and hours to ingest, so the L warehouse is the M
  one tiled ten times (``tile_raw``): every person-, order- and event-bearing table is repeated
  with its ids, emails, phones and names made distinct per tile, so the identity graph is ten
  disjoint copies of M's (ten times the records, the same component shapes, no merge across
  tiles) and the marts hold ten times the orders and customers. The catalogue (products,
  variants, locations, stock, Klaviyo lists, metrics, campaigns and flows) is not repeated.
  Blocklisted emails and phones stay as they are in every tile (one junk value shared by ten
  times the records). The L figure therefore measures ten times M's data, not a world with ten
  times M's people, whose shapes (household sizes, orders per person) are the same anyway.

Timed, each on a fresh copy of the raw warehouse, in a fresh process (peak RSS reported):
- ``transform full build``: ``run_transform()``, what ``cdp transform`` runs: dbt build of every
  model, seed and test, then the publish to serving.duckdb.
- ``identity resolution alone``: ``run_transform(select=[identity models])`` after staging and
  seeds were built untimed. Two figures: the dbt build of the identity models and their tests
  (``ops.transform_runs.dbt_seconds``: what resolving identities costs, dbt's start included),
  and the whole child process, which adds the interpreter's start and the publish of the
  identity marts to serving.duckdb (copying 6.2M customer_identities rows takes 8 s at L).
Baseline, measured in the same session: a plain ``create table ... as select *`` of every raw
table into another schema of the same file (one read and one write of all the raw data), so the
ratio says how many such passes the transform costs whatever the machine's load.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.harness import Measurement, median, run_child
from pipelines.sandbox.server import running_sandbox

REPO = Path(__file__).resolve().parent.parent
BLOCKLIST = REPO / "dbt_project" / "seeds" / "identity_blocklist.csv"
IDENTITY_INPUTS = ["path:models/staging", "identity_blocklist"]  # built untimed
IDENTITY_SELECTION = ["path:models/intermediate/identity", "path:models/marts/identity"]
L_TILES = 10  # L people / M people

# Tables that describe the shop, not its customers: one copy in a tiled warehouse.
CATALOGUE_TABLES = {
    ("raw_shopify", "products"),
    ("raw_shopify", "product_variants"),
    ("raw_shopify", "inventory_levels"),
    ("raw_shopify", "locations"),
    ("raw_klaviyo", "campaigns"),
    ("raw_klaviyo", "flows"),
    ("raw_klaviyo", "lists"),
    ("raw_klaviyo", "metrics"),
}
# Columns that end like ids but point into the catalogue (or name a constant account).
CATALOGUE_REFERENCES = {
    "variant__id",
    "product__id",
    "location__id",
    "item__id",
    "inventory_item__id",
    "metric_id",
    "message_id",
    "flow_id",
    "list_id",
    "warehouse_id",
    "advanced_options__store_id",
    "marketplace_id",
    "integration__id",
    "user_id",
    "condition_id",
    "condition_subtype_id",
    "_dlt_load_id",
}
ID_COLUMNS = {
    "id",
    "uuid",
    "external_id",
    "associatedcompanyid",
    "order_key",
    "order_number",
    "order_name",
    "tracking_number",
    "tracking_code",
    "number",
}
NAME_COLUMNS = {"firstname", "lastname", "buyer_info__buyer_name"}


def _cdp() -> str:
    return str(Path(sys.executable).parent / "cdp")


def _column_kind(table: str, column: str, data_type: str) -> str | None:
    """'id', 'email', 'phone' or 'name' for a column a tile must make distinct, else None."""
    if column in CATALOGUE_REFERENCES:
        return None
    if column == "name":  # an order's or checkout's name (#1001) is quoted as an id elsewhere
        return "id" if table in ("orders", "abandoned_checkouts") else "name"
    if column in ID_COLUMNS or column.endswith("_id"):
        return "id"
    if data_type != "VARCHAR":
        return None
    if column == "email" or column.endswith("_email"):
        return "email"
    if column in ("phone", "phone_number") or column.endswith("_phone"):
        return "phone"
    if column in NAME_COLUMNS or column.endswith(("first_name", "last_name", "__name")):
        return "name"
    return None


def _blocked(value_sql: str, kind: str) -> str:
    """SQL true when the normalised value matches the identity blocklist (kept in every tile)."""
    with BLOCKLIST.open() as handle:
        rules = [r for r in csv.DictReader(handle) if r["identifier_type"] in ("*", kind)]
    tests = []
    for rule in rules:
        pattern = rule["pattern"].replace("'", "''")
        operator = "=" if rule["match_type"] == "exact" else "like"
        tests.append(f"{value_sql} {operator} '{pattern}'")
    return "(" + " or ".join(tests) + ")"


def _tiled(column: str, kind: str, data_type: str) -> str:
    """The SQL of ``column`` in tile ``k`` (the original when k = 0)."""
    quoted = f'"{column}"'
    if kind == "id" and data_type in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT"):
        # 10^17 apart: the same number as the text rule gives, so text and integer ids still join
        changed = f"{quoted} + k * 100000000000000000"
    elif kind == "id":
        # trailing digits d -> k || lpad(d, 17): GIDs, order numbers and their digit-only
        # copies (external ids, checkout ids) stay equal to each other; other ids get a suffix
        digits = f"regexp_extract({quoted}, '([0-9]+)$', 1)"
        changed = (
            f"case when {digits} <> '' and length({digits}) <= 17 then "
            f"left({quoted}, length({quoted}) - length({digits})) || k || lpad({digits}, 17, '0') "
            f"else {quoted} || '-t' || k end"
        )
    elif kind == "email":
        normalised = f"lower(trim({quoted}))"
        changed = (
            f"case when {_blocked(normalised, 'email')} then {quoted} "
            f"else regexp_replace({quoted}, '^(\\s*)', '\\1t' || k || 'x') end"
        )
    elif kind == "phone":
        # a different, valid E.164 number per tile: +9<k> then the original's 11 digits
        digits = f"regexp_replace({quoted}, '[^0-9]', '', 'g')"
        e164 = f"(case when length({digits}) = 10 then '1' || {digits} else {digits} end)"
        blocked = _blocked(f"('+' || {e164})", "phone")
        changed = (
            f"case when {blocked} or length({e164}) <> 11 then {quoted} "
            f"else '+9' || k || {e164} end"
        )
    else:
        changed = f"{quoted} || ' T' || k"
    return f"case when k = 0 or {quoted} is null then {quoted} else {changed} end as {quoted}"


def tile_raw(source: Path, target: Path, tiles: int) -> None:
    """Write ``target``: the raw schemas of ``source``, customer data repeated ``tiles`` times."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as source_db (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'source_db' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            con.execute(f'create schema if not exists "{schema}"')
            name = f'"{schema}"."{table}"'
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where database_name = 'source_db' and schema_name = ? and table_name = ? "
                "order by column_index",
                [schema, table],
            ).fetchall()
            if (schema, table) in CATALOGUE_TABLES or table.startswith("_dlt_"):
                con.execute(f"create table {name} as select * from source_db.{name}")
                continue
            select = []
            for column, data_type in columns:
                kind = _column_kind(table, column, data_type)
                select.append(_tiled(column, kind, data_type) if kind else f'"{column}"')
            con.execute(
                f"create table {name} as select {', '.join(select)} "
                f"from source_db.{name} cross join (select range as k from range({tiles})) tiles"
            )


def copy_raw(source: Path, target: Path) -> None:
    """Copy the ``raw_*`` schemas of a warehouse (no dlt staging, models or ops) into ``target``."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as source_db (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'source_db' "
            "and schema_name like 'raw\\_%' escape '\\' and schema_name not like '%\\_staging' "
            "escape '\\' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            name = f'"{schema}"."{table}"'
            con.execute(f'create schema if not exists "{schema}"')
            con.execute(f"create table {name} as select * from source_db.{name}")


def _ingested_world(scale: str, folder: Path) -> Path:
    """Generate a world of ``scale``, serve it and ingest every source: the warehouse's path."""
    env = {
        **os.environ,
        "CDP_DATA_DIR": str(folder),
        "SOURCES__POS__LANDING_DIR": str(folder / "landing" / "pos"),
    }

    def cdp(*args: str) -> None:
        subprocess.run([_cdp(), *args], env=env, check=True, stdout=subprocess.DEVNULL)

    cdp("sandbox", "generate", "--scale", scale)
    cdp("sandbox", "export-pos")
    with running_sandbox(folder / "sandbox", rate_limits="off") as server:
        cdp("ingest", "--sandbox", server.url)
    return folder / "warehouse.duckdb"


def prepare_raw(scale: str, folder: Path) -> Path:
    """The raw warehouse the timed runs copy (see the module docstring)."""
    prepared = os.environ.get("BENCH_TRANSFORM_WAREHOUSE")
    source_scale = "M" if scale == "L" else scale
    source = Path(prepared) if prepared else _ingested_world(source_scale, folder / "world")
    raw = folder / "raw.duckdb"
    if scale == "L":
        copy_raw(source, folder / "raw-m.duckdb")
        tile_raw(folder / "raw-m.duckdb", raw, L_TILES)
    else:
        copy_raw(source, raw)
    return raw


def _raw_rows(raw: Path) -> int:
    with duckdb.connect(str(raw), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        return sum(
            con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]  # type: ignore[index]
            for s, t in tables
        )


def _fresh_data_dir(raw: Path, folder: Path) -> Path:
    """A data dir whose warehouse is a copy of ``raw`` (dbt's target folder is kept)."""
    folder.mkdir(exist_ok=True)
    for name in ("warehouse.duckdb", "serving.duckdb"):
        (folder / name).unlink(missing_ok=True)
    shutil.copyfile(raw, folder / "warehouse.duckdb")
    return folder


def _transform_child(data_dir: Path, select: list[str] | None) -> tuple[float, float]:
    code = (
        "from pipelines import config; config.configure_runtime(); "
        "from pipelines.transform import run_transform; "
        f"run_transform({select!r})"
    )
    return run_child(code, {"CDP_DATA_DIR": str(data_dir)})


def _copy_all_raw(data_dir: Path) -> float:
    """Seconds to CTAS every raw table into another schema of the warehouse (the baseline)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        con.execute("create schema baseline_copy")
        started = time.perf_counter()
        for schema, table in tables:
            copy = f'baseline_copy."{schema}__{table}"'
            con.execute(f'create table {copy} as select * from "{schema}"."{table}"')
        con.execute("checkpoint")
        return time.perf_counter() - started


def _identity_run(data_dir: Path) -> tuple[float, int]:
    """The latest ``cdp transform`` run's dbt build time (without its publish) and the number of
    records ``customer_identities`` holds after it."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (dbt_seconds,) = con.execute(  # type: ignore[misc]
            "select dbt_seconds from ops.transform_runs order by started_at desc limit 1"
        ).fetchone()
        (records,) = con.execute("select count(*) from marts.customer_identities").fetchone()  # type: ignore[misc]
        return float(dbt_seconds), int(records)


def bench_transform(scale: str, repeat: int) -> list[Measurement]:
    """Full transform and identity alone, against a CTAS of the raw data in the same session."""
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as tmp:
        folder = Path(tmp)
        raw = prepare_raw(scale, folder)
        rows = _raw_rows(raw)
        data_dir = folder / "data"
        _transform_child(_fresh_data_dir(raw, data_dir), ["identity_blocklist"])  # parse once

        baseline = median([_copy_all_raw(_fresh_data_dir(raw, data_dir)) for _ in range(repeat)])

        full, full_rss = [], 0.0
        for _ in range(repeat):
            seconds, rss = _transform_child(_fresh_data_dir(raw, data_dir), None)
            full.append(seconds)
            full_rss = max(full_rss, rss)

        identity, identity_dbt, identity_rss, records = [], [], 0.0, 0
        for _ in range(repeat):
            _transform_child(_fresh_data_dir(raw, data_dir), IDENTITY_INPUTS)
            seconds, rss = _transform_child(data_dir, IDENTITY_SELECTION)
            dbt_seconds, records = _identity_run(data_dir)
            identity.append(seconds)
            identity_dbt.append(dbt_seconds)
            identity_rss = max(identity_rss, rss)

    return [
        Measurement(
            name=f"transform full build + publish, {rows:,} raw rows",
            seconds=median(full),
            runs=full,
            peak_rss_mb=full_rss,
            items=rows,
            baseline_seconds=baseline,
        ),
        Measurement(
            name=f"identity resolution alone (dbt build, tests included), {records:,} records",
            seconds=median(identity_dbt),
            runs=identity_dbt,
            items=records,
            baseline_seconds=baseline,
        ),
        Measurement(
            name="identity resolution + publish of its marts, whole process",
            seconds=median(identity),
            runs=identity,
            peak_rss_mb=identity_rss,
            items=records,
            baseline_seconds=baseline,
        ),
    ]
