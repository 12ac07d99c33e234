"""Fixtures for the dbt tests: the small world with every source ingested once per session, and a
private copy of it per test module (each module builds its own models into its own warehouse)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines import config
from pipelines.ingest import run_ingest
from pipelines.sandbox.pos_export import export_pos
from pipelines.sandbox.server import running_sandbox


@contextmanager
def data_dir(root: Path) -> Iterator[config.Paths]:
    """``root`` as CDP_DATA_DIR (and dlt's folder under it) while the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDP_DATA_DIR", str(root))
        patch.setenv("DLT_DATA_DIR", str(root / "dlt"))
        yield config.paths()


def ingest_everything(paths: config.Paths) -> None:
    """Export the till's files and ingest every source from a sandbox over ``paths.sandbox``."""
    export_pos(paths.sandbox, paths.pos_landing)
    with running_sandbox(paths.sandbox, rate_limits="off") as server:
        runs = run_ingest(sandbox_url=server.url)
    failed = {run.source: run.error for run in runs if run.status != "succeeded"}
    assert not failed, f"ingest failed: {failed}"


@pytest.fixture(scope="session")
def ingested_root(world_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the small world and every source ingested from it, made once."""
    root = tmp_path_factory.mktemp("ingested") / "data"
    with data_dir(root) as paths:
        shutil.copytree(world_root, paths.sandbox, ignore=shutil.ignore_patterns("state"))
        ingest_everything(paths)
    return root


@contextmanager
def ingested_copy(ingested_root: Path, root: Path) -> Iterator[config.Paths]:
    """A private copy of the ingested data dir at ``root``, as CDP_DATA_DIR while the block runs."""
    shutil.copytree(ingested_root, root)
    with data_dir(root) as paths:
        yield paths
