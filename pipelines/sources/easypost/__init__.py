"""EasyPost source: package trackers and their tracking details.

EasyPost's list endpoint filters by creation time only (``start_datetime``), and a tracker keeps
changing after it is created (in transit, out for delivery, delivered). So each run
(a) lists the trackers created since the newest ``created_at`` seen so far (``before_id`` +
``has_more`` paging, newest first), and (b) re-reads, one ``GET /v2/trackers/{id}`` each, the
trackers not yet in a final state (delivered, return_to_sender, failure, cancelled). The open
trackers' ids and their last ``updated_at`` are kept in the resource state (not read from the
warehouse), so only trackers whose ``updated_at`` moved are loaded again.

``trackers`` merges on ``id`` (``fees`` kept as a JSON column). The tracking details of every
tracker loaded go to ``tracking_details``, keyed by ``tracker_id`` + ``position`` (the index in
EasyPost's list, oldest first) and merged with ``tracker_id`` as merge key, so a tracker's details
are replaced as a whole, like a nested table, but staging needs no join; they are handed to dlt
as an Arrow table, which loads about five times faster than rows. EasyPost does not delete
trackers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.sources.easypost.helpers import (
    DETAIL_TIME_FORMAT,
    EasyPostClient,
    Tracker,
    details_table,
    split_details,
)
from pipelines.sources.easypost.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_START_DATE,
    DETAIL_COLUMNS,
    FINAL_STATUSES,
    LOADER_FILE_FORMAT,
    PAGE_SIZE,
    READ_WORKERS,
    STALE_AFTER_DAYS,
    TRACKER_COLUMNS,
)
from pipelines.sources.settings import start_instant


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TrackerState:
    """The resource state of ``trackers``: the creation cursor and the open trackers."""

    def __init__(self, state: dict[str, Any], start_date: str) -> None:
        self.created_after: str = state.setdefault("created_after", start_date)
        self.at_cursor: set[str] = set(state.get("at_cursor", []))
        self.open: dict[str, str] = state.setdefault("open", {})  # id -> updated_at
        self._state = state

    def note(self, tracker: Tracker) -> None:
        """Keep an open tracker's ``updated_at``; forget a final one."""
        if tracker.get("status") in FINAL_STATUSES:
            self.open.pop(tracker["id"], None)
        else:
            self.open[tracker["id"]] = tracker["updated_at"]

    def advance(self, created: list[tuple[str, str]]) -> None:
        """Move the creation cursor to the newest of ``created`` (id, created_at) pairs."""
        if not created:
            return
        newest = max((value for _, value in created), key=_instant)
        if _instant(newest) > _instant(self.created_after):
            self.at_cursor = set()
        if _instant(newest) >= _instant(self.created_after):
            self.created_after = newest
            self.at_cursor |= {id_ for id_, value in created if value == newest}
        self._state["created_after"] = self.created_after
        self._state["at_cursor"] = sorted(self.at_cursor)

    def forget_stale(self) -> None:
        """Stop re-reading open trackers that have not changed for ``STALE_AFTER_DAYS``."""
        horizon = _instant(self.created_after) - timedelta(days=STALE_AFTER_DAYS)
        for tracker_id in [i for i, updated in self.open.items() if _instant(updated) < horizon]:
            del self.open[tracker_id]


@dlt.source(name="easypost")
def easypost_source(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str = DEFAULT_START_DATE,
) -> Iterator[DltResource]:
    """The ``trackers`` resource, which also fills the ``tracking_details`` table."""
    client = EasyPostClient(base_url=base_url, api_key=api_key)
    start_date = start_instant(
        "easypost", start_date, DETAIL_TIME_FORMAT
    )  # as EasyPost renders times

    @dlt.resource(name="trackers", write_disposition="merge", file_format=LOADER_FILE_FORMAT)
    def trackers() -> Iterator[Any]:
        """New trackers since the creation cursor, then the open trackers that changed."""
        state = TrackerState(dlt.current.resource_state(), start_date)
        listed: set[str] = set()
        created: list[tuple[str, str]] = []
        for page in client.trackers_created_since(state.created_after):
            fresh = [t for t in page if t["id"] not in state.at_cursor]
            for tracker in fresh:
                listed.add(tracker["id"])
                created.append((tracker["id"], tracker["created_at"]))
                state.note(tracker)
            if fresh:
                yield from with_details(fresh)
        state.advance(created)
        yield from reread_open(client, state, [i for i in state.open if i not in listed])
        state.forget_stale()

    # the details table first: a table variant starts from the resource's hints at that moment,
    # and must not inherit the trackers' primary key and columns
    trackers.apply_hints(
        table_name="tracking_details",
        create_table_variant=True,
        primary_key=("tracker_id", "position"),
        merge_key="tracker_id",
        columns=DETAIL_COLUMNS,
    )
    trackers.apply_hints(primary_key="id", columns=TRACKER_COLUMNS)
    yield trackers


def with_details(trackers: list[Tracker]) -> Iterator[Any]:
    """A page of trackers, then their tracking details for the ``tracking_details`` table."""
    details = split_details(trackers)
    yield trackers
    if details:
        yield dlt.mark.with_table_name(details_table(details), "tracking_details")


def reread_open(
    client: EasyPostClient, state: TrackerState, tracker_ids: list[str]
) -> Iterator[Any]:
    """Pages of the open trackers whose ``updated_at`` moved since they were last loaded."""
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        for start in range(0, len(tracker_ids), PAGE_SIZE):
            chunk = tracker_ids[start : start + PAGE_SIZE]
            changed = []
            for tracker_id, tracker in zip(chunk, pool.map(client.tracker, chunk), strict=True):
                if tracker is None:  # gone from EasyPost: nothing more to learn
                    state.open.pop(tracker_id, None)
                    continue
                if tracker["updated_at"] != state.open.get(tracker_id):
                    changed.append(tracker)
                state.note(tracker)
            if changed:
                yield from with_details(changed)


__all__ = ["easypost_source"]
