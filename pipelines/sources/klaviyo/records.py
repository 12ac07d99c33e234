"""Klaviyo resources as warehouse rows.

Most resources become flat dicts (``id``, the attributes, related ids as ``<relation>_id(s)``)
that dlt flattens further (``location__city``). Events, the big table, become one Arrow table
per page instead: a handful of list comprehensions per page, no per-row work in dlt, and
``event_properties`` kept whole as JSON text beside the typed columns staging needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

Record = dict[str, Any]

TIMESTAMP = pa.timestamp("us", tz="UTC")

# The typed event columns (``event_properties`` keeps every property, these pick out the ones
# staging joins and sums on).
EVENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        ("datetime", TIMESTAMP),
        ("timestamp", pa.int64()),
        ("uuid", pa.string()),
        ("metric_id", pa.string()),
        ("profile_id", pa.string()),
        ("event_id", pa.string()),  # $event_id: the sender's id of the event
        ("message_id", pa.string()),  # $message: the campaign or flow message
        ("flow_id", pa.string()),  # $flow
        ("campaign_name", pa.string()),  # Campaign Name (a flow's "<flow>: <message>")
        ("subject", pa.string()),
        ("value", pa.float64()),  # $value
        ("value_currency", pa.string()),  # $currency_code
        ("checkout_id", pa.string()),  # $extra.checkout_id (Started Checkout)
        ("attributions", pa.string()),  # relationships.attributions.data as JSON
        ("event_properties", pa.string()),  # JSON
    ]
)


def resource_row(record: Record) -> Record:
    """A JSON:API resource as one row: ``id``, its attributes, and its related resources' ids
    (``metric_id`` for a to-one relation, ``campaign_messages_ids`` for a to-many)."""
    row: Record = {"id": record["id"], **(record.get("attributes") or {})}
    for name, relation in (record.get("relationships") or {}).items():
        if not isinstance(relation, dict) or "data" not in relation:
            continue
        data = relation["data"]
        key = name.replace("-", "_")
        if isinstance(data, list):
            row[f"{key}_ids"] = [item.get("id") for item in data if isinstance(item, dict)]
        else:
            row[f"{key}_id"] = data.get("id") if isinstance(data, dict) else None
    return row


def profile_row(record: Record) -> Record:
    """A profile: its attributes with ``subscriptions`` reduced to email marketing consent, and
    custom ``properties`` kept as one JSON value (accounts define hundreds).

    ``last_event_date`` is left out: it moves with every event without moving ``updated``, so an
    incremental copy would go stale (staging takes the newest event's datetime instead)."""
    row = resource_row(record)
    row.pop("last_event_date", None)
    subscriptions = row.pop("subscriptions", None) or {}
    marketing = (subscriptions.get("email") or {}).get("marketing") or {}
    row["email_marketing_consent"] = marketing.get("consent")
    row["email_marketing_consent_timestamp"] = marketing.get("consent_timestamp")
    row["can_receive_email_marketing"] = marketing.get("can_receive_email_marketing")
    row["properties"] = row.get("properties") or None
    return row


def campaign_row(record: Record) -> Record:
    """A campaign with its email message's id (``$message`` on its events) as ``message_id``."""
    row = resource_row(record)
    messages = row.pop("campaign_messages_ids", None) or []
    row["message_id"] = messages[0] if messages else None
    if len(messages) > 1:
        row["message_ids"] = messages
    return row


def membership_row(list_id: str, record: Record) -> Record:
    """One profile's membership of a list (``/api/lists/{id}/profiles``)."""
    attributes = record.get("attributes") or {}
    return {
        "list_id": list_id,
        "profile_id": record["id"],
        "joined_group_at": attributes.get("joined_group_at"),
    }


def _to_one(relationships: Any, name: str) -> Any:
    relation = relationships.get(name) if isinstance(relationships, dict) else None
    data = relation.get("data") if isinstance(relation, dict) else None
    return data.get("id") if isinstance(data, dict) else None


def _attributions(relationships: Any) -> bytes | None:
    relation = relationships.get("attributions") if isinstance(relationships, dict) else None
    data = relation.get("data") if isinstance(relation, dict) else None
    return orjson.dumps(data) if data else None


def _extra_checkout(properties: Record) -> Any:
    extra = properties.get("$extra")
    checkout = extra.get("checkout_id") if isinstance(extra, dict) else None
    return None if checkout is None else str(checkout)


def events_table(page: list[Record]) -> pa.Table:
    """One page of events as an Arrow table of :data:`EVENT_SCHEMA`."""
    attributes = [event.get("attributes") or {} for event in page]
    relationships = [event.get("relationships") for event in page]
    properties = [a.get("event_properties") or {} for a in attributes]
    columns = {
        "id": [event["id"] for event in page],
        "datetime": [a.get("datetime") for a in attributes],
        "timestamp": [a.get("timestamp") for a in attributes],
        "uuid": [a.get("uuid") for a in attributes],
        "metric_id": [_to_one(r, "metric") for r in relationships],
        "profile_id": [_to_one(r, "profile") for r in relationships],
        "event_id": [p.get("$event_id") for p in properties],
        "message_id": [p.get("$message") for p in properties],
        "flow_id": [p.get("$flow") or None for p in properties],
        "campaign_name": [p.get("Campaign Name") for p in properties],
        "subject": [p.get("Subject") for p in properties],
        "value": [p.get("$value") for p in properties],
        "value_currency": [p.get("$currency_code") for p in properties],
        "checkout_id": [_extra_checkout(p) for p in properties],
        "attributions": [_attributions(r) for r in relationships],
        "event_properties": [orjson.dumps(p) for p in properties],
    }
    arrays = [_array(columns[field.name], field.type) for field in EVENT_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def _array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``kind``; a value of another type (schema drift in one
    record) is converted, or null when it cannot be (the JSON properties keep the original)."""
    if kind == TIMESTAMP:
        try:
            return pa.array(values, pa.string()).cast(TIMESTAMP)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([_moment(value) for value in values], TIMESTAMP)
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_coerce(value, kind) for value in values], kind)


def _coerce(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(kind):
        if isinstance(value, str | bytes):
            return value
        return orjson.dumps(value) if isinstance(value, dict | list) else str(value)
    try:
        number = float(value) if pa.types.is_floating(kind) else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if pa.types.is_integer(kind) and not -(2**63) <= number < 2**63:
        return None
    return number


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
