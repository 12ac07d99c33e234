"""List memberships (list id x profile id): new members incrementally, removals by a count check.

Klaviyo reports who joined a list (``joined_group_at``, filterable) but not who left. So each run,
per list: (1) read the list's ``profile_count``; (2) read the members who joined since that list's
cursor (the newest ``joined_group_at`` loaded; members loaded at exactly that moment are skipped);
(3) if the members known before plus the new ones equal the count, nothing left the list and
only the new rows load. Otherwise someone left (or left and rejoined): the list is swept, i.e. all
of its members are read and compared with the warehouse's rows for that list; members no longer
on it get a row with ``deleted`` set (the ``hard_delete`` column), changed or new ones are loaded.
A list small enough for one page is swept every run instead (one request, no count). A list that
is gone from Klaviyo has all its rows deleted the same way.

The per-list cursors and counts live in the resource state (a list without state, as on the first
run or after a full refresh, is read whole and nothing is compared with the warehouse)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt
from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines import locks
from pipelines.sources.klaviyo import settings
from pipelines.sources.klaviyo.helpers import KlaviyoClient, Page, Record
from pipelines.sources.klaviyo.records import membership_row

TABLE = "list_memberships"
MEMBERS_PATH = "/api/lists/{list_id}/profiles"
LIST_PATH = "/api/lists/{list_id}"


class ListSnapshot:
    """Every list in the account, read once per run and shared by ``lists`` and memberships."""

    def __init__(self, client: KlaviyoClient) -> None:
        self.client = client
        self._records: list[Record] | None = None
        self._lock = threading.Lock()

    def records(self) -> list[Record]:
        """The lists as Klaviyo returns them (all pages)."""
        with self._lock:
            if self._records is None:
                params = {"page[size]": settings.LISTS_PAGE_SIZE}
                pages = self.client.pages("/api/lists", params, window="lists")
                self._records = [record for page in pages for record in page]
            return self._records


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def warehouse_members(list_id: str) -> dict[str, datetime | None]:
    """The members of ``list_id`` the warehouse holds now (profile id -> joined_group_at)."""
    pipeline = dlt.current.pipeline()
    try:
        with locks.warehouse(), pipeline.sql_client() as client:  # others may be loading
            table = client.make_qualified_table_name(TABLE)
            rows = client.execute_sql(
                f"select profile_id, joined_group_at from {table} where list_id = %s", list_id
            )
    except (DatabaseUndefinedRelation, SqlClientNotAvailable):
        return {}
    return {profile_id: _moment(joined) for profile_id, joined in rows or []}


class Memberships:
    """Reads one run's membership changes, list by list, keeping cursors in ``state``."""

    def __init__(self, client: KlaviyoClient, lists: ListSnapshot, state: dict[str, Any]) -> None:
        self.client = client
        self.lists = lists
        self.state: dict[str, dict[str, Any]] = state.setdefault("lists", {})

    def changes(self) -> Iterator[list[Record]]:
        """Pages of membership rows to merge (tombstones included)."""
        current = [record["id"] for record in self.lists.records()]
        for list_id in current:
            yield from self._list_changes(list_id)
        for list_id in [known for known in self.state if known not in current]:
            yield from self._removed_list(list_id)

    def _count(self, list_id: str) -> int | None:
        body = self.client.get(
            LIST_PATH.format(list_id=list_id),
            {"additional-fields[list]": "profile_count"},
            window="list",
            missing_ok=True,
        )
        if body is None:
            return None
        count = ((body.get("data") or {}).get("attributes") or {}).get("profile_count")
        return int(count) if count is not None else None

    def _members(self, list_id: str, since: str | None) -> Iterator[Page]:
        params: dict[str, Any] = {
            "page[size]": settings.LIST_MEMBERS_PAGE_SIZE,
            "sort": "joined_group_at",
            "fields[profile]": "joined_group_at",
        }
        if since is not None:
            params["filter"] = f"greater-or-equal(joined_group_at,{since})"
        path = MEMBERS_PATH.format(list_id=list_id)
        yield from self.client.pages(path, params, window="list-profiles", missing_ok=True)

    def _list_changes(self, list_id: str) -> Iterator[list[Record]]:
        entry = self.state.get(list_id)
        if entry is not None and entry["count"] < settings.LIST_MEMBERS_PAGE_SIZE:
            # a list that fits one page is swept outright: one request, and a cheaper one
            # than the member count, which Klaviyo limits to 1/s and 15/min
            yield from self._sweep(list_id)
            return
        count = self._count(list_id)
        if count is None:  # deleted since the lists were read
            if entry is not None:
                yield from self._removed_list(list_id)
            return
        if entry is None:  # first sight (first run, full refresh): read it whole
            cursor = _Cursor()
            for page in self._members(list_id, None):
                rows = [membership_row(list_id, record) for record in page]
                cursor.update(rows)
                yield rows
            self.state[list_id] = cursor.entry(cursor.seen)
            return
        cursor = _Cursor(entry)
        skip = set(cursor.at_cursor)
        new = [
            membership_row(list_id, record)
            for page in self._members(list_id, entry.get("joined"))
            for record in page
            if record["id"] not in skip
        ]
        if entry["count"] + len(new) == count:
            cursor.update(new)
            self.state[list_id] = cursor.entry(count)
            yield from _chunks(new)
            return
        yield from self._sweep(list_id)

    def _sweep(self, list_id: str) -> Iterator[list[Record]]:
        """All members read and compared with the warehouse: changes and tombstones."""
        rows = [membership_row(list_id, r) for page in self._members(list_id, None) for r in page]
        loaded = warehouse_members(list_id)
        current = {row["profile_id"] for row in rows}
        changed = [
            row
            for row in rows
            if row["profile_id"] not in loaded
            or loaded[row["profile_id"]] != _moment(row["joined_group_at"])
        ]
        gone = [_tombstone(list_id, pid) for pid in loaded if pid not in current]
        cursor = _Cursor()
        cursor.update(rows)
        self.state[list_id] = cursor.entry(len(rows))
        yield from _chunks(changed + gone)

    def _removed_list(self, list_id: str) -> Iterator[list[Record]]:
        self.state.pop(list_id, None)
        yield from _chunks([_tombstone(list_id, pid) for pid in warehouse_members(list_id)])


class _Cursor:
    """A list's newest ``joined_group_at`` and the members who joined at exactly that moment."""

    def __init__(self, entry: dict[str, Any] | None = None) -> None:
        self.joined: str | None = (entry or {}).get("joined")
        self.at_cursor: set[str] = set((entry or {}).get("at_cursor", []))
        self.seen = 0

    def update(self, rows: list[Record]) -> None:
        """Take ``rows`` into account."""
        newest = _moment(self.joined)
        for row in rows:
            self.seen += 1
            moment = _moment(row["joined_group_at"])
            if moment is None:
                continue
            if newest is None or moment > newest:
                newest, self.joined, self.at_cursor = moment, row["joined_group_at"], set()
            if moment == newest:
                self.at_cursor.add(row["profile_id"])

    def entry(self, count: int) -> dict[str, Any]:
        """The list's state entry: member count, cursor and the ids at the cursor."""
        return {"count": count, "joined": self.joined, "at_cursor": sorted(self.at_cursor)}


def _tombstone(list_id: str, profile_id: str) -> Record:
    return {"list_id": list_id, "profile_id": profile_id, settings.DELETED: True}


def _chunks(rows: list[Record], size: int = 5000) -> Iterator[list[Record]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
