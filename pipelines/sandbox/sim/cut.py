"""The served world: the timeline cut at the clock, with time-dependent fields derived as of then.

Rows exist when created at or before the clock; an event column (``cancelled_at``,
``archived_at``, ``void_date`` ...) is null while its event lies after the clock; statuses
(financial, fulfilment, tracker, deal and ticket stages, consent) and ``updated_at`` columns are
derived from the events at or before the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import polars as pl

from pipelines.sandbox import schema
from pipelines.sandbox.sim.context import SHOP_DOMAIN
from pipelines.sandbox.sim.ids import hashed_hex

PRIMARY_KEYS: dict[str, list[str]] = {
    "people": ["person_id"],
    "products": ["product_id"],
    "variants": ["variant_id"],
    "locations": ["location_id"],
    "inventory_levels": ["inventory_item_id", "location_id"],
    "inventory_movements": ["movement_id"],
    "shopify_customers": ["customer_id"],
    "shopify_orders": ["order_id"],
    "shopify_order_lines": ["line_item_id"],
    "shopify_refunds": ["refund_id"],
    "shopify_refund_lines": ["refund_line_item_id"],
    "shopify_fulfillments": ["fulfillment_id"],
    "shopify_abandoned_checkouts": ["checkout_id"],
    "shopify_checkout_lines": ["checkout_id", "line_no"],
    "amazon_orders": ["amazon_order_id"],
    "amazon_order_items": ["order_item_id"],
    "pos_transactions": ["transaction_id"],
    "pos_lines": ["transaction_id", "line_no"],
    "hubspot_companies": ["company_id"],
    "hubspot_contacts": ["contact_id"],
    "hubspot_deals": ["deal_id"],
    "hubspot_tickets": ["ticket_id"],
    "hubspot_engagements": ["engagement_id"],
    "klaviyo_profiles": ["profile_id"],
    "klaviyo_lists": ["list_id"],
    "klaviyo_list_members": ["list_id", "profile_id"],
    "klaviyo_metrics": ["metric_id"],
    "klaviyo_campaigns": ["campaign_id"],
    "klaviyo_flows": ["flow_id"],
    "klaviyo_events": ["event_id"],
    "shipstation_shipments": ["shipment_id"],
    "easypost_trackers": ["tracker_id"],
    "easypost_tracking_details": ["tracker_id", "seq"],
}

# Tables whose rows simply exist from a time column on (and have nothing else to derive).
CREATED_BY: dict[str, str] = {
    "people": "joined_at",
    "variants": "created_at",
    "locations": "created_at",
    "inventory_movements": "occurred_at",
    "shopify_order_lines": "_at",
    "shopify_refunds": "created_at",
    "shopify_refund_lines": "_at",
    "shopify_checkout_lines": "_at",
    "pos_transactions": "occurred_at",
    "pos_lines": "_at",
    "hubspot_engagements": "createdate",
    "klaviyo_lists": "created",
    "klaviyo_list_members": "joined_at",
    "klaviyo_metrics": "created",
    "klaviyo_flows": "created",
    "easypost_tracking_details": "datetime",
}

Loader = Callable[[str], pl.LazyFrame]
World = dict[str, pl.DataFrame]
Frame = pl.DataFrame | pl.LazyFrame


def _past(column: str, clock: pl.Expr) -> pl.Expr:
    """The column where its time is at or before the clock, else null."""
    return pl.when(pl.col(column) <= clock).then(pl.col(column))


def _latest(*exprs: pl.Expr) -> pl.Expr:
    """The latest non-null of several times."""
    return pl.max_horizontal(*exprs)


def _products(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("products")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            status=pl.when(pl.col("_archived_at") <= c)
            .then(pl.lit("ARCHIVED"))
            .otherwise(pl.lit("ACTIVE")),
            updated_at=_latest(pl.col("created_at"), _past("_archived_at", c)),
        )
    )


def _customers(t: Loader, c: pl.Expr, w: World) -> Frame:
    last_order = (
        w["shopify_orders"]
        .lazy()
        .filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(pl.col("created_at").max().alias("_last_order"))
    )
    subscribed = pl.col("_sub_at") <= c
    unsubscribed = pl.col("_unsub_at") <= c
    return (
        t("shopify_customers")
        .filter(pl.col("created_at") <= c)
        .join(last_order, on="customer_id", how="left", maintain_order="left")
        .with_columns(
            email_marketing_state=pl.when(unsubscribed)
            .then(pl.lit("UNSUBSCRIBED"))
            .when(subscribed)
            .then(pl.lit("SUBSCRIBED"))
            .otherwise(pl.lit("NOT_SUBSCRIBED")),
            email_marketing_opt_in_level=pl.when(subscribed)
            .then(pl.col("_opt_in_level"))
            .otherwise(pl.lit("UNKNOWN")),
            email_consent_updated_at=pl.when(unsubscribed)
            .then(pl.col("_unsub_at"))
            .when(subscribed)
            .then(pl.col("_sub_at")),
        )
        .with_columns(
            updated_at=_latest(
                pl.col("created_at"), pl.col("email_consent_updated_at"), pl.col("_last_order")
            )
        )
    )


def _orders(t: Loader, c: pl.Expr, w: World) -> Frame:
    refunded = (
        w["shopify_refund_lines"]
        .lazy()
        .group_by("order_id")
        .agg(
            pl.col("subtotal_cents").sum().alias("total_refunded_cents"),
            pl.col("_at").max().alias("_last_refund"),
        )
    )
    fulfilled = (
        w["shopify_fulfillments"]
        .lazy()
        .group_by("order_id")
        .agg(
            (pl.col("status") == "SUCCESS").any().alias("_fulfilled"),
            pl.col("updated_at").max().alias("_last_fulfilment"),
        )
    )
    cancelled = pl.col("cancelled_at").is_not_null()
    refunds = pl.col("total_refunded_cents")
    return (
        t("shopify_orders")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            cancelled_at=_past("cancelled_at", c),
            cancel_reason=pl.when(pl.col("cancelled_at") <= c).then(pl.col("cancel_reason")),
        )
        .join(refunded, on="order_id", how="left", maintain_order="left")
        .join(fulfilled, on="order_id", how="left", maintain_order="left")
        .with_columns(refunds.fill_null(0))
        .with_columns(
            financial_status=pl.when(cancelled)
            .then(pl.lit("VOIDED"))
            .when(
                (refunds > 0)
                & (refunds >= pl.col("subtotal_cents") - pl.col("total_discounts_cents"))
            )
            .then(pl.lit("REFUNDED"))
            .when(refunds > 0)
            .then(pl.lit("PARTIALLY_REFUNDED"))
            .otherwise(pl.lit("PAID")),
            fulfillment_status=pl.when(pl.col("_fulfilled").fill_null(False))
            .then(pl.lit("FULFILLED"))
            .otherwise(pl.lit("UNFULFILLED")),
            updated_at=_latest(
                pl.col("created_at"),
                pl.col("cancelled_at"),
                pl.col("_last_refund"),
                pl.col("_last_fulfilment"),
            ),
        )
    )


def _fulfillments(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("shopify_fulfillments")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            status=pl.when(pl.col("_cancelled_at") <= c)
            .then(pl.lit("CANCELLED"))
            .otherwise(pl.lit("SUCCESS")),
            updated_at=_latest(pl.col("created_at"), _past("_cancelled_at", c)),
        )
    )


def _amazon_orders(t: Loader, c: pl.Expr, w: World) -> Frame:
    shipped = pl.col("_shipped_at") <= c
    return (
        t("amazon_orders")
        .filter(pl.col("purchase_date") <= c)
        .with_columns(
            order_status=pl.when(pl.col("_cancelled_at") <= c)
            .then(pl.lit("Canceled"))
            .when(shipped)
            .then(pl.lit("Shipped"))
            .when(pl.col("_pending_until") <= c)
            .then(pl.lit("Unshipped"))
            .otherwise(pl.lit("Pending")),
            last_update_date=_latest(
                pl.col("purchase_date"),
                _past("_pending_until", c),
                _past("_shipped_at", c),
                _past("_cancelled_at", c),
            ),
            number_of_items_shipped=pl.when(shipped).then(pl.col("_n_items")).otherwise(0),
            number_of_items_unshipped=pl.when(shipped | (pl.col("_cancelled_at") <= c))
            .then(0)
            .otherwise(pl.col("_n_items")),
        )
    )


def _amazon_items(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("amazon_order_items")
        .filter(pl.col("_at") <= c)
        .with_columns(
            quantity_shipped=pl.when(pl.col("_shipped_at") <= c)
            .then(pl.col("quantity_ordered"))
            .otherwise(0)
        )
    )


def _archivable(table: str, created: str, modified: str) -> Callable[..., Frame]:
    def cut_table(t: Loader, c: pl.Expr, w: World) -> Frame:
        return (
            t(table)
            .filter(pl.col(created) <= c)
            .with_columns(archived_at=_past("archived_at", c))
            .with_columns(**{modified: _latest(pl.col(created), pl.col("archived_at"))})
        )

    return cut_table


def _contacts(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("hubspot_contacts")
        .filter(pl.col("createdate") <= c)
        .with_columns(
            archived_at=_past("archived_at", c),
            lifecyclestage=pl.when(pl.col("_customer_at") <= c)
            .then(pl.lit("customer"))
            .when(pl.col("_opportunity_at") <= c)
            .then(pl.lit("opportunity"))
            .otherwise(pl.col("_stage0")),
        )
        .with_columns(
            lastmodifieddate=_latest(
                pl.col("createdate"),
                pl.col("archived_at"),
                _past("_customer_at", c),
                _past("_opportunity_at", c),
            )
        )
    )


def _deals(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("hubspot_deals")
        .filter(pl.col("createdate") <= c)
        .with_columns(
            archived_at=_past("archived_at", c),
            dealstage=pl.when(pl.col("closedate") <= c)
            .then(pl.col("_final_stage"))
            .when(pl.col("_qualified_at") <= c)
            .then(pl.lit("qualifiedtobuy"))
            .otherwise(pl.lit("appointmentscheduled")),
        )
        .with_columns(
            hs_lastmodifieddate=_latest(
                pl.col("createdate"),
                pl.col("archived_at"),
                _past("_qualified_at", c),
                _past("closedate", c),
            )
        )
    )


def _tickets(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("hubspot_tickets")
        .filter(pl.col("createdate") <= c)
        .with_columns(
            closed_date=_past("closed_date", c),
            hs_pipeline_stage=pl.when(pl.col("closed_date") <= c)
            .then(pl.lit("4"))
            .when(pl.col("_progress_at") <= c)
            .then(pl.col("_progress_stage"))
            .otherwise(pl.lit("1")),
        )
        .with_columns(
            hs_lastmodifieddate=_latest(
                pl.col("createdate"), _past("_progress_at", c), pl.col("closed_date")
            )
        )
    )


def _profiles(t: Loader, c: pl.Expr, w: World) -> Frame:
    subscribed = pl.col("_sub_at") <= c
    unsubscribed = pl.col("_unsub_at") <= c
    return (
        t("klaviyo_profiles")
        .filter(pl.col("created") <= c)
        .with_columns(
            external_id=pl.when(pl.col("_external_at") <= c).then(pl.col("external_id")),
            email_consent=pl.when(unsubscribed)
            .then(pl.lit("UNSUBSCRIBED"))
            .when(subscribed)
            .then(pl.lit("SUBSCRIBED"))
            .otherwise(pl.lit("NEVER_SUBSCRIBED")),
            email_consent_at=pl.when(unsubscribed)
            .then(pl.col("_unsub_at"))
            .when(subscribed)
            .then(pl.col("_sub_at")),
        )
        .with_columns(
            updated=_latest(pl.col("created"), pl.col("email_consent_at"), _past("_external_at", c))
        )
    )


def _campaigns(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("klaviyo_campaigns")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            status=pl.when(pl.col("send_time") <= c)
            .then(pl.lit("Sent"))
            .when(pl.col("scheduled_at") <= c)
            .then(pl.lit("Scheduled"))
            .otherwise(pl.lit("Draft")),
            scheduled_at=_past("scheduled_at", c),
        )
        .with_columns(
            send_time=pl.when(pl.col("scheduled_at").is_not_null()).then(pl.col("send_time")),
            updated_at=_latest(pl.col("created_at"), pl.col("scheduled_at"), _past("send_time", c)),
        )
    )


def _shipments(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("shipstation_shipments")
        .filter(pl.col("create_date") <= c)
        .with_columns(voided=pl.col("void_date") <= c)
        .with_columns(pl.col("voided").fill_null(False), void_date=_past("void_date", c))
    )


def _trackers(t: Loader, c: pl.Expr, w: World) -> Frame:
    final = pl.col("_final") <= c
    return (
        t("easypost_trackers")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            status=pl.when(final)
            .then(pl.col("_final_status"))
            .when(pl.col("_ofd") <= c)
            .then(pl.lit("out_for_delivery"))
            .when(pl.col("_t1") <= c)
            .then(pl.lit("in_transit"))
            .otherwise(pl.lit("pre_transit")),
            delivered_at=pl.when(final & (pl.col("_final_status") == "delivered")).then(
                pl.col("_final")
            ),
            updated_at=_latest(
                pl.col("created_at"),
                _past("_t1", c),
                _past("_t2", c),
                _past("_ofd", c),
                _past("_final", c),
            ),
        )
    )


def _inventory_levels(t: Loader, c: pl.Expr, w: World) -> Frame:
    locations = w["locations"].select("location_id", "kind")
    kinds = dict(
        zip(locations.get_column("kind"), locations.get_column("location_id"), strict=True)
    )
    open_web = w["shopify_orders"].filter(
        ~pl.col("is_test")
        & pl.col("cancelled_at").is_null()
        & (pl.col("fulfillment_status") == "UNFULFILLED")
    )
    web = (
        w["shopify_order_lines"]
        .join(open_web.select("order_id"), on="order_id", how="semi")
        .group_by("sku")
        .agg(pl.col("quantity").sum().alias("committed"))
        .with_columns(location_id=pl.lit(kinds.get("warehouse"), dtype=pl.Int64))
    )
    open_amazon = w["amazon_orders"].filter(pl.col("order_status").is_in(["Pending", "Unshipped"]))
    amazon = (
        w["amazon_order_items"]
        .join(open_amazon.select("amazon_order_id"), on="amazon_order_id", how="semi")
        .group_by(pl.col("seller_sku").alias("sku"))
        .agg(pl.col("quantity_ordered").sum().alias("committed"))
        .with_columns(location_id=pl.lit(kinds.get("amazon_fba"), dtype=pl.Int64))
    )
    committed = pl.concat([web, amazon.select(web.columns)])
    return (
        w["inventory_movements"]
        .group_by("inventory_item_id", "location_id", "sku")
        .agg(
            pl.col("delta").sum().alias("on_hand"), pl.col("occurred_at").max().alias("updated_at")
        )
        .join(committed, on=["sku", "location_id"], how="left")
        .with_columns(pl.col("committed").fill_null(0))
        .with_columns(available=pl.col("on_hand") - pl.col("committed"))
        .sort("inventory_item_id", "location_id")
    )


def _checkouts(t: Loader, c: pl.Expr, w: World) -> Frame:
    return (
        t("shopify_abandoned_checkouts")
        .filter(pl.col("created_at") <= c)
        .with_columns(
            abandoned_checkout_url=pl.col("checkout_id").map_batches(
                _recovery_urls, return_dtype=pl.String
            )
        )
    )


def _recovery_urls(checkout_id: pl.Series) -> pl.Series:
    """The checkout's recovery link: a token and a key derived from its id."""
    values = checkout_id.to_numpy()
    token, key = hashed_hex(values, 1), hashed_hex(values, 2)
    return f"https://{SHOP_DOMAIN}/checkouts/cn/" + token + "/recover?key=" + key


def _events(t: Loader, c: pl.Expr, w: World) -> Frame:
    profiles = t("klaviyo_profiles").select(
        pl.col("person_id").cast(pl.Int32).alias("_person_id"), "profile_id"
    )
    return (
        t("klaviyo_events")
        .filter(pl.col("datetime") <= c)
        .join(profiles, on="_person_id", how="left", maintain_order="left")
    )


def _simple(table: str) -> Callable[..., Frame]:
    def cut_table(t: Loader, c: pl.Expr, w: World) -> Frame:
        return t(table).filter(pl.col(CREATED_BY[table]) <= c)

    return cut_table


# In dependency order: a table's cut may read the tables in KEEP cut before it (``w``).
CUTTERS: dict[str, Callable[[Loader, pl.Expr, World], Frame]] = {
    **{name: _simple(name) for name in CREATED_BY},
    "products": _products,
    "shopify_abandoned_checkouts": _checkouts,
    "shopify_fulfillments": _fulfillments,
    "shopify_orders": _orders,
    "shopify_customers": _customers,
    "amazon_orders": _amazon_orders,
    "amazon_order_items": _amazon_items,
    "inventory_levels": _inventory_levels,
    "hubspot_companies": _archivable("hubspot_companies", "createdate", "hs_lastmodifieddate"),
    "hubspot_contacts": _contacts,
    "hubspot_deals": _deals,
    "hubspot_tickets": _tickets,
    "klaviyo_profiles": _profiles,
    "klaviyo_campaigns": _campaigns,
    "klaviyo_events": _events,
    "shipstation_shipments": _shipments,
    "easypost_trackers": _trackers,
}
KEEP = {
    "locations",
    "inventory_movements",
    "shopify_order_lines",
    "shopify_refund_lines",
    "shopify_fulfillments",
    "shopify_orders",
    "amazon_orders",
    "amazon_order_items",
}


def cut(load: Loader, clock: datetime) -> Iterator[tuple[str, Frame]]:
    """Every world table as of the clock, conformed to ``schema.WORLD``, one at a time.

    Tables that later cuts need are collected; the others stay lazy so that the caller can
    stream them to disk (the largest tables never sit in memory whole).
    """
    c = pl.lit(clock, dtype=pl.Datetime("us", "UTC"))
    world: World = {}
    for table, cutter in CUTTERS.items():
        frame = cutter(load, c, world)
        if table in KEEP:
            kept = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
            world[table] = kept
            frame = kept
        columns = [pl.col(name).cast(dtype) for name, dtype in schema.WORLD[table].items()]
        yield table, frame.select(columns)
