"""HubSpot CRM: contacts, companies, deals, tickets, notes and calls into ``raw_hubspot``.

Each object type has resources that write one table, merged on ``id``:

- ``<type>`` (e.g. ``contacts``): the live records. The first run lists them all with their
  associations; later runs search for the records modified since the last run (incremental on
  ``lastmodifieddate`` for contacts, ``hs_lastmodifieddate`` for the others) and read their
  associations in batches, since search returns none.
- ``<type>_archived``: every run sweeps the archived records (archiving changes no modified
  date, and search never returns archived records); incremental on ``archived_at``. Their rows
  set ``archived``, the ``hard_delete`` column: the record and its association rows are deleted.
- ``<type>_reassociated`` (types with associations): HubSpot drops the associations to an
  archived record without touching the records on the other side, so this re-reads the records
  whose loaded association rows point at an archived record (looked up in the warehouse).

Associations land as child tables ``<type>__associated_<other type>`` with both ids
(``contacts__associated_companies``: ``contact_id``, ``company_id``), replaced whenever the
record is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import dlt
from dlt.common.pipeline import current_pipeline
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource

from pipelines import locks
from pipelines.errors import SourceError, setting_name
from pipelines.sources.hubspot import settings
from pipelines.sources.hubspot.helpers import HubSpotClient, Page
from pipelines.sources.hubspot.records import (
    BASE_COLUMNS,
    RecordShape,
    archived_row,
    epoch_ms,
    inline_links,
    to_epoch_ms,
)

__all__ = ["hubspot_source"]

Rows = list[dict[str, Any]]


@dlt.source(name=settings.SOURCE)
def hubspot_source(
    access_token: str = dlt.secrets.value,
    base_url: str = settings.API_BASE_URL,
) -> list[DltResource]:
    """The HubSpot CRM resources, read with a private app's access token."""
    if not access_token or not access_token.strip():
        raise SourceError(
            settings.SOURCE,
            f"the access token is empty: set {setting_name(settings.SOURCE, 'access_token')} "
            "to a private app token (pat-...)",
        )
    client = HubSpotClient(base_url, access_token)
    resources: list[DltResource] = []
    for object_type in settings.OBJECT_TYPES:
        resources += [live_records(client, object_type), archived_records(client, object_type)]
        if object_type.associations:
            resources.append(reassociated_records(client, object_type))
    return resources


def live_records(client: HubSpotClient, object_type: settings.ObjectType) -> DltResource:
    """The resource of one type's live records: listed on the first run, then searched."""

    cursor = dlt.sources.incremental[datetime](
        object_type.modified_property, initial_value=None, on_cursor_value_missing="include"
    )

    def records(modified: dlt.sources.incremental[datetime] = cursor) -> Iterator[Any]:
        definitions = client.properties(object_type.name, object_type.scope)
        shape = RecordShape.from_definitions(object_type, definitions)
        since = modified.start_value
        # the ids loaded with the cursor's own timestamp: search (>= cursor) returns them again
        state = dlt.current.resource_state()
        loaded = set(state.get("ids_at_cursor", [])) if since is not None else set()
        if since is None and settings.INITIAL_LOAD_WITH_LIST:
            pages = _listed(client, shape)
        else:
            pages = _searched(client, shape, to_epoch_ms(since) if since else 0, loaded)
        hints = dlt.mark.make_hints(columns=shape.columns)
        newest = _Newest(object_type.modified_property, since, loaded)
        for number, rows in enumerate(pages):
            newest.update(rows)
            yield dlt.mark.with_hints(rows, hints) if number == 0 else rows
        state["ids_at_cursor"] = sorted(newest.ids)

    return dlt.resource(
        records,
        name=object_type.name,
        primary_key="id",
        write_disposition="merge",
        columns=BASE_COLUMNS,
        file_format=settings.LOADER_FILE_FORMAT,
    )


def archived_records(client: HubSpotClient, object_type: settings.ObjectType) -> DltResource:
    """The resource that deletes one type's archived records from its table."""

    cursor = dlt.sources.incremental[datetime](
        "archived_at", initial_value=None, on_cursor_value_missing="include"
    )

    def records(archived_at: dlt.sources.incremental[datetime] = cursor) -> Iterator[Rows]:
        found = client.archived(object_type.name, object_type.scope)
        if found:
            yield [archived_row(record) for record in found]

    return dlt.resource(
        records,
        name=f"{object_type.name}_archived",
        table_name=object_type.name,
        primary_key="id",
        write_disposition="merge",
        columns=BASE_COLUMNS,
        file_format=settings.LOADER_FILE_FORMAT,
    )


def reassociated_records(client: HubSpotClient, object_type: settings.ObjectType) -> DltResource:
    """The resource re-reading records whose loaded associations point at archived records."""

    def records() -> Iterator[Rows]:
        # only records archived since the last run can still be pointed at
        handled = dlt.current.resource_state().setdefault("archived_until", {})
        archived: dict[str, list[int]] = {}
        for target in object_type.associations:
            found = client.archived(target, _scopes(object_type, target))
            moments = [epoch_ms(record.get("archivedAt")) or 0 for record in found]
            since = handled.get(target, -1)
            pairs = zip(found, moments, strict=True)
            archived[target] = [int(record["id"]) for record, moment in pairs if moment > since]
            handled[target] = max([since, *moments])
        stale = sorted(_linked_to(object_type, archived))
        if not stale:
            return
        definitions = client.properties(object_type.name, object_type.scope)
        shape = RecordShape.from_definitions(object_type, definitions)
        pages = client.search_ids(object_type.name, shape.properties, stale, object_type.scope)
        yield from _with_associations(client, shape, pages)

    return dlt.resource(
        records,
        name=f"{object_type.name}_reassociated",
        table_name=object_type.name,
        primary_key="id",
        write_disposition="merge",
        columns=BASE_COLUMNS,
        file_format=settings.LOADER_FILE_FORMAT,
    )


def _listed(client: HubSpotClient, shape: RecordShape) -> Iterator[Rows]:
    """Every live record with its associations inline (the list endpoint)."""
    object_type = shape.object_type
    pages = client.list_pages(
        object_type.name, shape.properties, object_type.scope, object_type.associations
    )
    for page in pages:
        yield [shape.row(record, inline_links(record, object_type.associations)) for record in page]


def _searched(
    client: HubSpotClient, shape: RecordShape, since: int, loaded: set[int]
) -> Iterator[Rows]:
    """The records modified at or after ``since`` (epoch ms) but the ``loaded`` ones at ``since``
    itself, with their associations."""
    object_type = shape.object_type
    modified = object_type.modified_property
    pages = client.search(object_type.name, modified, shape.properties, since, object_type.scope)
    fresh = (
        [
            record
            for record in page
            if int(record["id"]) not in loaded
            or epoch_ms(record["properties"].get(modified)) != since
        ]
        for page in pages
    )
    yield from _with_associations(client, shape, (page for page in fresh if page))


def _with_associations(
    client: HubSpotClient, shape: RecordShape, pages: Iterable[Page]
) -> Iterator[Rows]:
    """Rows of searched records, their associations read in batches (search returns none)."""
    object_type = shape.object_type
    for page in pages:
        ids = [int(record["id"]) for record in page]
        links = {
            target: client.associations(object_type.name, target, ids, _scopes(object_type, target))
            for target in object_type.associations
        }
        yield [
            shape.row(
                record,
                {target: by_id.get(int(record["id"]), []) for target, by_id in links.items()},
            )
            for record in page
        ]


class _Newest:
    """The latest modified date among the rows seen, and the ids of the rows that have it."""

    def __init__(self, column: str, start: datetime | None, ids: set[int]) -> None:
        self.column = column
        self.moment = start
        self.ids = set(ids)

    def update(self, rows: Rows) -> None:
        for row in rows:
            moment = row.get(self.column)
            if not isinstance(moment, datetime):
                continue
            if self.moment is None or moment > self.moment:
                self.moment, self.ids = moment, set()
            if moment == self.moment:
                self.ids.add(row["id"])


def _linked_to(object_type: settings.ObjectType, archived: dict[str, list[int]]) -> set[int]:
    """Ids of loaded records of ``object_type`` with association rows to ``archived`` ids."""
    pipeline = current_pipeline()
    if not isinstance(pipeline, dlt.Pipeline) or not any(archived.values()):
        return set()
    key = f"{object_type.singular}_id"
    found: set[int] = set()
    with locks.warehouse(), pipeline.sql_client() as sql:  # other sources may be loading
        for target, ids in archived.items():
            table = sql.make_qualified_table_name(f"{object_type.name}__associated_{target}")
            target_key = f"{settings.SINGULAR[target]}_id"
            for start in range(0, len(ids), 1000):
                listed = ", ".join(str(int(i)) for i in ids[start : start + 1000])
                query = f"select distinct {key} from {table} where {target_key} in ({listed})"
                try:
                    rows = sql.execute_sql(query) or []
                except DatabaseUndefinedRelation:  # nothing loaded yet
                    break
                found.update(int(row[0]) for row in rows)
    return found


def _scopes(object_type: settings.ObjectType, target: str) -> str:
    scopes = [object_type.scope] + [t.scope for t in settings.OBJECT_TYPES if t.name == target]
    return " and ".join(dict.fromkeys(scopes))
