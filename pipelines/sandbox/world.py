"""Read access to the served world (the Parquet tables under ``sandbox/world/``) for emulators."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import polars as pl

from pipelines.sandbox.schema import WORLD

T = TypeVar("T")
K = TypeVar("K")


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
        self._building: dict[str, threading.Lock] = {}
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
        """``build()``'s result, kept until the world changes.

        Each key builds under its own lock: a request whose structures are ready never waits
        behind another vendor's long first build (several sources are ingested at once).
        """
        with self._lock:
            self._refresh()
            if key in self._cache:
                return self._cache[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                self._refresh()
                if key in self._cache:  # built by another thread meanwhile
                    return self._cache[key]
                version = self._version
            value = build()
            with self._lock:
                if self._version == version:  # the world did not change while building
                    self._cache[key] = value
            return value


class RecentAnswers(Generic[K, T]):
    """The answers to the last ``size`` distinct queries (the oldest forgotten first): paging
    through a list asks the same filter once per page, and an emulator answers it once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: dict[K, T] = {}
        self._lock = threading.Lock()

    def get(self, query: K, answer: Callable[[], T]) -> T:
        """The kept answer to ``query``, or ``answer()`` (then kept)."""
        with self._lock:
            if query in self._answers:
                return self._answers[query]
        found = answer()
        with self._lock:
            while len(self._answers) >= self.size:
                self._answers.pop(next(iter(self._answers)))
            self._answers[query] = found
        return found
