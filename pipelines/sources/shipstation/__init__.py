"""ShipStation source: shipping labels (``GET /shipments``, API v1) with their voids.

ShipStation has no modified-date filter, so ``shipments`` is read by ``createDate`` with a look-back
window (``createDateStart`` = last run's high-water mark - ``LOOKBACK_SECONDS``: labels may appear
late), and a second pass, ``shipment_voids``, reads labels voided since the last void high-water
mark minus the same window (``voidDateStart``) into the same ``shipments`` table. Both merge on
``shipmentId``. A voided label is kept with ``voided = true`` and its ``voidDate`` (staging
excludes it); nothing is hard-deleted, so shipping cost history stays auditable.

ShipStation's date-times are Pacific wall times without an offset: ``createDate`` and ``voidDate``
land as UTC (``...Z``), and filters are sent back in Pacific time. Records re-read inside the
look-back window that were already loaded are skipped (their ids are kept in the resource state
for the window's length), so a run without changes loads no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.sources.settings import start_instant
from pipelines.sources.shipstation.helpers import (
    UTC_FORMAT,
    Page,
    ShipStationClient,
    to_pacific,
)
from pipelines.sources.shipstation.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_START_DATE,
    LOADER_FILE_FORMAT,
    LOOKBACK_SECONDS,
    SHIPMENT_COLUMNS,
)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def only_unseen(pages: Iterable[Page], cursor: str, seen: dict[str, str]) -> Iterator[Page]:
    """Pages without the records already loaded (ids in ``seen``); records what it lets through.

    ``seen`` (id -> cursor value, kept in the resource state) is pruned to the look-back window
    behind the newest cursor value once the pages are consumed.
    """
    newest = max(seen.values(), default=None, key=_instant)
    for page in pages:
        fresh = [record for record in page if str(record["shipmentId"]) not in seen]
        for record in fresh:
            value = record[cursor]
            seen[str(record["shipmentId"])] = value
            if newest is None or _instant(value) > _instant(newest):
                newest = value
        if fresh:
            yield fresh
    if newest is not None:
        horizon = _instant(newest) - timedelta(seconds=LOOKBACK_SECONDS)
        for key in [key for key, value in seen.items() if _instant(value) < horizon]:
            del seen[key]


@dlt.source(name="shipstation")
def shipstation_source(
    api_key: str = dlt.secrets.value,
    api_secret: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str = DEFAULT_START_DATE,
) -> Iterator[DltResource]:
    """The ``shipments`` resource and its ``shipment_voids`` pass (both into ``shipments``)."""
    client = ShipStationClient(base_url=base_url, api_key=api_key, api_secret=api_secret)
    start_date = start_instant(
        "shipstation", start_date, UTC_FORMAT
    )  # as createDate/voidDate are landed
    # the look-back is dlt's lag: start_value = the last high-water mark - LOOKBACK_SECONDS
    created_since = dlt.sources.incremental[str](
        "createDate", initial_value=start_date, lag=LOOKBACK_SECONDS
    )
    voided_since = dlt.sources.incremental[str](
        "voidDate", initial_value=start_date, lag=LOOKBACK_SECONDS
    )

    @dlt.resource(
        name="shipments",
        primary_key="shipmentId",
        write_disposition="merge",
        columns=SHIPMENT_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    def shipments(
        created: dlt.sources.incremental[str] = created_since,
    ) -> Iterator[Page]:
        """Labels created since the last run's newest ``createDate`` minus the look-back."""
        params: dict[str, Any] = {
            "createDateStart": to_pacific(created.start_value or start_date),
            "sortBy": "CreateDate",
            "sortDir": "ASC",
        }
        seen = dlt.current.resource_state().setdefault("recent", {})
        yield from only_unseen(client.shipments(params), "createDate", seen)

    @dlt.resource(
        name="shipment_voids",
        table_name="shipments",
        primary_key="shipmentId",
        write_disposition="merge",
        columns=SHIPMENT_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    def shipment_voids(
        voided: dlt.sources.incremental[str] = voided_since,
    ) -> Iterator[Page]:
        """Labels voided since the last run's newest ``voidDate`` minus the look-back."""
        params = {"voidDateStart": to_pacific(voided.start_value or start_date)}
        seen = dlt.current.resource_state().setdefault("recent", {})
        yield from only_unseen(client.shipments(params), "voidDate", seen)

    yield shipments
    yield shipment_voids


__all__ = ["shipstation_source"]
