"""Write-side state of the emulated destinations, persisted as one JSON file per vendor.

A real destination keeps what it was sent across restarts; so does the sandbox: the state lives
under ``$CDP_DATA_DIR/sandbox/state/<vendor>.json`` and every change is written atomically.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson


class StateStore:
    """Per-vendor JSON documents with atomic, thread-safe read-modify-write."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.RLock()
        self._docs: dict[str, dict[str, Any]] = {}

    def _path(self, vendor: str) -> Path:
        return self.folder / f"{vendor}.json"

    def _load(self, vendor: str) -> dict[str, Any]:
        if vendor not in self._docs:
            path = self._path(vendor)
            self._docs[vendor] = orjson.loads(path.read_bytes()) if path.exists() else {}
        return self._docs[vendor]

    def read(self, vendor: str) -> dict[str, Any]:
        """A deep copy of the vendor's state."""
        with self._lock:
            return orjson.loads(orjson.dumps(self._load(vendor)))

    @contextmanager
    def peek(self, vendor: str) -> Iterator[dict[str, Any]]:
        """The live document under the store's lock, without a copy: read it, never change it
        (for paging large state, where :meth:`read`'s deep copy per page would be too slow)."""
        with self._lock:
            yield self._load(vendor)

    @contextmanager
    def change(self, vendor: str) -> Iterator[dict[str, Any]]:
        """Yield the vendor's state for changing; persisted when the block ends without error."""
        with self._lock:
            doc = self._load(vendor)
            snapshot = orjson.dumps(doc)
            try:
                yield doc
            except BaseException:
                self._docs[vendor] = orjson.loads(snapshot)
                raise
            self._persist(vendor, doc)

    def _persist(self, vendor: str, doc: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(vendor)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(orjson.dumps(doc))
        os.replace(tmp, path)

    def reset(self, vendor: str | None = None) -> None:
        """Forget the state of one vendor (or all)."""
        with self._lock:
            vendors = [vendor] if vendor else [p.stem for p in self.folder.glob("*.json")]
            for name in vendors:
                self._docs.pop(name, None)
                self._path(name).unlink(missing_ok=True)
