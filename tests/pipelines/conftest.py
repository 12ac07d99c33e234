"""Fixtures for the source tests: a private data dir (warehouse + dlt state) per test, a sandbox
server over a private copy of the small world, and helpers to run `cdp ingest` against it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import config
from pipelines.ingest import SOURCES, SourceRun, run_ingest, sandbox_environment
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CDP_DATA_DIR for this test: its own warehouse and dlt pipelines folder."""
    root = tmp_path / "data"
    monkeypatch.setenv("CDP_DATA_DIR", str(root))
    monkeypatch.setenv("DLT_DATA_DIR", str(root / "dlt"))
    return root


@pytest.fixture
def sandbox_root(world_root: Path, data_dir: Path) -> Path:
    """A private copy of the small world under this test's data dir (safe to advance)."""
    root = config.paths().sandbox
    shutil.copytree(world_root, root, ignore=shutil.ignore_patterns("state"))
    return root


@pytest.fixture
def sandbox_server(sandbox_root: Path) -> Iterator[SandboxHTTPServer]:
    """The sandbox over this test's world: no faults, rate limits off."""
    with running_sandbox(sandbox_root, rate_limits="off") as server:
        yield server


@pytest.fixture
def use_sandbox(
    sandbox_server: SandboxHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., None]:
    """Point every source at a sandbox server (default: this test's) through dlt's env vars;
    keyword overrides replace single settings, e.g. ``use_sandbox(HUBSPOT__ACCESS_TOKEN="bad")``."""

    def point(server: SandboxHTTPServer | None = None, **overrides: str) -> None:
        env = sandbox_environment((server or sandbox_server).url, SOURCES.values())
        env.update({f"SOURCES__{key}": value for key, value in overrides.items()})
        for key, value in env.items():
            monkeypatch.setenv(key, value)

    point()
    return point


@pytest.fixture
def ingest(use_sandbox: Callable[..., None]) -> Callable[..., list[SourceRun]]:
    """Run `cdp ingest` for some sources against the sandbox; returns their outcomes."""

    def run(*names: str, full_refresh: bool = False) -> list[SourceRun]:
        return run_ingest(list(names), full_refresh=full_refresh)

    return run


def query(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run read-only against this test's warehouse."""
    with duckdb.connect(str(config.paths().warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


Snapshot = dict[str, list[tuple[Any, ...]]]
FaultyIngest = Callable[..., tuple[SourceRun, list[dict[str, Any]]]]


def snapshot(schema: str | None = None, warehouse: Path | None = None) -> Snapshot:
    """Every row of every data table of ``schema`` (default: every ``raw_`` schema) of
    ``warehouse`` (default: this test's), without dlt's own columns, sorted: two loads compare
    row for row."""
    path = warehouse or config.paths().warehouse
    found: Snapshot = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where (schema_name = ? or (? is null and schema_name like 'raw\\_%' escape '\\')) "
            "and table_name not like '\\_dlt%' escape '\\' order by 1, 2",
            [schema, schema],
        ).fetchall()
        for schema_name, table in tables:
            columns = con.execute(
                "select column_name from duckdb_columns() where schema_name = ? "
                "and table_name = ? and column_name not like '\\_dlt%' escape '\\' order by 1",
                [schema_name, table],
            ).fetchall()
            select = ", ".join(f'"{name}"' for (name,) in columns)
            rows = con.execute(f'select {select} from "{schema_name}"."{table}"').fetchall()
            found[f"{schema_name}.{table}"] = sorted(rows, key=repr)
    return found


@pytest.fixture
def ingest_with_faults(
    use_sandbox: Callable[..., None],
    sandbox_root: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> FaultyIngest:
    """Run one source into a second data dir (``faulty/``) against a sandbox that injects faults
    (5xx, resets, truncated bodies, slow answers); returns its outcome and the faults served."""

    def run(
        source: str, *, seed: int, rate: float = 0.05
    ) -> tuple[SourceRun, list[dict[str, Any]]]:
        monkeypatch.setenv("CDP_DATA_DIR", str(data_dir / "faulty"))
        with running_sandbox(
            sandbox_root, faults=rate, fault_seed=seed, slow_seconds=0.05
        ) as server:
            use_sandbox(server)
            [outcome] = run_ingest([source])
            faults = [entry for entry in server.log.entries(source) if entry["fault"]]
        return outcome, faults

    return run


def assert_failed_naming_setting(run: SourceRun, setting: str, secret: str) -> None:
    """The run failed with one line that names the setting to fix and never shows the secret."""
    assert run.status == "failed"
    assert run.error is not None
    assert setting in run.error
    assert secret not in run.error
    assert "\n" not in run.error
