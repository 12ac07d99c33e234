"""Profiles, lists and list members (world plus the write-side overlay) as JSON:API resources.

Each ``*_collection`` function builds a :class:`Collection` once per world version and state
revision; each ``*_resource`` function turns one frame row into the resource object Klaviyo
returns (shapes from ``klaviyo/openapi`` ``openapi/stable/apis``). Timestamps render as ISO 8601
with ``+00:00``. Metrics, events, campaigns and flows are in :mod:`.activity`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import polars as pl

from pipelines.sandbox.vendors.klaviyo.filters import NULL_TIME, Field
from pipelines.sandbox.vendors.klaviyo.paging import (
    Collection,
    text_column,
    text_key,
    time_key,
)
from pipelines.sandbox.world import World

ISO = "%Y-%m-%dT%H:%M:%S%.f+00:00"
SHOP_URL = "https://tidewatersupply.com"
CURRENCY = "USD"

# The integration object Klaviyo attaches to a metric, per integration name in the world.
TIME = ("greater-or-equal", "greater-than", "less-or-equal", "less-than")

PROFILE_FILTERS: dict[str, Field] = {
    "id": Field("string", ("any", "equals")),
    "email": Field("string", ("any", "equals")),
    "phone_number": Field("string", ("any", "equals")),
    "external_id": Field("string", ("any", "equals")),
    "_kx": Field("string", ("equals",)),
    "created": Field("datetime", ("greater-than", "less-than")),
    "updated": Field("datetime", ("greater-than", "less-than")),
    "subscriptions.email.marketing.list_suppressions.reason": Field("string", ("equals",)),
    "subscriptions.email.marketing.list_suppressions.timestamp": Field("datetime", TIME),
    "subscriptions.email.marketing.list_suppressions.list_id": Field("string", ("equals",)),
    "subscriptions.email.marketing.suppression.reason": Field("string", ("equals",)),
    "subscriptions.email.marketing.suppression.timestamp": Field("datetime", TIME),
}
PROFILE_SORTS = (
    "id",
    "created",
    "updated",
    "email",
    "subscriptions.email.marketing.suppression.timestamp",
    "subscriptions.email.marketing.list_suppressions.timestamp",
)
MEMBER_FILTERS: dict[str, Field] = {
    "email": Field("string", ("any", "equals")),
    "phone_number": Field("string", ("any", "equals")),
    "push_token": Field("string", ("any", "equals")),
    "_kx": Field("string", ("equals",)),
    "joined_group_at": Field("datetime", TIME),
}
MEMBER_SORTS = ("joined_group_at",)
LIST_FILTERS: dict[str, Field] = {
    "name": Field("string", ("any", "equals")),
    "id": Field("string", ("any", "equals")),
    "created": Field("datetime", ("greater-than",)),
    "updated": Field("datetime", ("greater-than",)),
}
LIST_SORTS = ("id", "created", "name", "updated")

LOCATION_FIELDS = ("address1", "address2", "city", "country", "region", "zip", "timezone")


def iso(column: str) -> pl.Expr:
    """A UTC datetime column rendered the way Klaviyo writes datetimes."""
    return pl.col(column).dt.strftime(ISO)


def parse_iso(text: str | None) -> datetime | None:
    """An aware datetime from ISO text (None stays None)."""
    return datetime.fromisoformat(text) if text else None


# --- profiles --------------------------------------------------------------------------------


def world_profile_rows(world: World) -> pl.DataFrame:
    """The world's profiles as render rows (one per profile, id order)."""
    profiles = world.table("klaviyo_profiles")
    events = world.table("klaviyo_events")
    last_event = events.group_by("profile_id").agg(pl.col("datetime").max().alias("last_event"))
    frame = profiles.join(last_event, on="profile_id", how="left").sort("profile_id")
    none = pl.lit(None, dtype=pl.String)
    return frame.select(
        "profile_id", "email", "phone_number", "external_id", "first_name", "last_name",
        none.alias("organization"), none.alias("locale"), none.alias("title"),
        none.alias("image"), none.alias("address1"), none.alias("address2"), "city", "region",
        "zip", none.alias("country"), none.alias("timezone"), none.alias("properties"),
        "email_consent", iso("email_consent_at").alias("consent_at"), iso("created"),
        iso("updated"), iso("last_event").alias("last_event_date"),
        pl.col("created").alias("created_ts"), pl.col("updated").alias("updated_ts"),
        pl.col("email_consent_at").alias("consent_ts"),
    )  # fmt: skip


def state_profile_row(record: dict[str, Any]) -> dict[str, Any]:
    """A profile kept in the write-side state as a render row."""
    attributes = record["attributes"]
    location = attributes.get("location") or {}
    marketing = record.get("subscriptions", {}).get("email", {}).get("marketing", {})
    properties = attributes.get("properties") or None
    row: dict[str, Any] = {
        "profile_id": record["id"],
        **{key: attributes.get(key) for key in ("email", "phone_number", "external_id")},
        **{key: attributes.get(key) for key in ("first_name", "last_name", "organization")},
        **{key: attributes.get(key) for key in ("locale", "title", "image")},
        **{key: location.get(key) for key in LOCATION_FIELDS},
        "properties": orjson.dumps(properties).decode() if properties else None,
        "email_consent": marketing.get("consent", "NEVER_SUBSCRIBED"),
        "consent_at": marketing.get("consent_timestamp"),
        "created": record["created"],
        "updated": record["updated"],
        "last_event_date": record.get("last_event_date"),
        "created_ts": parse_iso(record["created"]),
        "updated_ts": parse_iso(record["updated"]),
        "consent_ts": parse_iso(marketing.get("consent_timestamp")),
    }
    return row


def merge_profiles(world_rows: pl.DataFrame, doc: dict[str, Any]) -> pl.DataFrame:
    """World profiles with the state's changes applied (updated, created, deleted)."""
    changed = doc.get("profiles", {})
    deleted = doc.get("deleted_profiles", {})
    if not changed and not deleted:
        return world_rows
    drop = set(changed) | set(deleted)
    kept = world_rows.filter(~pl.col("profile_id").is_in(list(drop)))
    rows = [state_profile_row(record) for pid, record in changed.items() if pid not in deleted]
    if not rows:
        return kept
    added = pl.DataFrame(rows, schema=kept.schema)
    return pl.concat([kept, added]).sort("profile_id")


def profile_collection(rows: pl.DataFrame) -> Collection:
    """The profiles endpoint's collection over render rows."""
    suppressed = rows["email_consent"] == "UNSUBSCRIBED"
    reason = pl.Series([None] * len(rows), dtype=pl.String).set(suppressed, "UNSUBSCRIBE")
    suppression_ts = rows["consent_ts"].set(~suppressed, None)
    empty_text = pl.Series([None] * len(rows), dtype=pl.String)
    empty_time = np.full(len(rows), NULL_TIME, dtype=np.int64)
    return Collection(
        rows,
        rows["profile_id"],
        sort_keys={
            "id": np.arange(len(rows), dtype=np.int64),
            "created": time_key(rows["created_ts"]),
            "updated": time_key(rows["updated_ts"]),
            "email": lambda: text_key(rows["email"].str.to_lowercase()),
            "subscriptions.email.marketing.suppression.timestamp": time_key(suppression_ts),
            "subscriptions.email.marketing.list_suppressions.timestamp": empty_time,
        },
        filter_columns={
            "id": text_column(rows["profile_id"]),
            "email": text_column(rows["email"]),
            "phone_number": text_column(rows["phone_number"]),
            "external_id": text_column(rows["external_id"]),
            "_kx": empty_text,
            "created": time_key(rows["created_ts"]),
            "updated": time_key(rows["updated_ts"]),
            "subscriptions.email.marketing.list_suppressions.reason": empty_text,
            "subscriptions.email.marketing.list_suppressions.timestamp": empty_time,
            "subscriptions.email.marketing.list_suppressions.list_id": empty_text,
            "subscriptions.email.marketing.suppression.reason": text_column(reason),
            "subscriptions.email.marketing.suppression.timestamp": time_key(suppression_ts),
        },
        folded=frozenset({"email"}),
    )


def subscriptions(row: dict[str, Any]) -> dict[str, Any]:
    """``attributes.subscriptions`` (``additional-fields[profile]=subscriptions``)."""
    consent = row["email_consent"] or "NEVER_SUBSCRIBED"
    suppressed = consent == "UNSUBSCRIBED"
    return {
        "email": {
            "marketing": {
                "can_receive_email_marketing": not suppressed,
                "consent": consent,
                "consent_timestamp": row["consent_at"],
                "last_updated": row["consent_at"],
                "method": None if consent == "NEVER_SUBSCRIBED" else "API",
                "method_detail": "",
                "custom_method_detail": None,
                "double_optin": None,
                "suppression": (
                    [{"reason": "UNSUBSCRIBE", "timestamp": row["consent_at"]}]
                    if suppressed
                    else []
                ),
                "list_suppressions": [],
            }
        },
        "sms": {
            "marketing": {
                "can_receive_sms_marketing": False,
                "consent": "NEVER_SUBSCRIBED",
                "consent_timestamp": None,
                "method": None,
                "method_detail": "",
                "last_updated": None,
            },
            "transactional": None,
        },
        "mobile_push": None,
    }


def profile_attributes(row: dict[str, Any], with_subscriptions: bool) -> dict[str, Any]:
    """A profile row's ``attributes``."""
    attributes: dict[str, Any] = {
        "email": row["email"],
        "phone_number": row["phone_number"],
        "external_id": row["external_id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "organization": row["organization"],
        "locale": row["locale"],
        "title": row["title"],
        "image": row["image"],
        "created": row["created"],
        "updated": row["updated"],
        "last_event_date": row["last_event_date"],
        "location": {
            "address1": row["address1"],
            "address2": row["address2"],
            "city": row["city"],
            "country": row["country"],
            "latitude": None,
            "longitude": None,
            "region": row["region"],
            "zip": row["zip"],
            "timezone": row["timezone"],
            "ip": None,
        },
        "properties": orjson.loads(row["properties"]) if row["properties"] else {},
    }
    if with_subscriptions:
        attributes["subscriptions"] = subscriptions(row)
    return attributes


def profile_resource(
    row: dict[str, Any], base: str, with_subscriptions: bool, fields: list[str] | None
) -> dict[str, Any]:
    """One profile as Klaviyo returns it."""
    pid = row["profile_id"]
    attributes = profile_attributes(row, with_subscriptions)
    if "joined_group_at" in row:
        attributes["joined_group_at"] = row["joined_group_at"]
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/profiles/{pid}/"
    return {
        "type": "profile",
        "id": pid,
        "attributes": attributes,
        "relationships": {
            "lists": {"links": {"self": f"{url}relationships/lists/", "related": f"{url}lists/"}},
            "segments": {
                "links": {"self": f"{url}relationships/segments/", "related": f"{url}segments/"}
            },
        },
        "links": {"self": url},
    }


def sparse(attributes: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only the requested (possibly dotted) attribute paths."""
    out: dict[str, Any] = {}
    for path in fields:
        parts = path.split(".")
        source: Any = attributes
        for part in parts:
            if not isinstance(source, dict) or part not in source:
                source = None
                break
            source = source[part]
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = source
    return out


# --- lists -----------------------------------------------------------------------------------


def list_rows(world: World, doc: dict[str, Any]) -> pl.DataFrame:
    """World lists plus lists created through the API, in id order."""
    lists = world.table("klaviyo_lists").select(
        "list_id", "name", "opt_in_process", iso("created"), iso("updated"),
        pl.col("created").alias("created_ts"), pl.col("updated").alias("updated_ts"),
    )  # fmt: skip
    created = [
        {
            "list_id": record["id"],
            "name": record["name"],
            "opt_in_process": record["opt_in_process"],
            "created": record["created"],
            "updated": record["updated"],
            "created_ts": parse_iso(record["created"]),
            "updated_ts": parse_iso(record["updated"]),
        }
        for record in doc.get("lists", {}).values()
    ]
    if created:
        lists = pl.concat([lists, pl.DataFrame(created, schema=lists.schema)])
    return lists.sort("list_id")


def list_collection(rows: pl.DataFrame) -> Collection:
    """The lists endpoint's collection."""
    return Collection(
        rows,
        rows["list_id"],
        sort_keys={
            "id": np.arange(len(rows), dtype=np.int64),
            "created": time_key(rows["created_ts"]),
            "name": text_key(rows["name"]),
            "updated": time_key(rows["updated_ts"]),
        },
        filter_columns={
            "id": text_column(rows["list_id"]),
            "name": text_column(rows["name"]),
            "created": time_key(rows["created_ts"]),
            "updated": time_key(rows["updated_ts"]),
        },
    )


def list_resource(row: dict[str, Any], base: str, fields: list[str] | None) -> dict[str, Any]:
    """One list as Klaviyo returns it."""
    lid = row["list_id"]
    attributes = {
        "name": row["name"],
        "created": row["created"],
        "updated": row["updated"],
        "opt_in_process": row["opt_in_process"],
    }
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/lists/{lid}/"
    return {
        "type": "list",
        "id": lid,
        "attributes": attributes,
        "relationships": {
            "profiles": {
                "links": {"self": f"{url}relationships/profiles/", "related": f"{url}profiles/"}
            },
            "tags": {"links": {"self": f"{url}relationships/tags/", "related": f"{url}tags/"}},
            "flow-triggers": {
                "links": {
                    "self": f"{url}relationships/flow-triggers/",
                    "related": f"{url}flow-triggers/",
                }
            },
        },
        "links": {"self": url},
    }


def member_rows(
    profiles: pl.DataFrame, world_members: pl.DataFrame, membership: dict[str, Any]
) -> pl.DataFrame:
    """Profiles of one list with ``joined_group_at`` (world members + API changes)."""
    removed = set(membership.get("removed", []))
    added: dict[str, str] = membership.get("added", {})
    joined = world_members.filter(~pl.col("profile_id").is_in(list(removed | set(added))))
    joined = joined.select("profile_id", pl.col("joined_at").alias("joined_ts"))
    if added:
        extra = pl.DataFrame(
            {"profile_id": list(added), "joined_ts": [parse_iso(at) for at in added.values()]},
            schema=joined.schema,
        )
        joined = pl.concat([joined, extra])
    frame = profiles.join(joined, on="profile_id", how="inner").sort("profile_id")
    return frame.with_columns(iso("joined_ts").alias("joined_group_at"))


def member_collection(rows: pl.DataFrame) -> Collection:
    """A list's members endpoint collection."""
    joined = time_key(rows["joined_ts"])
    nothing = pl.Series([None] * len(rows), dtype=pl.String)
    return Collection(
        rows,
        rows["profile_id"],
        sort_keys={"joined_group_at": joined},
        filter_columns={
            "email": text_column(rows["email"]),
            "phone_number": text_column(rows["phone_number"]),
            "push_token": nothing,
            "_kx": nothing,
            "joined_group_at": joined,
        },
        folded=frozenset({"email"}),
    )
