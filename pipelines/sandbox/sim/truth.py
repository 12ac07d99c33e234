"""Ground truth of the served world: which person is behind each record, and its headline KPIs.

``identity(world)`` lists every record of ``schema.TRUTH_RECORD_TYPES`` with its true person;
``record_id`` is the id as the vendor API exposes it (Shopify GIDs, Amazon order ids, POS
transaction ids, HubSpot contact ids as strings, Klaviyo profile ids, ShipStation shipment ids as
strings).

``summarise(world)`` computes ``summary.json`` from the served world with DESIGN.md's metric
definitions. Fields:

- ``clock``, ``seed``, ``scale``: the world the figures describe.
- ``channels.<web|amazon|pos>`` and ``total``, each with:
  - ``orders``: counted orders. Web: Shopify orders neither cancelled (as of the clock) nor test
    orders; Amazon: orders whose status is not ``Canceled``; POS: every transaction.
  - ``gross_revenue``: web Σ line price × quantity; Amazon Σ ``item_price`` (already all units);
    POS Σ ``gross_cents``.
  - ``discounts``: web Σ line discount allocations; Amazon Σ ``promotion_discount``; POS Σ line
    ``discount_cents``.
  - ``refunds``: web Σ refund line subtotals of refunds created at or before the clock on counted
    orders (no tax, no shipping); Amazon and POS 0.
  - ``net_revenue`` = gross − discounts − refunds; ``aov`` = net_revenue / orders.
  Money is in dollars with 2 decimals (computed exactly in cents, ``aov`` rounded half up).
- ``people_who_ordered``: distinct persons with at least one counted order on any channel.
- ``repeat_purchase_rate``: persons with ≥ 2 counted orders / persons with ≥ 1 (4 decimals).
- ``on_time_delivery_rate``: among delivered (tracker ``delivered_at`` set), non-voided
  ShipStation shipments, the share whose delivery date (UTC) is on or before the carrier's
  estimated delivery date (UTC) (4 decimals).
- ``delivered_shipments``: that denominator.
- ``abandoned_checkouts``: Shopify abandoned checkouts in the world.
- ``recovered_checkouts``: those whose person placed a counted order on any channel within 7 days
  after the checkout's ``created_at`` (``created_at`` < order time ≤ ``created_at`` + 7 days).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import polars as pl

from pipelines.sandbox import schema

Reader = Callable[[str, list[str]], pl.DataFrame]  # (world table, columns) -> frame
CHANNELS = ("web", "amazon", "pos")


def identity(read: Reader) -> pl.DataFrame:
    """One row per person-bearing source record: source, record_type, record_id, person_id."""
    parts = []
    orders = read("shopify_orders", ["order_id", "person_id"])
    for (source, record_type), (table, column) in schema.TRUTH_RECORD_TYPES.items():
        if "person_id" in schema.WORLD[table]:
            frame = read(table, [column, "person_id"])
        else:
            frame = read(table, [column, "order_id"]).join(orders, on="order_id", how="left")
        if source == "shopify":
            kind = schema.SHOPIFY_GID_TYPES[record_type]
            record_id = pl.format("gid://shopify/{}/{}", pl.lit(kind), pl.col(column))
        else:
            record_id = pl.col(column).cast(pl.String)
        parts.append(
            frame.select(
                pl.lit(source).alias("source"),
                pl.lit(record_type).alias("record_type"),
                record_id.alias("record_id"),
                pl.col("person_id"),
            )
        )
    truth = pl.concat(parts).sort("source", "record_type", "record_id")
    return truth.select([pl.col(k).cast(v) for k, v in schema.TRUTH_IDENTITY.items()])


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def _block(orders: int, gross: int, discounts: int, refunds: int) -> dict[str, float | int]:
    net = gross - discounts - refunds
    aov_cents = (2 * net + orders) // (2 * orders) if orders else 0
    return {
        "orders": orders,
        "gross_revenue": _money(gross),
        "discounts": _money(discounts),
        "refunds": _money(refunds),
        "net_revenue": _money(net),
        "aov": _money(aov_cents),
    }


def counted_orders(read: Reader) -> pl.DataFrame:
    """Counted orders of every channel: channel, order key, person_id, time."""
    web = read("shopify_orders", ["order_id", "person_id", "created_at", "is_test", "cancelled_at"])
    web = web.filter(~pl.col("is_test") & pl.col("cancelled_at").is_null())
    amazon = read(
        "amazon_orders", ["amazon_order_id", "person_id", "purchase_date", "order_status"]
    )
    amazon = amazon.filter(pl.col("order_status") != "Canceled")
    pos = read("pos_transactions", ["transaction_id", "person_id", "occurred_at"])
    return pl.concat(
        [
            web.select(
                pl.lit("web").alias("channel"),
                pl.col("order_id").cast(pl.String).alias("key"),
                "person_id",
                pl.col("created_at").alias("at"),
            ),
            amazon.select(
                pl.lit("amazon").alias("channel"),
                pl.col("amazon_order_id").alias("key"),
                "person_id",
                pl.col("purchase_date").alias("at"),
            ),
            pos.select(
                pl.lit("pos").alias("channel"),
                pl.col("transaction_id").alias("key"),
                "person_id",
                pl.col("occurred_at").alias("at"),
            ),
        ]
    )


def summarise(read: Reader, clock: datetime, seed: int, scale: str) -> dict:
    """The headline KPIs of the world as of the clock (see the module docstring)."""
    counted = counted_orders(read)
    web_ids = counted.filter(pl.col("channel") == "web").select(
        pl.col("key").cast(pl.Int64).alias("order_id")
    )
    lines = read(
        "shopify_order_lines",
        ["line_item_id", "order_id", "price_cents", "quantity", "discount_cents"],
    )
    web_lines = lines.join(web_ids, on="order_id", how="semi")
    refund_lines = (
        read("shopify_refund_lines", ["line_item_id", "subtotal_cents"])
        .join(lines.select("line_item_id", "order_id"), on="line_item_id")
        .join(web_ids, on="order_id", how="semi")
    )
    amazon_ids = counted.filter(pl.col("channel") == "amazon").select(
        pl.col("key").alias("amazon_order_id")
    )
    items = read(
        "amazon_order_items", ["amazon_order_id", "item_price_cents", "promotion_discount_cents"]
    )
    items = items.join(amazon_ids, on="amazon_order_id", how="semi")
    pos_lines = read("pos_lines", ["gross_cents", "discount_cents"])

    def total(frame: pl.DataFrame, expr: pl.Expr) -> int:
        return int(frame.select(expr.sum()).item() or 0)

    figures = {
        "web": (
            web_ids.height,
            total(web_lines, pl.col("price_cents") * pl.col("quantity")),
            total(web_lines, pl.col("discount_cents")),
            total(refund_lines, pl.col("subtotal_cents")),
        ),
        "amazon": (
            amazon_ids.height,
            total(items, pl.col("item_price_cents")),
            total(items, pl.col("promotion_discount_cents")),
            0,
        ),
        "pos": (
            counted.filter(pl.col("channel") == "pos").height,
            total(pos_lines, pl.col("gross_cents")),
            total(pos_lines, pl.col("discount_cents")),
            0,
        ),
    }
    channels = {name: _block(*figures[name]) for name in CHANNELS}
    sums = [sum(figures[name][i] for name in CHANNELS) for i in range(4)]

    per_person = counted.group_by("person_id").len()
    buyers = per_person.height
    repeaters = per_person.filter(pl.col("len") >= 2).height

    trackers = read("easypost_trackers", ["shipment_id", "delivered_at", "est_delivery_date"])
    trackers = trackers.filter(pl.col("delivered_at").is_not_null())
    shipments = read("shipstation_shipments", ["shipment_id", "voided"])
    delivered = trackers.join(
        shipments.filter(~pl.col("voided")).select("shipment_id"),
        on="shipment_id",
        how="semi",
    )
    on_time = delivered.filter(
        pl.col("delivered_at").dt.date() <= pl.col("est_delivery_date").dt.date()
    ).height

    checkouts = read("shopify_abandoned_checkouts", ["checkout_id", "person_id", "created_at"])
    recovered = (
        checkouts.join(counted.select("person_id", "at"), on="person_id", how="inner")
        .filter(
            (pl.col("at") > pl.col("created_at"))
            & (pl.col("at") <= pl.col("created_at") + timedelta(days=7))
        )
        .select(pl.col("checkout_id").n_unique())
        .item()
    )
    return {
        "clock": clock.isoformat().replace("+00:00", "Z"),
        "seed": seed,
        "scale": scale,
        "channels": channels,
        "total": _block(*sums),
        "people_who_ordered": buyers,
        "repeat_purchase_rate": round(repeaters / buyers, 4) if buyers else 0.0,
        "delivered_shipments": delivered.height,
        "on_time_delivery_rate": round(on_time / delivered.height, 4) if delivered.height else 0.0,
        "abandoned_checkouts": checkouts.height,
        "recovered_checkouts": int(recovered),
    }
