"""`cdp transform`: a failing dbt test stops the publish and is named; a good build replaces the
serving copy atomically while readers of the old copy keep reading it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines import config
from pipelines.cli import app
from pipelines.ingest import run_ingest
from pipelines.sandbox.pos_export import export_pos
from pipelines.transform import publish, run_transform

runner = CliRunner()


@pytest.fixture
def pos_warehouse(world_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse with the till's sales only (the quickest source to land)."""
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path / "data"))
    export_pos(world_root, config.paths().pos_landing)
    [run] = run_ingest(["pos"])
    assert run.status == "succeeded", run.error
    return config.paths().warehouse


def test_transform_failing_test_stops_the_publish_and_names_the_test(pos_warehouse: Path) -> None:
    with duckdb.connect(str(pos_warehouse)) as con:  # a till line exported twice
        con.execute("insert into raw_pos.sales_lines select * from raw_pos.sales_lines limit 1")
    selection = ["--select", "stg_pos__sales_lines", "--select", "stg_shopify__locations"]
    result = runner.invoke(app, ["transform", *selection])
    assert result.exit_code == 2
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert "nothing published" in line and "unique_combination_of_columns" in line
    assert not config.paths().serving.exists()
    with duckdb.connect(str(pos_warehouse), read_only=True) as con:
        (status,) = con.execute("select status from ops.transform_runs").fetchone()  # type: ignore[misc]
    assert status == "failed"


def test_transform_publishes_marts_for_serving(pos_warehouse: Path) -> None:
    with duckdb.connect(str(pos_warehouse)) as con:
        con.execute("create schema marts; create table marts.daily as select 1 as orders")
    result = run_transform(["stg_pos__sales_lines", "stg_shopify__locations"])
    assert result.status == "succeeded" and result.published_tables >= 1
    with duckdb.connect(str(config.paths().serving), read_only=True) as con:
        assert con.execute("select orders from marts.daily").fetchall() == [(1,)]
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "sales_lines" not in tables  # only the marts are served


def test_publish_replaces_the_serving_copy_under_an_open_reader(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.kpi as select 1 as version")
    publish(warehouse, serving)
    reader = duckdb.connect(str(serving), read_only=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create or replace table marts.kpi as select 2 as version")
    publish(warehouse, serving)
    assert reader.execute("select version from marts.kpi").fetchall() == [(1,)]
    reader.close()
    with duckdb.connect(str(serving), read_only=True) as fresh:
        assert fresh.execute("select version from marts.kpi").fetchall() == [(2,)]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
