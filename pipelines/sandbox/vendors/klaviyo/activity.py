"""Metrics, events, campaigns and flows: world tables as Klaviyo JSON:API resources.

Each ``*_collection`` builds a :class:`Collection` once per world version; each ``*_resource``
turns one frame row into the resource object Klaviyo returns (shapes from ``klaviyo/openapi``).
Event properties follow the shapes of Klaviyo's own email metrics and Shopify's Started Checkout.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl

from pipelines.sandbox.vendors.klaviyo.filters import Field
from pipelines.sandbox.vendors.klaviyo.paging import Collection, text_column, text_key, time_key
from pipelines.sandbox.vendors.klaviyo.render import CURRENCY, SHOP_URL, TIME, iso, sparse
from pipelines.sandbox.world import World

INTEGRATIONS: dict[str, dict[str, str]] = {
    "Klaviyo": {
        "object": "integration",
        "id": "0rG4eQ",
        "key": "klaviyo",
        "name": "Klaviyo",
        "category": "Internal",
    },
    "Shopify": {
        "object": "integration",
        "id": "0eMvjm",
        "key": "shopify",
        "name": "Shopify",
        "category": "eCommerce",
    },
}

METRIC_FILTERS: dict[str, Field] = {
    "integration.name": Field("string", ("equals",)),
    "integration.category": Field("string", ("equals",)),
}
EVENT_FILTERS: dict[str, Field] = {
    "metric_id": Field("string", ("equals",)),
    "profile_id": Field("string", ("equals",)),
    "profile": Field("string", ("has",)),
    "metric": Field("string", ("has",)),
    "datetime": Field("datetime", TIME),
    "timestamp": Field("number", TIME),
}
EVENT_SORTS = ("datetime", "timestamp")
CAMPAIGN_FILTERS: dict[str, Field] = {
    "id": Field("string", ("any",)),
    "messages.channel": Field("string", ("equals",)),
    "name": Field("string", ("contains",)),
    "status": Field("string", ("any", "equals")),
    "archived": Field("boolean", ("equals",)),
    "created_at": Field("datetime", TIME),
    "scheduled_at": Field("datetime", TIME),
    "updated_at": Field("datetime", TIME),
}
CAMPAIGN_SORTS = ("created_at", "id", "name", "scheduled_at", "updated_at")
FLOW_FILTERS: dict[str, Field] = {
    "id": Field("string", ("any",)),
    "name": Field("string", ("contains", "ends-with", "equals", "starts-with")),
    "status": Field("string", ("equals",)),
    "archived": Field("boolean", ("equals",)),
    "created": Field("datetime", ("equals", *TIME)),
    "updated": Field("datetime", ("equals", *TIME)),
    "trigger_type": Field("string", ("equals",)),
}
FLOW_SORTS = ("created", "id", "name", "status", "trigger_type", "updated")


def event_uuid(event_id: str) -> str:
    """A stable UUID-formatted id for an event (Klaviyo's ``attributes.uuid``)."""
    h = hashlib.md5(event_id.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --- metrics ---------------------------------------------------------------------------------


def metric_collection(world: World) -> Collection:
    """The metrics endpoint's collection."""
    rows = world.table("klaviyo_metrics").sort("metric_id")
    rows = rows.with_columns(
        iso("created").alias("created_iso"), iso("updated").alias("updated_iso")
    )
    integration = [INTEGRATIONS.get(name, _integration(name)) for name in rows["integration"]]
    return Collection(
        rows,
        rows["metric_id"],
        sort_keys={"id": np.arange(len(rows), dtype=np.int64)},
        filter_columns={
            "integration.name": pl.Series([i["name"] for i in integration], dtype=pl.String),
            "integration.category": pl.Series(
                [i["category"] for i in integration], dtype=pl.String
            ),
        },
    )


def _integration(name: str) -> dict[str, str]:
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    return {"object": "integration", "id": digest, "key": name.lower(), "name": name,
            "category": "API"}  # fmt: skip


def metric_resource(row: dict[str, Any], base: str, fields: list[str] | None) -> dict[str, Any]:
    """One metric as Klaviyo returns it."""
    mid = row["metric_id"]
    attributes = {
        "name": row["name"],
        "created": row["created_iso"],
        "updated": row["updated_iso"],
        "integration": INTEGRATIONS.get(row["integration"], _integration(row["integration"])),
    }
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/metrics/{mid}/"
    return {
        "type": "metric",
        "id": mid,
        "attributes": attributes,
        "relationships": {
            "flow-triggers": {
                "links": {
                    "self": f"{url}relationships/flow-triggers/",
                    "related": f"{url}flow-triggers/",
                }
            }
        },
        "links": {"self": url},
    }


# --- events ----------------------------------------------------------------------------------


def event_collection(world: World) -> Collection:
    """The events endpoint's collection, with the joins event properties need."""
    events = world.table("klaviyo_events")
    metrics = world.table("klaviyo_metrics").select("metric_id", pl.col("name").alias("metric"))
    campaigns = world.table("klaviyo_campaigns").select(
        "campaign_id", pl.col("name").alias("campaign_name"), "subject"
    )
    flows = world.table("klaviyo_flows").select("flow_id", pl.col("name").alias("flow_name"))
    lines = (
        world.table("shopify_checkout_lines")
        .sort("checkout_id", "line_no")
        .group_by("checkout_id")
        .agg(
            pl.struct(
                pl.col("title").alias("ProductName"),
                pl.col("sku").alias("SKU"),
                pl.col("quantity").alias("Quantity"),
                # a column divisor: polars turns "/ 100" into "* 0.01", which is inexact
                (pl.col("price_cents") / (pl.col("price_cents") * 0 + 100)).alias("ItemPrice"),
            ).alias("items")
        )
    )
    rows = (
        events.join(metrics, on="metric_id", how="left")
        .join(campaigns, on="campaign_id", how="left")
        .join(flows, on="flow_id", how="left")
        .join(lines, on="checkout_id", how="left")
        .sort("event_id")
        .with_columns(
            iso("datetime").alias("datetime_iso"),
            pl.col("datetime").dt.epoch("s").alias("timestamp"),
        )
    )
    seconds = rows["timestamp"].fill_null(np.iinfo(np.int64).min).to_numpy().astype(np.int64)
    moments = time_key(rows["datetime"])
    return Collection(
        rows,
        rows["event_id"],
        sort_keys={"datetime": moments, "timestamp": moments},
        filter_columns={
            "metric_id": text_column(rows["metric_id"]),
            "profile_id": text_column(rows["profile_id"]),
            "profile": text_column(rows["profile_id"]),
            "metric": text_column(rows["metric_id"]),
            "datetime": moments,
            "timestamp": seconds,
        },
    )


def event_properties(row: dict[str, Any]) -> dict[str, Any]:
    """``event_properties`` in the shape Klaviyo's own and Shopify's metrics use."""
    metric = row["metric"]
    if metric == "Started Checkout":
        items = row["items"] or []
        checkout = row["checkout_id"]
        return {
            "$event_id": str(checkout) if checkout is not None else row["event_id"],
            "$value": (row["value_cents"] or 0) / 100,
            "$currency_code": CURRENCY,
            "CheckoutURL": f"{SHOP_URL}/checkouts/{checkout}" if checkout is not None else None,
            "ItemNames": [item["ProductName"] for item in items],
            "Items": items,
            "$extra": {"checkout_id": checkout},
        }
    if row["campaign_id"] is not None:
        name, subject = row["campaign_name"], row["subject"]
    elif row["flow_id"] is not None:
        name, subject = f"{row['flow_name']}: Email 1", row["flow_name"]
    else:
        name, subject = None, None
    properties: dict[str, Any] = {
        "Subject": subject,
        "Campaign Name": name,
        "$message": row["message_id"],
        "$flow": row["flow_id"] or "",
        "$message_interaction": row["message_id"],
        "$event_id": ":".join(
            "" if row[key] is None else str(row[key])
            for key in ("message_id", "profile_id", "timestamp")
        ),
    }
    if metric == "Clicked Email":
        properties["URL"] = f"{SHOP_URL}/?utm_source=klaviyo&utm_medium=email"
    if metric == "Unsubscribed":
        properties = {k: properties[k] for k in ("Campaign Name", "$message", "$flow", "$event_id")}
    return properties


def event_resource(row: dict[str, Any], base: str, fields: list[str] | None) -> dict[str, Any]:
    """One event as Klaviyo returns it."""
    eid = row["event_id"]
    attributes = {
        "timestamp": row["timestamp"],
        "event_properties": event_properties(row),
        "datetime": row["datetime_iso"],
        "uuid": event_uuid(eid),
    }
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/events/{eid}/"
    relationships: dict[str, Any] = {}
    relationships["profile"] = {
        "data": {"type": "profile", "id": row["profile_id"]},
        "links": {"self": f"{url}relationships/profile/", "related": f"{url}profile/"},
    }
    relationships["metric"] = {
        "data": {"type": "metric", "id": row["metric_id"]},
        "links": {"self": f"{url}relationships/metric/", "related": f"{url}metric/"},
    }
    relationships["attributions"] = {
        "data": [],
        "links": {"self": f"{url}relationships/attributions/", "related": f"{url}attributions/"},
    }
    return {
        "type": "event",
        "id": eid,
        "attributes": attributes,
        "relationships": relationships,
        "links": {"self": url},
    }


# --- campaigns -------------------------------------------------------------------------------


def campaign_collection(world: World) -> Collection:
    """The campaigns endpoint's collection."""
    campaigns = world.table("klaviyo_campaigns")
    messages = (
        world.table("klaviyo_events")
        .filter(pl.col("campaign_id").is_not_null() & pl.col("message_id").is_not_null())
        .group_by("campaign_id")
        .agg(pl.col("message_id").min())
    )
    rows = (
        campaigns.join(messages, on="campaign_id", how="left")
        .sort("campaign_id")
        .with_columns(
            iso("send_time").alias("send_time_iso"),
            iso("created_at").alias("created_at_iso"),
            iso("scheduled_at").alias("scheduled_at_iso"),
            iso("updated_at").alias("updated_at_iso"),
        )
    )
    size = len(rows)
    return Collection(
        rows,
        rows["campaign_id"],
        sort_keys={
            "id": np.arange(size, dtype=np.int64),
            "name": lambda: text_key(rows["name"]),
            "created_at": time_key(rows["created_at"]),
            "scheduled_at": time_key(rows["scheduled_at"]),
            "updated_at": time_key(rows["updated_at"]),
        },
        filter_columns={
            "id": text_column(rows["campaign_id"]),
            "messages.channel": text_column(rows["channel"]),
            "name": text_column(rows["name"]),
            "status": text_column(rows["status"]),
            "archived": np.zeros(size, dtype=np.int64),
            "created_at": time_key(rows["created_at"]),
            "scheduled_at": time_key(rows["scheduled_at"]),
            "updated_at": time_key(rows["updated_at"]),
        },
    )


def message_id(row: dict[str, Any]) -> str:
    """The campaign's message id (from its events, else derived from the campaign id)."""
    if row["message_id"]:
        return str(row["message_id"])
    return hashlib.sha1(row["campaign_id"].encode()).hexdigest()[:6]


def campaign_resource(row: dict[str, Any], base: str, fields: list[str] | None) -> dict[str, Any]:
    """One campaign as Klaviyo returns it."""
    cid = row["campaign_id"]
    attributes = {
        "name": row["name"],
        "status": row["status"],
        "archived": False,
        "audiences": {"included": [row["list_id"]] if row["list_id"] else [], "excluded": []},
        "send_options": {"use_smart_sending": True},
        "tracking_options": {
            "add_tracking_params": False,
            "custom_tracking_params": None,
            "is_tracking_clicks": True,
            "is_tracking_opens": True,
        },
        "send_strategy": {
            "method": "static",
            "datetime": row["send_time_iso"],
            "options": {"is_local": False, "send_past_recipients_immediately": None},
        },
        "created_at": row["created_at_iso"],
        "scheduled_at": row["scheduled_at_iso"],
        "updated_at": row["updated_at_iso"],
        "send_time": row["send_time_iso"],
    }
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/campaigns/{cid}/"
    return {
        "type": "campaign",
        "id": cid,
        "attributes": attributes,
        "relationships": {
            "campaign-messages": {
                "data": [{"type": "campaign-message", "id": message_id(row)}],
                "links": {
                    "self": f"{url}relationships/campaign-messages/",
                    "related": f"{url}campaign-messages/",
                },
            },
            "tags": {"links": {"self": f"{url}relationships/tags/", "related": f"{url}tags/"}},
        },
        "links": {"self": url},
    }


def campaign_message(row: dict[str, Any], base: str) -> dict[str, Any]:
    """The campaign's email message (``include=campaign-messages``)."""
    mid = message_id(row)
    return {
        "type": "campaign-message",
        "id": mid,
        "attributes": {
            "definition": {
                "channel": row["channel"],
                "label": row["name"],
                "content": {
                    "subject": row["subject"],
                    "preview_text": None,
                    "from_email": "hello@tidewatersupply.com",
                    "from_label": "Tidewater Supply Co.",
                    "reply_to_email": None,
                    "cc_email": None,
                    "bcc_email": None,
                },
            },
            "send_times": (
                [{"datetime": row["send_time_iso"], "is_local": False}]
                if row["send_time_iso"]
                else []
            ),
            "created_at": row["created_at_iso"],
            "updated_at": row["updated_at_iso"],
        },
        "links": {"self": f"{base}/api/campaign-messages/{mid}/"},
    }


# --- flows -----------------------------------------------------------------------------------


def flow_collection(world: World) -> Collection:
    """The flows endpoint's collection."""
    rows = (
        world.table("klaviyo_flows")
        .sort("flow_id")
        .with_columns(iso("created").alias("created_iso"), iso("updated").alias("updated_iso"))
    )
    return Collection(
        rows,
        rows["flow_id"],
        sort_keys={
            "id": np.arange(len(rows), dtype=np.int64),
            "name": lambda: text_key(rows["name"]),
            "status": lambda: text_key(rows["status"]),
            "trigger_type": lambda: text_key(rows["trigger_type"]),
            "created": time_key(rows["created"]),
            "updated": time_key(rows["updated"]),
        },
        filter_columns={
            "id": text_column(rows["flow_id"]),
            "name": text_column(rows["name"]),
            "status": text_column(rows["status"]),
            "archived": np.zeros(len(rows), dtype=np.int64),
            "trigger_type": text_column(rows["trigger_type"]),
            "created": time_key(rows["created"]),
            "updated": time_key(rows["updated"]),
        },
    )


def flow_resource(row: dict[str, Any], base: str, fields: list[str] | None) -> dict[str, Any]:
    """One flow as Klaviyo returns it."""
    fid = row["flow_id"]
    attributes = {
        "name": row["name"],
        "status": row["status"],
        "archived": False,
        "created": row["created_iso"],
        "updated": row["updated_iso"],
        "trigger_type": row["trigger_type"],
    }
    if fields is not None:
        attributes = sparse(attributes, fields)
    url = f"{base}/api/flows/{fid}/"
    return {
        "type": "flow",
        "id": fid,
        "attributes": attributes,
        "relationships": {
            "flow-actions": {
                "links": {
                    "self": f"{url}relationships/flow-actions/",
                    "related": f"{url}flow-actions/",
                }
            },
            "tags": {"links": {"self": f"{url}relationships/tags/", "related": f"{url}tags/"}},
        },
        "links": {"self": url},
    }
