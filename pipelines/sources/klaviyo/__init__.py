"""Klaviyo (JSON:API, pinned ``revision`` header): profiles, lists, list memberships, metrics,
events, campaigns and flows into ``raw_klaviyo``.

Each resource, its key and disposition, how it is read incrementally and how deletes show:

- ``profiles`` (``id``, merge): ``greater-than(updated, cursor - 1 s)`` sorted by ``updated``
  (the filter has no greater-or-equal and counts seconds); dlt drops what it loaded at the cursor.
  Deleted profiles are not seen (Klaviyo lists no deletions; a full refresh drops them).
- ``lists`` (``id``, merge): every list read each run (a few pages; memberships need them all),
  new or changed ``updated`` loaded, lists gone from Klaviyo get ``deleted``.
- ``list_memberships`` (``list_id`` + ``profile_id``, merge): per list by ``joined_group_at``;
  removals found by a member count check and a sweep (see :mod:`.memberships`).
- ``metrics`` (``id``, merge): the API has no filter; all read, dlt keeps the newer ``updated``.
- ``events`` (``id``, append: events never change): ``greater-or-equal(datetime, cursor - 1 h)``,
  the events already loaded in that hour skipped (see :mod:`.events`).
- ``campaigns`` (``id``, merge): ``equals(messages.channel,'email')`` + ``updated_at``;
  ``archived`` carried as a flag.
- ``flows`` (``id``, merge): ``updated``; ``archived`` carried as a flag.

``deleted`` is the ``hard_delete`` column: a row with it set removes the record. Profiles keep
email marketing consent (``email_marketing_consent``, ``..._timestamp``,
``can_receive_email_marketing``) and ``properties`` as JSON; events keep ``event_properties`` as
JSON beside typed ``message_id``, ``flow_id``, ``campaign_name``, ``value``, ``checkout_id``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from pipelines.errors import SourceError, setting_name
from pipelines.sources.klaviyo import settings
from pipelines.sources.klaviyo.events import event_pages, iso
from pipelines.sources.klaviyo.helpers import KlaviyoClient, Record
from pipelines.sources.klaviyo.memberships import ListSnapshot, Memberships
from pipelines.sources.klaviyo.records import campaign_row, profile_row, resource_row

__all__ = ["klaviyo_source"]

Rows = list[Record]


@dlt.source(name=settings.SOURCE)
def klaviyo_source(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    revision: str = settings.REVISION,
    start_date: str = settings.DEFAULT_START_DATE,
) -> list[DltResource]:
    """The Klaviyo resources, read with a private API key (``pk_...``)."""
    if not api_key or not api_key.strip():
        raise SourceError(
            settings.SOURCE,
            f"the API key is empty: set {setting_name(settings.SOURCE, 'api_key')} to a private "
            "API key (pk_...)",
        )
    start = _start(start_date)
    client = KlaviyoClient(base_url, api_key, revision)
    lists = ListSnapshot(client)
    return [
        profiles_resource(client, start),
        lists_resource(lists),
        memberships_resource(client, lists),
        metrics_resource(client, start),
        events_resource(client, start),
        campaigns_resource(client, start),
        flows_resource(client, start),
    ]


def _start(value: str) -> str:
    """``start_date`` as an ISO datetime in UTC, or a one-line error naming the setting."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise SourceError(
            settings.SOURCE,
            f"start_date {value!r} is not an ISO 8601 date: check "
            f"{setting_name(settings.SOURCE, 'start_date')} (e.g. 2024-01-01T00:00:00+00:00)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment.astimezone(UTC))


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _merge(name: str, columns: Any, primary_key: Any = "id") -> dict[str, Any]:
    return {
        "name": name,
        "primary_key": primary_key,
        "write_disposition": "merge",
        "columns": columns,
        "file_format": settings.LOADER_FILE_FORMAT,
    }


def profiles_resource(client: KlaviyoClient, start: str) -> DltResource:
    """Profiles updated since the cursor, with email marketing consent."""
    cursor = dlt.sources.incremental[str](
        "updated", initial_value=start, on_cursor_value_missing="include"
    )

    def profiles(updated: dlt.sources.incremental[str] = cursor) -> Iterator[Rows]:
        since = _moment(updated.start_value or start) - timedelta(
            seconds=settings.PROFILES_OVERLAP_SECONDS
        )
        params = {
            "page[size]": settings.PROFILES_PAGE_SIZE,
            "sort": "updated",
            "additional-fields[profile]": "subscriptions",
            "filter": f"greater-than(updated,{iso(since)})",
        }
        for page in client.pages("/api/profiles", params, window="profiles"):
            yield [profile_row(record) for record in page]

    return dlt.resource(profiles, **_merge("profiles", settings.PROFILE_COLUMNS))


def lists_resource(lists: ListSnapshot) -> DltResource:
    """Lists: all read every run (memberships need them), new or changed ones loaded, vanished
    ones deleted."""

    def lists_() -> Iterator[Rows]:
        known: dict[str, Any] = dlt.current.resource_state().setdefault("updated", {})
        rows: Rows = []
        current = set()
        for record in lists.records():
            row = resource_row(record)
            current.add(row["id"])
            if known.get(row["id"]) != row.get("updated") or row["id"] not in known:
                known[row["id"]] = row.get("updated")
                rows.append(row)
        for list_id in [list_id for list_id in known if list_id not in current]:
            del known[list_id]
            rows.append({"id": list_id, settings.DELETED: True})
        if rows:
            yield rows

    return dlt.resource(lists_, **_merge("lists", settings.LIST_COLUMNS))


def memberships_resource(client: KlaviyoClient, lists: ListSnapshot) -> DltResource:
    """Which profile is on which list (see :mod:`.memberships` for how removals are found)."""

    def list_memberships() -> Iterator[Rows]:
        yield from Memberships(client, lists, dlt.current.resource_state()).changes()

    return dlt.resource(
        list_memberships,
        **_merge("list_memberships", settings.MEMBERSHIP_COLUMNS, ("list_id", "profile_id")),
    )


def metrics_resource(client: KlaviyoClient, start: str) -> DltResource:
    """Metrics (the API has no filter: all are read, dlt keeps those with a newer ``updated``)."""
    cursor = dlt.sources.incremental[str](
        "updated", initial_value=start, on_cursor_value_missing="include"
    )

    def metrics(updated: dlt.sources.incremental[str] = cursor) -> Iterator[Rows]:
        for page in client.pages("/api/metrics", {}, window="metrics"):
            yield [resource_row(record) for record in page]

    return dlt.resource(metrics, **_merge("metrics", settings.METRIC_COLUMNS))


def events_resource(client: KlaviyoClient, start: str) -> DltResource:
    """Events since the newest loaded minus the look-back window, as Arrow pages (append)."""
    cursor = dlt.sources.incremental[datetime](
        "datetime",
        initial_value=_moment(start),
        lag=settings.EVENTS_LOOKBACK_SECONDS,
        on_cursor_value_missing="include",
    )

    def events(moment: dlt.sources.incremental[datetime] = cursor) -> Iterator[pa.Table]:
        since = moment.start_value or _moment(start)
        yield from event_pages(client, since, dlt.current.resource_state())

    # Arrow tables keep their Arrow types: the JSON columns land as text holding JSON
    return dlt.resource(events, name="events", primary_key="id", write_disposition="append")


def campaigns_resource(client: KlaviyoClient, start: str) -> DltResource:
    """Email campaigns updated since the cursor (Klaviyo requires the channel filter)."""
    cursor = dlt.sources.incremental[str](
        "updated_at", initial_value=start, on_cursor_value_missing="include"
    )

    def campaigns(updated_at: dlt.sources.incremental[str] = cursor) -> Iterator[Rows]:
        params = {
            "page[size]": settings.CAMPAIGNS_PAGE_SIZE,
            "sort": "updated_at",
            "filter": "equals(messages.channel,'email'),"
            f"greater-or-equal(updated_at,{iso(_moment(updated_at.start_value or start))})",
        }
        for page in client.pages("/api/campaigns", params, window="campaigns"):
            yield [campaign_row(record) for record in page]

    return dlt.resource(campaigns, **_merge("campaigns", settings.CAMPAIGN_COLUMNS))


def flows_resource(client: KlaviyoClient, start: str) -> DltResource:
    """Flows updated since the cursor."""
    cursor = dlt.sources.incremental[str](
        "updated", initial_value=start, on_cursor_value_missing="include"
    )

    def flows(updated: dlt.sources.incremental[str] = cursor) -> Iterator[Rows]:
        params = {
            "page[size]": settings.FLOWS_PAGE_SIZE,
            "sort": "updated",
            "filter": f"greater-or-equal(updated,{iso(_moment(updated.start_value or start))})",
        }
        for page in client.pages("/api/flows", params, window="flows"):
            yield [resource_row(record) for record in page]

    return dlt.resource(flows, **_merge("flows", settings.FLOW_COLUMNS))
