"""HubSpot records as warehouse rows.

HubSpot sends every property value as a string. The portal's property definitions
(``GET /crm/v3/properties/{type}``) say what each one is: numbers become decimals (ids bigint),
datetimes timestamps, dates dates, booleans bools. A value that does not parse as its definition
says stays a string, which dlt lands in a variant column instead of failing the load.

A row is the record's id, its requested properties, ``archived`` (the ``hard_delete`` column) and
``archived_at``, plus one child list per association (``associated_companies`` ...: rows with both
ids, so staging needs no join to the parent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dlt.common.schema.typing import TColumnSchema, TDataType

from pipelines.sources.hubspot import settings

Converter = Callable[[str], Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)

# The columns every object table has besides its properties.
BASE_COLUMNS: dict[str, TColumnSchema] = {
    "id": {"data_type": "bigint", "nullable": False},
    # archived rows delete the record (and its association rows) from the warehouse; when one
    # load holds a record both live and archived, the archived one wins
    "archived": {"data_type": "bool", "hard_delete": True, "dedup_sort": "desc"},
    "archived_at": {"data_type": "timestamp"},
}


def parse_timestamp(text: str) -> datetime:
    """A HubSpot datetime (ISO ``2024-03-01T09:00:00.000Z`` or epoch milliseconds), UTC."""
    if text.isdigit():
        return EPOCH + int(text) * ONE_MS
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (search filters take these)."""
    return (moment - EPOCH) // ONE_MS


def epoch_ms(value: str | None) -> int | None:
    """Epoch milliseconds of a HubSpot datetime string, or None when unset or unparseable."""
    if not value:
        return None
    try:
        return to_epoch_ms(parse_timestamp(value))
    except ValueError:
        return None


def _date(text: str) -> date:
    if text.isdigit():
        return parse_timestamp(text).date()
    return date.fromisoformat(text[:10])


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"not a boolean: {text!r}")
    return lowered == "true"


def _typed(convert: Converter) -> Converter:
    """``convert``, keeping the original string when it does not parse (schema drift)."""

    def run(text: str) -> Any:
        try:
            return convert(text)
        except (ValueError, ArithmeticError):
            return text

    return run


def column_type(name: str, definition: Mapping[str, Any]) -> tuple[TDataType, Converter | None]:
    """The dlt data type of a property and how to parse its strings (None: keep as text)."""
    kind, field_type = definition.get("type"), definition.get("fieldType")
    if kind == "number":
        if name in settings.ID_PROPERTIES:
            return "bigint", _typed(int)
        return "decimal", _typed(Decimal)
    if kind == "datetime":
        return "timestamp", _typed(parse_timestamp)
    if kind == "date":
        return "date", _typed(_date)
    if kind == "bool" or field_type == "booleancheckbox":
        return "bool", _typed(_bool)
    return "text", None


_timestamp = _typed(parse_timestamp)


@dataclass(frozen=True)
class RecordShape:
    """How one object type's records become rows: the properties asked for and their types."""

    object_type: settings.ObjectType
    properties: list[str]
    converters: list[tuple[str, Converter | None]]
    columns: dict[str, TColumnSchema]

    @classmethod
    def from_definitions(
        cls, object_type: settings.ObjectType, definitions: Mapping[str, Mapping[str, Any]]
    ) -> RecordShape:
        """The shape for the wanted properties the portal defines (others are skipped)."""
        names = [name for name in object_type.properties if name in definitions]
        for required in ("hs_object_id", object_type.modified_property):
            if required not in names and required in definitions:
                names.append(required)
        columns = dict(BASE_COLUMNS)
        converters: list[tuple[str, Converter | None]] = []
        for name in names:
            data_type, convert = column_type(name, definitions[name])
            columns[name] = {"data_type": data_type}
            converters.append((name, convert))
        return cls(object_type, names, converters, columns)

    def row(self, record: Mapping[str, Any], links: Mapping[str, Iterable[int]]) -> dict[str, Any]:
        """One live record (and the ids it is associated with, per object type) as a row."""
        values = record.get("properties") or {}
        object_id = int(record["id"])
        row: dict[str, Any] = {"id": object_id}
        for name, convert in self.converters:
            value = values.get(name)
            if convert is not None and value is not None:
                value = convert(value) if value != "" else None
            row[name] = value
        row["archived"] = bool(record.get("archived", False))
        archived_at = record.get("archivedAt")
        row["archived_at"] = _timestamp(archived_at) if archived_at else None
        key = f"{self.object_type.singular}_id"
        for target in self.object_type.associations:
            target_key = f"{settings.SINGULAR[target]}_id"
            row[f"associated_{target}"] = [
                {key: object_id, target_key: target_id} for target_id in links.get(target, ())
            ]
        return row


def inline_links(record: Mapping[str, Any], targets: Iterable[str]) -> dict[str, list[int]]:
    """The associated ids a list-endpoint record carries (``associations.<type>.results``)."""
    found = record.get("associations") or {}
    links: dict[str, list[int]] = {}
    for target in targets:
        results = (found.get(target) or {}).get("results") or []
        links[target] = list(dict.fromkeys(int(link["id"]) for link in results))
    return links


def archived_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """An archived record as the row that deletes it."""
    archived_at = record.get("archivedAt")
    return {
        "id": int(record["id"]),
        "archived": True,
        "archived_at": _timestamp(archived_at) if archived_at else None,
    }
