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
