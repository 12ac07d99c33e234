"""File locks through which the project's processes take turns.

DuckDB lets one process open a database file for writing and makes any other fail at once rather
than wait, so the processes of a `cdp ingest` queue for the warehouse here. One source's dlt
pipeline (its state, its pending load packages) must not run twice at once either, e.g. when a
second `cdp ingest` starts before the first has finished. The OS drops a lock when its holder
dies, so a killed run never leaves one behind.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from pipelines import config


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) while the block runs; wait for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warehouse() -> AbstractContextManager[None]:
    """The warehouse's writer lock: hold it while opening ``warehouse.duckdb`` to write."""
    path = config.paths().warehouse
    return exclusive(path.with_name(path.name + ".lock"))


def pipeline(source: str) -> AbstractContextManager[None]:
    """One source's lock: hold it while its dlt pipeline runs."""
    return exclusive(config.paths().dlt_pipelines / f"archipelago_{source}.lock")
