"""`cdp transform`: build the dbt project in-process, then publish the marts for serving.

The dashboard never opens the warehouse the pipeline writes (DuckDB allows one writer and no
readers beside it). After a successful build the marts are copied into a new DuckDB file that
replaces ``serving.duckdb`` atomically (``os.replace``): open readers keep the old file, new
ones see the new one. A failing dbt model or test stops the publish.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines import config, ops
from pipelines.errors import UserError

DBT_PROJECT = config.PROJECT_ROOT / "dbt_project"
PUBLISHED_SCHEMAS = ("marts",)


@dataclass
class TransformResult:
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # succeeded | failed
    nodes: dict[str, int] = field(default_factory=dict)  # status -> count
    failures: list[str] = field(default_factory=list)  # "test not_null_orders_order_id: 3 rows"
    published_tables: int = 0
    dbt_seconds: float = 0.0
    publish_seconds: float = 0.0


class TransformFailed(UserError):
    """dbt reported failing models or tests; nothing was published."""


def dbt_environment() -> dict[str, str]:
    """The environment dbt needs: the warehouse path and quiet, offline defaults."""
    return {
        "CDP_WAREHOUSE": str(config.paths().warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(args: list[str]) -> tuple[bool, list[str], dict[str, int]]:
    """Run a dbt command in-process: (success, failure lines, node counts by status)."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    target = config.paths().root / "dbt"
    argv = [
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(target / "target"),
        "--log-path",
        str(target / "logs"),
        "--quiet",
    ]
    result = dbtRunner().invoke(argv)
    _release_warehouse()
    failures: list[str] = []
    counts: dict[str, int] = {}
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status)
        counts[status] = counts.get(status, 0) + 1
        if status in ("error", "fail", "runtime error"):
            node = node_result.node
            detail = (node_result.message or "").splitlines()[0] if node_result.message else ""
            failures.append(f"{node.resource_type} {node.name}: {detail}".strip())
    if not result.success and not failures:
        failures.append(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log'}")
    return result.success, failures, counts


def _release_warehouse() -> None:
    """Close dbt-duckdb's handle on the warehouse, which it keeps open for the whole process.

    Until it is closed, this process cannot open the file with other settings (publishing,
    recording the run) and no other process can open it at all.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def publish(warehouse: Path, serving: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> int:
    """Copy ``schemas`` of the warehouse into a new file that replaces ``serving`` atomically.

    The new file is attached to a connection to the warehouse and filled from it.
    """
    tmp = serving.with_name(f".{serving.name}.{uuid.uuid4().hex[:8]}.tmp")
    tables = 0
    try:
        with duckdb.connect(str(warehouse)) as con:
            quoted = str(tmp).replace("'", "''")  # ATTACH takes no parameters
            con.execute(f"attach '{quoted}' as publish_target")
            for schema in schemas:
                rows = con.execute(
                    "select table_name from duckdb_tables() "
                    "where database_name = current_database() and schema_name = ? order by 1",
                    [schema],
                ).fetchall()
                con.execute(f'create schema if not exists publish_target."{schema}"')
                for (table,) in rows:
                    name = f'"{schema}"."{table}"'
                    con.execute(f"create table publish_target.{name} as select * from {name}")
                    tables += 1
            con.execute("detach publish_target")
        os.replace(tmp, serving)
    finally:
        tmp.unlink(missing_ok=True)
    return tables


def run_transform(select: list[str] | None = None) -> TransformResult:
    """``dbt build`` (optionally ``--select``), then publish; recorded in ``ops.transform_runs``."""
    paths = config.paths()
    if not paths.warehouse.exists():
        raise UserError(f"no warehouse at {paths.warehouse}: run `cdp ingest` first")
    result = TransformResult(run_id=uuid.uuid4().hex[:12], started_at=datetime.now(UTC))
    started = time.perf_counter()
    # With a selection, run only the tests whose every parent is selected (not those that reach
    # into models this build does not touch).
    selection = ["--select", *select, "--indirect-selection", "cautious"] if select else []
    # Unit tests check the models' SQL on fixed rows, not the data: the same answer every run,
    # so they run with the test suite (tests/dbt) and not in every build (a sixth of its time).
    args = ["build", "--exclude-resource-type", "unit_test", *selection]
    success, result.failures, result.nodes = run_dbt(args)
    result.dbt_seconds = time.perf_counter() - started
    if success:
        started = time.perf_counter()
        result.published_tables = publish(paths.warehouse, paths.serving)
        result.publish_seconds = time.perf_counter() - started
    result.status = "succeeded" if success else "failed"
    result.finished_at = datetime.now(UTC)
    ops.record_transform_run(result)
    if not success:
        shown = "; ".join(result.failures[:3])
        more = f" (+{len(result.failures) - 3} more)" if len(result.failures) > 3 else ""
        raise TransformFailed(f"dbt build failed, nothing published: {shown}{more}")
    return result
