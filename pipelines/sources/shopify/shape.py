"""Admin API objects as rows: money as decimals, legacy ids as integers, connections as lists.

Money: a ``MoneyBag`` field ``xxxSet`` lands as ``xxx`` (its shop-currency amount, a Decimal; the
currency is the order's ``currencyCode``); a ``MoneyV2`` (``unitCost``) and the
``Money`` scalars (``price``) land as Decimals under their own names. A value that does not parse
stays a string (dlt then loads it into a variant column rather than failing the run).

Order money meanings (as Shopify defines them): ``subtotalPrice`` is after line discounts;
gross = sum of ``line_items.original_unit_price * quantity``; ``totalDiscounts`` = line discounts;
``totalRefunded`` = refunded amounts; refund lines carry ``subtotal`` (after discount, no tax).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

Record = dict[str, Any]


def decimal(value: Any) -> Any:
    """A decimal string as a Decimal (None stays None; garbage stays as it came)."""
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def integer(value: Any) -> Any:
    """An ``UnsignedInt64`` string as an int (garbage stays as it came)."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return value


def money(value: Any) -> Any:
    """The amount of a MoneyBag (shop money) or a MoneyV2, as a Decimal."""
    if not isinstance(value, dict):
        return value
    if "shopMoney" in value:
        value = value["shopMoney"] or {}
    return decimal(value.get("amount"))


def _money_bags(record: Record, keys: tuple[str, ...]) -> Record:
    """The ``xxxSet`` MoneyBags named in ``keys`` replaced by ``xxx`` (a Decimal), in place."""
    for key in keys:
        if key in record:
            record[key[:-3]] = money(record.pop(key))
    return record


ORDER_MONEY = (
    "subtotalPriceSet",
    "totalDiscountsSet",
    "totalTaxSet",
    "totalShippingPriceSet",
    "totalPriceSet",
    "totalRefundedSet",
    "currentTotalPriceSet",
)
LINE_MONEY = ("originalUnitPriceSet", "totalDiscountSet")
ALLOCATION_MONEY = ("allocatedAmountSet",)
REFUND_MONEY = ("totalRefundedSet",)
REFUND_LINE_MONEY = ("priceSet", "subtotalSet")
CHECKOUT_MONEY = ("subtotalPriceSet", "totalLineItemsPriceSet", "totalPriceSet")
CHECKOUT_LINE_MONEY = ("originalUnitPriceSet", "originalTotalPriceSet")


# Nested objects that may be null (an order without customer, a line whose product was deleted).
# A null one is left out: its fields land as ``<object>__<field>`` columns, declared in columns.py,
# and a null under the object's own name would only make dlt warn that the column it would make
# has no type (it never makes it).
ORDER_OBJECTS = ("customer", "shippingAddress", "billingAddress")
LINE_OBJECTS = ("variant", "product")
REFUND_LINE_OBJECTS = ("lineItem", "location")
FULFILLMENT_OBJECTS = ("location",)
CUSTOMER_OBJECTS = ("emailMarketingConsent", "defaultAddress")
VARIANT_OBJECTS = ("product", "inventoryItem")


def _without_nulls(record: Record, keys: tuple[str, ...]) -> Record:
    """``record`` without the null nested objects named in ``keys``, in place."""
    for key in keys:
        if key in record and record[key] is None:
            del record[key]
    return record


def _legacy(record: Record) -> Record:
    if "legacyResourceId" in record:
        record["legacyResourceId"] = integer(record["legacyResourceId"])
    return record


def line_item(line: Record) -> Record:
    """An order line item (discount allocations kept as a nested list)."""
    _without_nulls(_money_bags(line, LINE_MONEY), LINE_OBJECTS)
    for allocation in line.get("discountAllocations") or ():
        _money_bags(allocation, ALLOCATION_MONEY)
    return line


def refund_line_item(line: Record) -> Record:
    """A refund line item: ``price`` (unit) and ``subtotal`` (refunded amount)."""
    return _without_nulls(_money_bags(line, REFUND_LINE_MONEY), REFUND_LINE_OBJECTS)


def order(record: Record) -> Record:
    """An order with its line items, refunds (with their lines) and fulfillments."""
    _without_nulls(_legacy(_money_bags(record, ORDER_MONEY)), ORDER_OBJECTS)
    record["lineItems"] = [line_item(line) for line in record.get("lineItems") or ()]
    for refund in record.get("refunds") or ():
        _legacy(_money_bags(refund, REFUND_MONEY))
        refund["refundLineItems"] = [
            refund_line_item(line) for line in refund.get("refundLineItems") or ()
        ]
    for fulfillment in record.get("fulfillments") or ():
        _without_nulls(_legacy(fulfillment), FULFILLMENT_OBJECTS)
    return record


def customer(record: Record) -> Record:
    """A customer (legacy id as an integer)."""
    return _without_nulls(_legacy(record), CUSTOMER_OBJECTS)


def checkout(record: Record) -> Record:
    """An abandoned checkout with its line items."""
    _without_nulls(_money_bags(record, CHECKOUT_MONEY), ORDER_OBJECTS)
    record["lineItems"] = [
        _without_nulls(_money_bags(line, CHECKOUT_LINE_MONEY), LINE_OBJECTS)
        for line in record.get("lineItems") or ()
    ]
    return record


def product(record: Record) -> Record:
    """A product."""
    return _legacy(record)


def variant(record: Record) -> Record:
    """A product variant with its inventory item (unit cost as a Decimal)."""
    _without_nulls(_legacy(record), VARIANT_OBJECTS)
    record["price"] = decimal(record.get("price"))
    record["compareAtPrice"] = decimal(record.get("compareAtPrice"))
    item = record.get("inventoryItem")
    if isinstance(item, dict):
        _legacy(item)
        item["unitCost"] = money(item.get("unitCost"))
    return record


def location(record: Record) -> Record:
    """A location."""
    return _legacy(record)


def inventory_level(record: Record, location_id: str) -> Record:
    """An inventory level with its named quantities as columns (``available``, ``on_hand`` ...)."""
    quantities = record.pop("quantities", None) or ()
    for quantity in quantities:
        record[quantity["name"]] = quantity["quantity"]
    record["location"] = {"id": location_id}
    item = record.get("item")
    if isinstance(item, dict):
        _legacy(item)
    return record
