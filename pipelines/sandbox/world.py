"""Read access to the served world (the Parquet tables under ``sandbox/world/``) for emulators."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from pipelines.sandbox.schema import WORLD

T = TypeVar("T")


class WorldNotFoundError(RuntimeError):
    """No generated world in the sandbox folder."""


class World:
    """The world as of the sandbox clock. Tables load lazily and reload after ``advance``.

    Emulators keep derived structures (indexes, pre-rendered pages) through :meth:`cached`, which
    forgets everything when the world files change, so a server picks up ``cdp sandbox advance``
    without a restart.
    """

    def __init__(self, world_dir: Path) -> None:
        self.dir = world_dir
        self._lock = threading.RLock()
        self._version: float | None = None
        self._tables: dict[str, pl.DataFrame] = {}
        self._cache: dict[str, Any] = {}
        self._meta: dict[str, Any] = {}

    @property
    def meta_path(self) -> Path:
        return self.dir / "meta.json"

    def _refresh(self) -> None:
        try:
            version = self.meta_path.stat().st_mtime
        except FileNotFoundError:
            raise WorldNotFoundError(
                f"no sandbox world in {self.dir}: run `cdp sandbox generate` first"
            ) from None
        if version != self._version:
            self._tables.clear()
            self._cache.clear()
            self._meta = json.loads(self.meta_path.read_text())
            self._version = version

    @property
    def meta(self) -> dict[str, Any]:
        """``meta.json``: seed, scale, clock, row counts."""
        with self._lock:
            self._refresh()
            return self._meta

    @property
    def clock(self) -> datetime:
        """The world's "now" (``meta.json`` ``clock``, UTC): what write-side timestamps use."""
        return datetime.fromisoformat(str(self.meta["clock"]).replace("Z", "+00:00"))

    def table(self, name: str) -> pl.DataFrame:
        """One world table (see ``schema.WORLD``)."""
        if name not in WORLD:
            raise KeyError(f"unknown world table {name!r}")
        with self._lock:
            self._refresh()
            if name not in self._tables:
                self._tables[name] = pl.read_parquet(self.dir / f"{name}.parquet")
            return self._tables[name]

    def cached(self, key: str, build: Callable[[], T]) -> T:
        """``build()``'s result, kept until the world changes."""
        with self._lock:
            self._refresh()
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]
