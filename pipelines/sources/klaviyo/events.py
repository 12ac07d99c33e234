"""The events walk: pages of 1000 by ``datetime``, in concurrent time slices, as Arrow tables.

Each run asks for ``greater-or-equal(datetime, <newest loaded - look-back>)`` (dlt's incremental
with ``lag``). Events in that window that were already loaded are dropped by id before they are
yielded; their ids (with their datetimes) are kept in the resource state, only for the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.sources.klaviyo import settings
from pipelines.sources.klaviyo.helpers import KlaviyoClient, Page, read_ahead
from pipelines.sources.klaviyo.records import events_table

EVENTS_PATH = "/api/events"
MICROS = 1_000_000


def iso(moment: datetime) -> str:
    """A datetime as Klaviyo's filters take it (``2024-01-01T00:00:00+00:00``)."""
    return moment.isoformat()


class RecentIds:
    """The ids of the events loaded within the look-back window (id -> datetime in µs)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self._state = state
        recent: dict[str, int] = state.get("recent", {})
        self.loaded = pa.array(list(recent), pa.string())
        self.kept_ids: list[str] = list(recent)
        self.kept_micros: list[int] = list(recent.values())
        self.newest = max(self.kept_micros, default=None)

    def fresh(self, table: pa.Table) -> pa.Table:
        """``table`` without the events loaded before; remembers the newest ones."""
        if len(self.loaded):
            table = table.filter(pc.invert(pc.is_in(table["id"], value_set=self.loaded)))
        if table.num_rows:
            self._note(table)
        return table

    def _note(self, table: pa.Table) -> None:
        micros = pc.cast(table["datetime"], pa.int64())
        page_newest = pc.max(micros).as_py()
        if page_newest is not None and (self.newest is None or page_newest > self.newest):
            self.newest = page_newest
        if self.newest is None:
            return
        horizon = self.newest - settings.EVENTS_LOOKBACK_SECONDS * MICROS
        recent = table.filter(pc.greater_equal(micros, horizon))
        self.kept_ids += recent["id"].to_pylist()
        self.kept_micros += pc.cast(recent["datetime"], pa.int64()).to_pylist()
        if len(self.kept_ids) > 4 * settings.EVENTS_PAGE_SIZE:
            self._prune()

    def _prune(self) -> None:
        if self.newest is None:
            return
        horizon = self.newest - settings.EVENTS_LOOKBACK_SECONDS * MICROS
        pairs = [
            (i, m) for i, m in zip(self.kept_ids, self.kept_micros, strict=True) if m >= horizon
        ]
        self.kept_ids = [i for i, _ in pairs]
        self.kept_micros = [m for _, m in pairs]

    def save(self) -> None:
        """Store the ids within the window behind the newest event in the resource state."""
        self._prune()
        self._state["recent"] = dict(zip(self.kept_ids, self.kept_micros, strict=True))


def _filter_params(since: str, until: str | None) -> dict[str, Any]:
    condition = f"greater-or-equal(datetime,{since})"
    if until is not None:
        condition += f",less-than(datetime,{until})"
    return {"page[size]": settings.EVENTS_PAGE_SIZE, "sort": "datetime", "filter": condition}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def slices(low: datetime, high: datetime, count: int) -> list[datetime]:
    """The starts of up to ``count`` equal time slices from ``low`` to ``high``: ``low``, then
    whole seconds after it (the filters take seconds), or just ``[low]`` when there is no span."""
    if count < 2 or high <= low:
        return [low]
    step = (high - low) / count
    starts = [low]
    for i in range(1, count):
        moment = low + step * i
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
        if moment > starts[-1] and moment <= high:
            starts.append(moment)
    return starts


def event_stream(client: KlaviyoClient, since: datetime) -> Iterator[Page]:
    """Pages of the events at or after ``since``. When there is more than a page, the rest is
    cut into time slices (up to the newest event) read concurrently, each one page ahead."""
    first = client.get(EVENTS_PATH, _filter_params(iso(since), None), window="events")
    data: Page = first.get("data") or []
    next_url = (first.get("links") or {}).get("next")
    if data:
        yield data
    if not data or not next_url:
        return
    low = data[-1]["attributes"]["datetime"]
    probe = {"page[size]": 1, "sort": "-datetime", "filter": f"greater-or-equal(datetime,{low})"}
    newest = (client.get(EVENTS_PATH, probe, window="events").get("data") or [None])[0]
    high = _moment(newest["attributes"]["datetime"]) if newest else _moment(low)
    starts = slices(_moment(low), high, settings.EVENTS_STREAMS)
    if len(starts) == 1:
        yield from read_ahead([client.pages(next_url, None, window="events")])
        return
    # the first slice starts at the first page's last datetime: skip what that page held there
    seen = {event["id"] for event in data if event["attributes"]["datetime"] == low}
    bounds = [low] + [iso(start) for start in starts[1:]]
    streams = [
        client.pages(
            EVENTS_PATH,
            _filter_params(start, bounds[i + 1] if i + 1 < len(bounds) else None),
            window="events",
        )
        for i, start in enumerate(bounds)
    ]
    for page in read_ahead(streams):
        fresh = [event for event in page if event["id"] not in seen] if seen else page
        if fresh:
            yield fresh


def event_pages(
    client: KlaviyoClient, since: datetime, state: dict[str, Any]
) -> Iterator[pa.Table]:
    """Arrow tables of the events at or after ``since`` that were not loaded yet."""
    recent = RecentIds(state)
    batch: list[pa.Table] = []
    rows = 0
    for page in event_stream(client, since):
        table = recent.fresh(events_table(page))
        if table.num_rows:
            batch.append(table)
            rows += table.num_rows
        if rows >= settings.EVENTS_BATCH_ROWS:
            yield pa.concat_tables(batch)
            batch, rows = [], 0
    if batch:
        yield pa.concat_tables(batch)
    recent.save()
