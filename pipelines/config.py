"""One place for paths and settings.

Every file the project writes lives under ``CDP_DATA_DIR`` (default ``./data``). Functions, not
module constants, so that tests (and a long-running process) can point the project elsewhere by
setting the environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# `cdp ingest`: sources extracted at once, each in its own process. A source waits on its API
# much of the time, so a few overlap well even on two cores; their loads still take turns, as
# DuckDB lets one process write the warehouse at a time.
INGEST_WORKERS = 3

# Quiet, offline-safe defaults: no tool phones home unless the user opts in explicitly.
TELEMETRY_OFF = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


@dataclass(frozen=True)
class Paths:
    """The files and folders of one data directory."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.root / "serving.duckdb"

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def world(self) -> Path:
        return self.sandbox / "world"

    @property
    def truth(self) -> Path:
        return self.sandbox / "truth"

    @property
    def sandbox_state(self) -> Path:
        """Write-side state of the emulated destinations (persists across restarts)."""
        return self.sandbox / "state"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def pos_landing(self) -> Path:
        return self.landing / "pos"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def dlt_pipelines(self) -> Path:
        return self.root / "dlt"


def data_dir() -> Path:
    """The root of every file the project writes: ``$CDP_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("CDP_DATA_DIR", "data")).expanduser().resolve()


def paths() -> Paths:
    """The project's paths under the current data directory."""
    return Paths(data_dir())


def configure_runtime() -> None:
    """Turn telemetry off (unless the user set it), point dlt's data folder into the data dir and
    its settings folder at ``pipelines/.dlt`` (config.toml, secrets.toml)."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DLT_DATA_DIR", str(paths().dlt_pipelines))
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT / "pipelines"))
