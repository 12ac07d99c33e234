"""Amazon SP-API Orders v2026-01-01 records, rendered once per world version.

Each order is kept as pre-serialised orjson fragments, one per ``includedData`` dataset, so a
page is assembled by joining bytes: the basic order (``orderId``, ``createdTime``,
``lastUpdatedTime``, ``programs``, ``salesChannel``) and its items (``orderItemId``,
``quantityOrdered``, ``product``) always; ``buyer`` (BUYER), ``recipient`` (RECIPIENT),
``proceeds`` (PROCEEDS, order and items) and ``fulfillment`` (FULFILLMENT, order and items) only
when asked for. Fields are camelCase, money is ``{"amount": "12.30", "currencyCode": "USD"}`` and
fields that are null in the world are omitted, as Amazon omits them.

The world's v0-shaped amounts map onto proceeds breakdowns: ``ITEM`` (the price of all units),
``SHIPPING``, ``TAX`` (detailed by subtype ``ITEM``) and ``DISCOUNT`` (negative: proceeds are what
the seller receives, so ``proceedsTotal`` and ``grandTotal`` are the sums of their breakdowns).
While an order is ``PENDING`` its payment is not authorised and Amazon shows no prices: no
``proceeds`` and no ``product.price``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from pipelines.sandbox.vendors.amazon.render import ISO_SECONDS
from pipelines.sandbox.world import World

# v0 OrderStatus (the world's vocabulary) -> v2026 fulfillmentStatus
FULFILLMENT_STATUS = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}
FULFILLED_BY = {"AFN": "AMAZON", "MFN": "MERCHANT"}
# the world's item amounts (cents), in the order _breakdowns takes them
AMOUNTS = ("item_price_cents", "shipping_price_cents", "item_tax_cents", "promotion_discount_cents")
DATASETS = ("BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT")  # the ones the world has data for


@dataclass(frozen=True)
class ItemRecord:
    """One order item: its basic fields and its PROCEEDS / FULFILLMENT members (bytes)."""

    base: bytes
    proceeds: bytes
    fulfillment: bytes

    def render(self, included: frozenset[str]) -> bytes:
        parts = [self.base]
        if "PROCEEDS" in included and self.proceeds:
            parts.append(self.proceeds)
        if "FULFILLMENT" in included:
            parts.append(self.fulfillment)
        return b"{" + b",".join(parts) + b"}"


@dataclass(frozen=True)
class OrderRecord:
    """One order as fragments: basic fields, one member per dataset, and its items."""

    base: bytes
    members: dict[str, bytes]  # includedData value -> '"buyer":{...}' (absent when empty)
    items: tuple[ItemRecord, ...]

    def render(self, included: frozenset[str]) -> bytes:
        parts = [self.base]
        parts += [
            self.members[name] for name in DATASETS if name in included and name in self.members
        ]
        items = b",".join(item.render(included) for item in self.items)
        return b"{" + b",".join(parts) + b',"orderItems":[' + items + b"]}"


def money(cents: int, currency: str) -> dict[str, str]:
    """v2026 ``Money``: ``{"amount": "12.30", "currencyCode": "USD"}``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return {"amount": f"{sign}{whole}.{frac:02d}", "currencyCode": currency}


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _member(name: str, value: dict[str, Any] | None) -> bytes:
    """``"name":{...}`` (empty when there is nothing to show)."""
    if not value:
        return b""
    return orjson.dumps(name) + b":" + orjson.dumps(value)


def _fields(obj: dict[str, Any]) -> bytes:
    """An object's members without the braces, to be joined with other fragments."""
    return orjson.dumps(obj)[1:-1]


def _breakdowns(amounts: tuple[int, ...], currency: str) -> list[dict[str, Any]]:
    """Proceeds breakdowns of (item, shipping, tax, discount): ITEM always, others when not 0."""
    item, shipping, tax, discount = amounts
    found: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": money(item, currency)}]
    if shipping:
        found.append({"type": "SHIPPING", "subtotal": money(shipping, currency)})
    if tax:
        detail = [{"subtype": "ITEM", "value": money(tax, currency)}]
        found.append(
            {"type": "TAX", "subtotal": money(tax, currency), "detailedBreakdowns": detail}
        )
    if discount:
        detail = [{"subtype": "ITEM", "value": money(-discount, currency)}]
        found.append(
            {
                "type": "DISCOUNT",
                "subtotal": money(-discount, currency),
                "detailedBreakdowns": detail,
            }
        )
    return found


def _item(row: dict[str, Any], currency: str, pending: bool, cancelled: bool) -> ItemRecord:
    product = {
        "asin": row["asin"],
        "title": row["title"],
        "sellerSku": row["seller_sku"],
        "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
    }
    proceeds = b""
    if not pending:
        unit = row["item_price_cents"] // max(row["quantity_ordered"], 1)
        product["price"] = {"unitPrice": money(unit, currency)}
        amounts = tuple(row[column] for column in AMOUNTS)
        total = amounts[0] + amounts[1] + amounts[2] - amounts[3]
        proceeds = _member(
            "proceeds",
            {"proceedsTotal": money(total, currency), "breakdowns": _breakdowns(amounts, currency)},
        )
    ordered, shipped = row["quantity_ordered"], row["quantity_shipped"]
    fulfillment = {
        "quantityFulfilled": shipped,
        # a cancelled order has nothing left to fulfil
        "quantityUnfulfilled": 0 if cancelled else ordered - shipped,
    }
    base = {"orderItemId": row["order_item_id"], "quantityOrdered": ordered, "product": product}
    return ItemRecord(_fields(base), proceeds, _member("fulfillment", fulfillment))


def _order_proceeds(items: list[dict[str, Any]], currency: str, total: int) -> dict[str, Any]:
    sums = tuple(sum(item[column] for item in items) for column in AMOUNTS)
    return {"grandTotal": money(total, currency), "breakdowns": _breakdowns(sums, currency)}


def _order(row: dict[str, Any], items: list[dict[str, Any]]) -> OrderRecord:
    currency = row["currency"] or "USD"
    status = row["order_status"]
    pending, cancelled = status == "Pending", status == "Canceled"
    base = {
        "orderId": row["amazon_order_id"],
        "createdTime": row["purchase_s"],
        "lastUpdatedTime": row["updated_s"],
        "programs": ["AMAZON_BUSINESS"] if row["is_business_order"] else [],
        "salesChannel": _compact(
            {
                "channelName": "AMAZON",
                "marketplaceId": row["marketplace_id"],
                "marketplaceName": row["sales_channel"],
            }
        ),
    }
    address = _compact(
        {
            "city": row["ship_city"],
            "stateOrRegion": row["ship_state"],
            "postalCode": row["ship_postal_code"],
            "countryCode": row["ship_country_code"],
            "phone": row["ship_phone"],
        }
    )
    members = {
        "BUYER": _member(
            "buyer", _compact({"buyerName": row["buyer_name"], "buyerEmail": row["buyer_email"]})
        ),
        "RECIPIENT": _member("recipient", {"deliveryAddress": address} if address else None),
        "PROCEEDS": b""
        if pending or row["order_total_cents"] is None
        else _member("proceeds", _order_proceeds(items, currency, row["order_total_cents"])),
        "FULFILLMENT": _member(
            "fulfillment",
            _compact(
                {
                    "fulfillmentStatus": FULFILLMENT_STATUS[status],
                    "fulfilledBy": FULFILLED_BY.get(row["fulfillment_channel"]),
                    "fulfillmentServiceLevel": "STANDARD",
                }
            ),
        ),
    }
    return OrderRecord(
        base=_fields(base),
        members={name: value for name, value in members.items() if value},
        items=tuple(_item(item, currency, pending, cancelled) for item in items),
    )


def build_records(world: World, order_ids: list[str]) -> list[OrderRecord]:
    """Every order rendered, in the order of ``order_ids`` (the v0 index's positions)."""
    orders = world.table("amazon_orders").with_columns(
        pl.col("purchase_date").dt.strftime(ISO_SECONDS).alias("purchase_s"),
        pl.col("last_update_date").dt.strftime(ISO_SECONDS).alias("updated_s"),
    )
    by_id = {row["amazon_order_id"]: row for row in orders.iter_rows(named=True)}
    items: dict[str, list[dict[str, Any]]] = {}
    for item in world.table("amazon_order_items").sort("order_item_id").iter_rows(named=True):
        items.setdefault(item["amazon_order_id"], []).append(item)
    return [_order(by_id[order_id], items.get(order_id, [])) for order_id in order_ids]
