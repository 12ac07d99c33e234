"""The ``ops`` schema of the warehouse: what the pipeline did (runs, row counts, errors)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import duckdb

from pipelines import config, locks

if TYPE_CHECKING:
    from pipelines.ingest import SourceRun
    from pipelines.transform import TransformResult

PIPELINE_RUNS_DDL = """
create schema if not exists ops;
create table if not exists ops.pipeline_runs (
    run_id varchar not null,          -- one `cdp ingest` invocation
    source varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,          -- succeeded | failed
    rows_loaded bigint,
    rows_per_table json,              -- {"orders": 120, ...}
    new_columns json,                 -- columns that appeared in this run (schema drift)
    error varchar,                    -- one line for the user (plus a traceback for bugs)
    primary key (run_id, source)
);
"""


def connect() -> duckdb.DuckDBPyConnection:
    """A read-write connection to the warehouse (creating the file and folder if needed)."""
    warehouse = config.paths().warehouse
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(warehouse))


def record_pipeline_run(run: SourceRun) -> None:
    """Insert (or replace) one source's run in ``ops.pipeline_runs``."""
    with locks.warehouse(), connect() as con:
        con.execute(PIPELINE_RUNS_DDL)
        con.execute(
            "insert or replace into ops.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                run.source,
                run.started_at,
                run.finished_at,
                run.status,
                run.rows_total,
                json.dumps(run.rows),
                json.dumps(run.new_columns),
                run.error,
            ],
        )


TRANSFORM_RUNS_DDL = """
create schema if not exists ops;
create table if not exists ops.transform_runs (
    run_id varchar primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,          -- succeeded | failed
    nodes json,                       -- dbt node results by status: {"success": 40, "pass": 120}
    failures json,                    -- the failing models and tests, one line each
    published_tables integer,
    dbt_seconds double,
    publish_seconds double
);
"""


def record_transform_run(result: TransformResult) -> None:
    """Insert one `cdp transform` run into ``ops.transform_runs``."""
    with connect() as con:
        con.execute(TRANSFORM_RUNS_DDL)
        con.execute(
            "insert or replace into ops.transform_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                result.run_id,
                result.started_at,
                result.finished_at,
                result.status,
                json.dumps(result.nodes),
                json.dumps(result.failures),
                result.published_tables,
                result.dbt_seconds,
                result.publish_seconds,
            ],
        )
