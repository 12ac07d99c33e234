"""Collections of one resource type: filter masks, sort orders and keyset cursor pages.

A :class:`Collection` holds the rows to render (a polars frame, row ``i`` = record ``i``), the
sort keys (int64 microseconds or strings) and the filter columns. A page request resolves to an
ascending order ``(key, id)`` of the matching rows (cached per filter and sort), finds the cursor's
position there by binary search and slices; descending sorts walk the same order backwards. The
cursor carries the last key and id, so ties never lose or repeat a record and a cursor stays
valid when rows are added or removed between requests.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import polars as pl

from pipelines.sandbox.vendors.klaviyo.errors import invalid
from pipelines.sandbox.vendors.klaviyo.filters import NULL_TIME, Condition, evaluate

ORDER_CACHE_SIZE = 16
ID_SORT = "id"  # its sort key must be the row number (rows are in id order)


@dataclass(frozen=True)
class Cursor:
    """A position in one sort order: ``n`` = rows after it, ``p`` = rows before it."""

    direction: str
    sort: str
    key: Any
    ident: str

    def encode(self) -> str:
        """The opaque ``page[cursor]`` token."""
        raw = orjson.dumps([self.direction, self.sort, self.key, self.ident])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: str) -> Cursor:
        """The cursor of a token (a 400 "Invalid cursor provided." when it is not ours)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            direction, cursor_sort, key, ident = orjson.loads(raw)
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise invalid("Invalid cursor provided.") from None
        if direction not in ("n", "p") or cursor_sort != sort or not isinstance(ident, str):
            raise invalid("Invalid cursor provided.")
        if not isinstance(key, int | str) or isinstance(key, bool):
            raise invalid("Invalid cursor provided.")
        return cls(direction, cursor_sort, key, ident)


@dataclass
class Page:
    """Row indices in display order and the cursors around them."""

    rows: np.ndarray
    next: Cursor | None
    prev: Cursor | None


Column = np.ndarray | pl.Series
Lazy = Column | Callable[[], Column]


class Collection:
    """The records of one endpoint, ready to filter, sort and page.

    ``frame`` rows must be in ascending id order, so a row's index is its id's rank: ties of a
    sort key stay in id order after a stable sort, and a cursor's id is located by binary search
    over the ids. Sort keys are int64 (microseconds, NULL_TIME for nulls) or object arrays of
    strings; filter columns are int64 arrays or string Series. Both may be given as callables,
    built on first use.
    """

    def __init__(
        self,
        frame: pl.DataFrame,
        ids: pl.Series,
        sort_keys: dict[str, Lazy],
        filter_columns: dict[str, Lazy],
        folded: frozenset[str] = frozenset(),
    ) -> None:
        self.frame = frame
        self.size = len(ids)
        self.ids = ids
        self._sort_keys = sort_keys
        self._filter_columns = filter_columns
        self.folded = folded  # string fields compared case-insensitively (emails)
        self._orders: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()``'s result, kept as long as this collection."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def _resolve(self, table: dict[str, Lazy], name: str) -> Column:
        with self._lock:
            value = table[name]
            if callable(value):
                value = table[name] = value()
            return value

    # -- filter support (filters.Columns) ---------------------------------------------------
    def column(self, field: str) -> Column:
        """A filter column."""
        return self._resolve(self._filter_columns, field)

    def lookup(self, field: str, values: list[Any]) -> np.ndarray:
        """Rows whose ``field`` equals one of ``values`` (case-insensitive for folded fields)."""
        column = self.column(field)
        assert isinstance(column, pl.Series)
        if field in self.folded:
            key = f"{field}:folded"
            original: pl.Series = column
            if key not in self._filter_columns:
                self._filter_columns[key] = lambda: original.str.to_lowercase()
            column = self._resolve(self._filter_columns, key)
            assert isinstance(column, pl.Series)
            values = [v.lower() if isinstance(v, str) else v for v in values]
        wanted = pl.Series(values, dtype=pl.String).implode()
        return column.is_in(wanted).fill_null(False).to_numpy()

    def row_of(self, ident: str) -> int | None:
        """The row of an id, or None."""
        rank = int(self.ids.search_sorted(ident, side="left"))
        return rank if rank < self.size and self.ids[rank] == ident else None

    # -- ordering ---------------------------------------------------------------------------
    def order(
        self, sort: str, conditions: list[Condition], filter_key: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Matching rows ascending by ``(sort key, id)``, with their keys."""
        cache_key = (sort, filter_key)
        with self._lock:
            found = self._orders.get(cache_key)
            if found is not None:
                self._orders.move_to_end(cache_key)
                return found
        keys = self._resolve(self._sort_keys, sort)
        assert isinstance(keys, np.ndarray)
        perm = np.argsort(keys, kind="stable")  # rows are in id order, so ties stay id-sorted
        if conditions:
            mask = evaluate(conditions, self)
            perm = perm[mask[perm]]
        found = (perm, keys[perm])
        with self._lock:
            self._orders[cache_key] = found
            while len(self._orders) > ORDER_CACHE_SIZE:
                self._orders.popitem(last=False)
        return found

    def page(
        self,
        sort: str,
        descending: bool,
        conditions: list[Condition],
        filter_key: str,
        cursor: Cursor | None,
        size: int,
    ) -> Page:
        """One page of rows in display order, with next/prev cursors."""
        perm, keys = self.order(sort, conditions, filter_key)
        n = len(perm)
        forward = cursor is None or cursor.direction == "n"
        if cursor is None:
            lo, hi = (0, min(size, n)) if not descending else (max(0, n - size), n)
        else:
            left, right = self._position(perm, keys, cursor)
            if forward != descending:  # rows after the cursor in ascending order
                lo, hi = right, min(n, right + size)
            else:
                lo, hi = max(0, left - size), left
        rows = perm[lo:hi]
        shown = np.arange(lo, hi)
        if descending:
            rows, shown = np.ascontiguousarray(rows[::-1]), shown[::-1]
        more_after = hi < n if not descending else lo > 0
        more_before = lo > 0 if not descending else hi < n
        next_cursor = prev_cursor = None
        if len(rows):
            next_cursor = (
                self._cursor("n", sort, perm, keys, int(shown[-1])) if more_after else None
            )
            prev_cursor = (
                self._cursor("p", sort, perm, keys, int(shown[0])) if more_before else None
            )
        return Page(rows, next_cursor, prev_cursor)

    def _cursor(
        self, direction: str, sort: str, perm: np.ndarray, keys: np.ndarray, at: int
    ) -> Cursor:
        ident = self.ids[int(perm[at])]
        # the "id" order's key is the row number, which moves when rows come and go: use the id
        key = ident if sort == ID_SORT else _plain(keys[at])
        return Cursor(direction, sort, key, ident)

    def _position(self, perm: np.ndarray, keys: np.ndarray, cursor: Cursor) -> tuple[int, int]:
        """Index range in the ascending order that equals the cursor's ``(key, id)``."""
        rank = int(self.ids.search_sorted(cursor.ident, side="left"))
        exists = rank < self.size and self.ids[rank] == cursor.ident
        if cursor.sort == ID_SORT:
            left = int(np.searchsorted(keys, rank, "left"))
            return left, int(np.searchsorted(keys, rank + 1, "left")) if exists else left
        numeric = keys.dtype == np.int64
        if numeric != (isinstance(cursor.key, int) and not isinstance(cursor.key, bool)):
            raise invalid("Invalid cursor provided.")
        try:
            key: Any = np.int64(cursor.key) if numeric else cursor.key
            lo = int(np.searchsorted(keys, key, "left"))
            hi = int(np.searchsorted(keys, key, "right"))
        except (TypeError, OverflowError):
            raise invalid("Invalid cursor provided.") from None
        run = perm[lo:hi]  # rows with the cursor's key, ascending by row = by id
        left = lo + int(np.searchsorted(run, rank, "left"))
        right = lo + int(np.searchsorted(run, rank, "right")) if exists else left
        return left, right


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, np.integer) else value


def time_key(series: pl.Series) -> np.ndarray:
    """int64 microseconds of a datetime series; nulls become NULL_TIME."""
    return series.dt.epoch("us").fill_null(NULL_TIME).to_numpy().astype(np.int64)


def text_key(series: pl.Series) -> np.ndarray:
    """An object array of strings for sorting; nulls sort first as ''."""
    return np.array(series.fill_null("").to_list(), dtype=object)


def text_column(series: pl.Series) -> pl.Series:
    """A string column for filtering."""
    return series
