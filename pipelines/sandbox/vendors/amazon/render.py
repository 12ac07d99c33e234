"""Amazon SP-API Orders v0 records, rendered once per world version.

Orders and order items are turned into the JSON objects ``getOrders`` / ``getOrderItems`` return
(PascalCase fields, money as ``{"CurrencyCode", "Amount"}`` with a decimal string, timestamps as
``YYYY-MM-DDTHH:MM:SSZ``) and kept as pre-serialised orjson bytes, next to a small polars index
used for filtering. Fields that are null in the world are omitted, as Amazon omits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from pipelines.sandbox.world import World

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class OrderIndex:
    """Every order as bytes plus the columns the getOrders filters look at."""

    records: list[bytes]  # position -> rendered Order
    frame: pl.DataFrame  # pos, id, purchase_s, updated_s, marketplace, status, channel, email
    positions: dict[str, int]  # AmazonOrderId -> position
    statuses: dict[str, str]  # AmazonOrderId -> OrderStatus


def money(cents: int | None, currency: str) -> dict[str, str] | None:
    """SP-API ``Money``: ``{"CurrencyCode": "USD", "Amount": "12.30"}``."""
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return {"CurrencyCode": currency, "Amount": f"{sign}{whole}.{frac:02d}"}


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _order(row: dict[str, Any]) -> dict[str, Any]:
    currency = row["currency"] or "USD"
    address = _compact(
        {
            "City": row["ship_city"],
            "StateOrRegion": row["ship_state"],
            "PostalCode": row["ship_postal_code"],
            "CountryCode": row["ship_country_code"],
            "Phone": row["ship_phone"],
        }
    )
    buyer = _compact({"BuyerEmail": row["buyer_email"], "BuyerName": row["buyer_name"]})
    return _compact(
        {
            "AmazonOrderId": row["amazon_order_id"],
            "PurchaseDate": row["purchase_s"],
            "LastUpdateDate": row["updated_s"],
            "OrderStatus": row["order_status"],
            "FulfillmentChannel": row["fulfillment_channel"],
            "SalesChannel": row["sales_channel"],
            "ShipServiceLevel": "Std US D2D Dom",
            "OrderTotal": money(row["order_total_cents"], currency),
            "NumberOfItemsShipped": row["number_of_items_shipped"],
            "NumberOfItemsUnshipped": row["number_of_items_unshipped"],
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "IsReplacementOrder": False,
            "MarketplaceId": row["marketplace_id"],
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "IsBusinessOrder": bool(row["is_business_order"]),
            "IsPrime": False,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsSoldByAB": False,
            "IsIBA": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
            "ShippingAddress": address or None,
            "BuyerInfo": buyer or None,
        }
    )


def build_orders(world: World) -> OrderIndex:
    """Render every order of the world and index it (call through ``world.cached``)."""
    frame = (
        world.table("amazon_orders")
        .with_columns(
            pl.col("purchase_date").dt.strftime(ISO_SECONDS).alias("purchase_s"),
            pl.col("last_update_date").dt.strftime(ISO_SECONDS).alias("updated_s"),
        )
        .sort("amazon_order_id")
    )
    records = [orjson.dumps(_order(row)) for row in frame.iter_rows(named=True)]
    index = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"),
        pl.col("amazon_order_id").alias("id"),
        # filters compare whole seconds, exactly as the timestamps are rendered
        pl.col("purchase_date").dt.epoch("s").alias("purchase_s"),
        pl.col("last_update_date").dt.epoch("s").alias("updated_s"),
        pl.col("marketplace_id").alias("marketplace"),
        pl.col("order_status").alias("status"),
        pl.col("fulfillment_channel").alias("channel"),
        pl.col("buyer_email").alias("email"),
    )
    ids = index["id"].to_list()
    return OrderIndex(
        records=records,
        frame=index,
        positions={order_id: pos for pos, order_id in enumerate(ids)},
        statuses=dict(zip(ids, frame["order_status"].to_list(), strict=True)),
    )


def _money(column: str) -> pl.Expr:
    """A cents column as SP-API ``Money`` (struct of CurrencyCode and a decimal-string Amount)."""
    cents = pl.col(column)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    amount = pl.concat_str(
        sign,
        (cents.abs() // 100).cast(pl.String),
        pl.lit("."),
        (cents.abs() % 100).cast(pl.String).str.zfill(2),
    )
    return pl.struct(pl.lit("USD").alias("CurrencyCode"), amount.alias("Amount"))


def _item(priced: bool) -> pl.Expr:
    """An OrderItem; prices, taxes and promotions only once the order has left Pending."""
    fields = [
        pl.col("asin").alias("ASIN"),
        pl.col("seller_sku").alias("SellerSKU"),
        pl.col("order_item_id").alias("OrderItemId"),
        pl.col("title").alias("Title"),
        pl.col("quantity_ordered").alias("QuantityOrdered"),
        pl.col("quantity_shipped").alias("QuantityShipped"),
        pl.struct(pl.lit("1").alias("NumberOfItems")).alias("ProductInfo"),
    ]
    if priced:
        fields += [
            _money("item_price_cents").alias("ItemPrice"),
            _money("item_tax_cents").alias("ItemTax"),
            _money("promotion_discount_cents").alias("PromotionDiscount"),
            _money("zero").alias("PromotionDiscountTax"),
            _money("shipping_price_cents").alias("ShippingPrice"),
            pl.lit("false").alias("IsGift"),
        ]
    fields += [
        pl.lit("New").alias("ConditionId"),
        pl.lit("New").alias("ConditionSubtypeId"),
        pl.lit(False).alias("IsTransparency"),
        pl.lit(False).alias("SerialNumberRequired"),
    ]
    return pl.struct(fields).struct.json_encode()


def build_items(world: World, orders: OrderIndex) -> dict[str, list[bytes]]:
    """AmazonOrderId -> its rendered OrderItems, in OrderItemId order."""
    pending = [order_id for order_id, status in orders.statuses.items() if status == "Pending"]
    frame = (
        world.table("amazon_order_items")
        .sort("amazon_order_id", "order_item_id")
        .with_columns(pl.lit(0, dtype=pl.Int64).alias("zero"))
        .select(
            "amazon_order_id",
            pl.when(pl.col("amazon_order_id").is_in(pending))
            .then(_item(priced=False))
            .otherwise(_item(priced=True))
            .alias("json"),
        )
    )
    items: dict[str, list[bytes]] = {}
    for order_id, text in frame.iter_rows():
        items.setdefault(order_id, []).append(text.encode())
    return items
