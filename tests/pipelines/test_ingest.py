"""`cdp ingest` across sources: every source lands, failures stay isolated and are explained in
one line, runs are recorded in ops.pipeline_runs, and a killed run resumes to the same state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import config
from pipelines.cli import app
from pipelines.ingest import SOURCES, run_ingest, sandbox_environment
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.pos_export import export_pos
from pipelines.sandbox.server import SandboxHTTPServer
from tests.pipelines.conftest import snapshot

runner = CliRunner()


def test_ingest_rejects_an_unknown_source_in_one_line() -> None:
    result = runner.invoke(app, ["ingest", "--source", "etsy"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown source 'etsy'" in lines[0] and "shopify" in lines[0]


def test_ingest_all_sources_from_the_sandbox(
    sandbox_root: Path, sandbox_server: SandboxHTTPServer, use_sandbox: Callable[..., None]
) -> None:
    export_pos(sandbox_root, config.paths().pos_landing)
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 0, result.output
    assert "Ingestion summary" in result.output

    world = sandbox_root / "world"
    with duckdb.connect(str(config.paths().warehouse), read_only=True) as con:
        runs = con.execute(
            "select source, status, rows_loaded from ops.pipeline_runs order by source"
        ).fetchall()
        assert {source for source, _, _ in runs} == set(SOURCES)
        assert all(status == "succeeded" and rows > 0 for _, status, rows in runs), runs
        landed = {
            "raw_shopify.orders": "shopify_orders",
            "raw_amazon.orders": "amazon_orders",
            "raw_hubspot.contacts": "hubspot_contacts",
            "raw_shipstation.shipments": "shipstation_shipments",
            "raw_easypost.trackers": "easypost_trackers",
        }
        for table, world_table in landed.items():
            expected = pl.read_parquet(world / f"{world_table}.parquet")
            if world_table == "hubspot_contacts":
                expected = expected.filter(pl.col("archived_at").is_null())
            (count,) = con.execute(f"select count(*) from {table}").fetchone()  # type: ignore[misc]
            assert count == expected.height, table


def test_ingest_runs_sources_at_once_and_lands_each_whole(
    sandbox_root: Path, use_sandbox: Callable[..., None]
) -> None:
    sources = ["amazon", "hubspot", "shipstation", "easypost"]
    runs = run_ingest(sources, workers=3)

    assert [run.source for run in runs] == sources
    assert all(run.status == "succeeded" for run in runs), [run.error for run in runs]
    first, second = sorted(runs, key=lambda run: run.started_at)[:2]
    assert first.finished_at and second.started_at < first.finished_at  # they overlapped
    world = sandbox_root / "world"
    expected = {
        "raw_amazon.orders": pl.read_parquet(world / "amazon_orders.parquet").height,
        "raw_shipstation.shipments": pl.read_parquet(
            world / "shipstation_shipments.parquet"
        ).height,
        "raw_easypost.trackers": pl.read_parquet(world / "easypost_trackers.parquet").height,
        "raw_hubspot.contacts": pl.read_parquet(world / "hubspot_contacts.parquet")
        .filter(pl.col("archived_at").is_null())
        .height,
    }
    with duckdb.connect(str(config.paths().warehouse), read_only=True) as con:
        for table, count in expected.items():
            assert con.execute(f"select count(*) from {table}").fetchone() == (count,), table
        recorded = con.execute("select source, status from ops.pipeline_runs").fetchall()
    assert sorted(recorded) == sorted((source, "succeeded") for source in sources)


def test_ingest_one_failing_source_does_not_stop_the_others(
    sandbox_root: Path, use_sandbox: Callable[..., None]
) -> None:
    secret = "pat-na1-wrong-token-0123456789"
    use_sandbox(HUBSPOT__ACCESS_TOKEN=secret)
    result = runner.invoke(app, ["ingest", "--source", "hubspot", "--source", "shipstation"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: hubspot:") and "SOURCES__HUBSPOT__ACCESS_TOKEN" in errors[0]
    assert secret not in result.output and "Traceback" not in result.output
    with duckdb.connect(str(config.paths().warehouse), read_only=True) as con:
        status = dict(con.execute("select source, status from ops.pipeline_runs").fetchall())
        shipments = con.execute("select count(*) from raw_shipstation.shipments").fetchone()
    assert status == {"hubspot": "failed", "shipstation": "succeeded"}
    assert shipments and shipments[0] > 0


def test_ingest_missing_credentials_name_the_setting(
    sandbox_root: Path, use_sandbox: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCES__SHIPSTATION__API_SECRET")
    result = runner.invoke(app, ["ingest", "--source", "shipstation"])
    assert result.exit_code == 1
    assert "SOURCES__SHIPSTATION__API_SECRET" in result.stderr
    assert SANDBOX_CREDENTIALS["shipstation"]["api_key"] not in result.output


def test_ingest_killed_mid_run_resumes_to_the_same_state(
    sandbox_root: Path,
    sandbox_server: SandboxHTTPServer,
    tmp_path: Path,
) -> None:
    sources = ["shopify", "hubspot", "klaviyo", "shipstation"]
    env = {
        **os.environ,
        **sandbox_environment(sandbox_server.url, SOURCES.values()),
        "CDP_DATA_DIR": str(config.paths().root),
    }
    command = [sys.executable, "-m", "pipelines.cli", "ingest"]
    for source in sources:
        command += ["--source", source]

    killed = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(sandbox_server.log.entries()) < 25:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    after_kill = snapshot()

    clean_env = {**env, "CDP_DATA_DIR": str(tmp_path / "clean")}
    clean = subprocess.run(command, env=clean_env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    uninterrupted = snapshot(warehouse=tmp_path / "clean" / "warehouse.duckdb")

    assert after_kill.keys() == uninterrupted.keys()
    for table, rows in uninterrupted.items():
        assert after_kill[table] == rows, table
