"""The world's Shopify tables rendered once per world version as Admin API objects (plain dicts).

Each list resource is a :class:`Resource`: the rendered records, their legacy ids, and numpy
columns for search filters and sort keys. Nested objects are shared references (an order's
``customer`` is the customer's own record), so a request only projects the fields it asked for.
Keys starting with ``_`` are internal (children of nested connections); the schema never names them.

Conventions (as the Admin API serves them): ids are GIDs, timestamps ISO-8601 UTC with whole
seconds, money ``MoneyBag``/``MoneyV2`` with decimal-string amounts (``"10.0"``, ``"19.99"``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from pipelines.sandbox.schema import shopify_gid
from pipelines.sandbox.world import World

Record = dict[str, Any]
NULL_TS = np.iinfo(np.int64).min
ISO = "%Y-%m-%dT%H:%M:%SZ"
QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)


@lru_cache(maxsize=1 << 16)
def decimal_string(cents: int) -> str:
    """Integer cents as Shopify's ``Decimal`` string: ``1000 -> "10.0"``, ``1999 -> "19.99"``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    if frac % 10 == 0:
        return f"{sign}{whole}.{frac // 10}"
    return f"{sign}{whole}.{frac:02d}"


@lru_cache(maxsize=1 << 16)
def money_v2(cents: int, currency: str = "USD") -> Record:
    """A ``MoneyV2`` (shared, never mutated)."""
    return {"amount": decimal_string(cents), "currencyCode": currency}


@lru_cache(maxsize=1 << 16)
def money_bag(cents: int, currency: str = "USD") -> Record:
    """A ``MoneyBag``: shop and presentment money (one currency in the sandbox)."""
    money = money_v2(cents, currency)
    return {"shopMoney": money, "presentmentMoney": money}


@dataclass
class Resource:
    """One list resource: records aligned with their ids and search/sort columns."""

    name: str
    records: list[Record]
    ids: np.ndarray
    columns: dict[str, np.ndarray]
    sort_columns: dict[str, str]
    index: dict[int, int] = field(default_factory=dict)
    _orders: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _masks: OrderedDict[tuple[str, str], Any] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.index = {int(i): n for n, i in enumerate(self.ids)}

    def get(self, legacy_id: int) -> Record | None:
        """The record with this legacy id, if any."""
        at = self.index.get(legacy_id)
        return None if at is None else self.records[at]

    def sort_order(self, sort_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(record positions in sort order, sorted values, sorted ids); ties broken by id."""
        with self._lock:
            found = self._orders.get(sort_key)
            if found is None:
                values = self.columns[self.sort_columns[sort_key]]
                order = np.lexsort((self.ids, values))
                found = (order, values[order], self.ids[order])
                self._orders[sort_key] = found
            return found

    def memo(self, key: tuple[str, str], build: Callable[[], Any]) -> Any:
        """A small per-resource LRU (filtered orders per query string and sort key)."""
        with self._lock:
            if key in self._masks:
                self._masks.move_to_end(key)
                return self._masks[key]
        value = build()
        with self._lock:
            self._masks[key] = value
            while len(self._masks) > 64:
                self._masks.popitem(last=False)
        return value


def _iso(frame: pl.DataFrame, column: str) -> list[str | None]:
    return frame[column].dt.strftime(ISO).to_list()


def _epoch(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].dt.epoch("s").fill_null(NULL_TS).to_numpy().astype(np.int64)


def _lower(values: list[str | None]) -> np.ndarray:
    return np.array([(v or "").strip().lower() for v in values], dtype=str)


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    for n, value in enumerate(values):
        array[n] = value
    return array


def _ints(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].fill_null(0).to_numpy().astype(np.int64)


def _address(
    gid: str,
    first: Any,
    last: Any,
    city: Any,
    province: Any,
    zip_: Any,
    country: Any,
    phone: Any = None,
) -> Record | None:
    if not any((first, last, city, province, zip_, country)):
        return None
    name = " ".join(part for part in (first, last) if part) or None
    return {
        "__typename": "MailingAddress",
        "id": gid,
        "address1": None,
        "address2": None,
        "city": city,
        "company": None,
        "countryCodeV2": country,
        "firstName": first,
        "lastName": last,
        "name": name,
        "phone": phone,
        "provinceCode": province,
        "zip": zip_,
    }


def _handle(title: str, seen: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (title or "product").lower()).strip("-") or "product"
    handle, n = base, 1
    while handle in seen:
        handle = f"{base}-{n}"
        n += 1
    seen.add(handle)
    return handle


class ShopifyData:
    """Everything the Shopify emulator serves, derived from the world and cached per version."""

    def __init__(self, world: World) -> None:
        self.world = world

    # --- catalogue ------------------------------------------------------------------------
    def catalog(self) -> dict[str, Resource]:
        """Products, variants, inventory items and Shopify locations (with inventory levels)."""
        return self.world.cached("shopify:catalog", self._build_catalog)

    def _build_catalog(self) -> dict[str, Resource]:
        products = self.world.table("products").sort("product_id")
        variants = self.world.table("variants").sort("variant_id")
        locations = self.world.table("locations").filter(pl.col("is_shopify_location"))
        locations = locations.sort("location_id")
        shop_location_ids = set(locations["location_id"].to_list())
        levels = self.world.table("inventory_levels").filter(
            pl.col("location_id").is_in(list(shop_location_ids))
        )
        levels = levels.sort(["location_id", "inventory_item_id"])

        location_records: list[Record] = []
        for row in locations.iter_rows(named=True):
            created = row["created_at"].strftime(ISO) if row["created_at"] else None
            kind = row["kind"]
            location_records.append(
                {
                    "__typename": "Location",
                    "id": shopify_gid("Location", row["location_id"]),
                    "legacyResourceId": str(row["location_id"]),
                    "name": row["name"],
                    "isActive": True,
                    "fulfillsOnlineOrders": kind == "warehouse",
                    "shipsInventory": kind == "warehouse",
                    "createdAt": created,
                    "updatedAt": created,
                    "address": {
                        "address1": None,
                        "city": row["city"],
                        "countryCode": None,
                        "provinceCode": None,
                        "zip": None,
                    },
                    "_levels": [],
                }
            )
        location_by_id = {int(r["legacyResourceId"]): r for r in location_records}

        product_records: list[Record] = []
        seen_handles: set[str] = set()
        p_created, p_updated = _iso(products, "created_at"), _iso(products, "updated_at")
        for n, row in enumerate(products.iter_rows(named=True)):
            active = row["status"] == "ACTIVE"
            product_records.append(
                {
                    "__typename": "Product",
                    "id": shopify_gid("Product", row["product_id"]),
                    "legacyResourceId": str(row["product_id"]),
                    "title": row["title"],
                    "handle": _handle(row["title"], seen_handles),
                    "productType": row["product_type"] or "",
                    "vendor": row["vendor"] or "",
                    "status": row["status"],
                    "tags": [],
                    "createdAt": p_created[n],
                    "updatedAt": p_updated[n],
                    "publishedAt": p_created[n] if active else None,
                    "totalInventory": 0,
                    "_variants": [],
                }
            )
        product_by_id = {int(r["legacyResourceId"]): r for r in product_records}

        available: dict[int, int] = defaultdict(int)
        for item_id, qty in zip(
            levels["inventory_item_id"].to_list(), levels["available"].to_list(), strict=True
        ):
            available[item_id] += qty or 0

        variant_records: list[Record] = []
        item_records: list[Record] = []
        item_by_id: dict[int, Record] = {}
        v_created, v_updated = _iso(variants, "created_at"), _iso(variants, "updated_at")
        for n, row in enumerate(variants.iter_rows(named=True)):
            product = product_by_id.get(row["product_id"])
            item_id = row["inventory_item_id"]
            quantity = available.get(item_id, 0)
            item = {
                "__typename": "InventoryItem",
                "id": shopify_gid("InventoryItem", item_id),
                "legacyResourceId": str(item_id),
                "sku": row["sku"],
                "tracked": True,
                "requiresShipping": True,
                "unitCost": money_v2(row["unit_cost_cents"])
                if row["unit_cost_cents"] is not None
                else None,
                "createdAt": v_created[n],
                "updatedAt": v_updated[n],
                "_levels": [],
            }
            variant = {
                "__typename": "ProductVariant",
                "id": shopify_gid("ProductVariant", row["variant_id"]),
                "legacyResourceId": str(row["variant_id"]),
                "sku": row["sku"],
                "title": row["title"] or "Default Title",
                "displayName": f"{product['title'] if product else ''} - "
                f"{row['title'] or 'Default Title'}",
                "price": decimal_string(row["price_cents"] or 0),
                "compareAtPrice": None,
                "barcode": None,
                "position": 1,
                "createdAt": v_created[n],
                "updatedAt": v_updated[n],
                "inventoryQuantity": quantity,
                "product": product,
                "inventoryItem": item,
            }
            item["variant"] = variant
            if product is not None:
                product["_variants"].append(variant)
                variant["position"] = len(product["_variants"])
                product["totalInventory"] += quantity
            variant_records.append(variant)
            item_records.append(item)
            item_by_id[item_id] = item

        l_updated = _iso(levels, "updated_at")
        for n, row in enumerate(levels.iter_rows(named=True)):
            level_item = item_by_id.get(row["inventory_item_id"])
            location = location_by_id.get(row["location_id"])
            if level_item is None or location is None:
                continue
            level = {
                "__typename": "InventoryLevel",
                "id": f"gid://shopify/InventoryLevel/{row['location_id']}"
                f"?inventory_item_id={row['inventory_item_id']}",
                "item": level_item,
                "location": location,
                "createdAt": level_item["createdAt"],
                "updatedAt": l_updated[n],
                "_quantities": {
                    "available": row["available"] or 0,
                    "committed": row["committed"] or 0,
                    "on_hand": row["on_hand"] or 0,
                },
                "_updated_epoch": int(row["updated_at"].timestamp()) if row["updated_at"] else 0,
                "_item_id": row["inventory_item_id"],
            }
            level_item["_levels"].append(level)
            location["_levels"].append(level)

        p_text = _lower(products["title"].to_list())
        catalog = {
            "products": Resource(
                "products",
                product_records,
                _ints(products, "product_id"),
                {
                    "id": _ints(products, "product_id"),
                    "created_at": _epoch(products, "created_at"),
                    "updated_at": _epoch(products, "updated_at"),
                    "title": p_text,
                    "product_type": _lower(products["product_type"].to_list()),
                    "vendor": _lower(products["vendor"].to_list()),
                    "status": _lower(products["status"].to_list()),
                    "text": p_text,
                },
                {
                    "ID": "id",
                    "CREATED_AT": "created_at",
                    "UPDATED_AT": "updated_at",
                    "TITLE": "title",
                    "PRODUCT_TYPE": "product_type",
                    "VENDOR": "vendor",
                },
            ),
            "productVariants": Resource(
                "productVariants",
                variant_records,
                _ints(variants, "variant_id"),
                {
                    "id": _ints(variants, "variant_id"),
                    "product_id": _ints(variants, "product_id"),
                    "created_at": _epoch(variants, "created_at"),
                    "updated_at": _epoch(variants, "updated_at"),
                    "sku": _lower(variants["sku"].to_list()),
                    "title": _lower(variants["title"].to_list()),
                    "text": _lower(variants["sku"].to_list()),
                },
                {"ID": "id", "SKU": "sku", "TITLE": "title"},
            ),
            "inventoryItems": Resource(
                "inventoryItems",
                item_records,
                _ints(variants, "inventory_item_id"),
                {
                    "id": _ints(variants, "inventory_item_id"),
                    "created_at": _epoch(variants, "created_at"),
                    "updated_at": _epoch(variants, "updated_at"),
                    "sku": _lower(variants["sku"].to_list()),
                    "text": _lower(variants["sku"].to_list()),
                },
                {"ID": "id"},
            ),
            "locations": Resource(
                "locations",
                location_records,
                _ints(locations, "location_id"),
                {
                    "id": _ints(locations, "location_id"),
                    "name": _lower(locations["name"].to_list()),
                    "created_at": _epoch(locations, "created_at"),
                    "text": _lower(locations["name"].to_list()),
                },
                {"ID": "id", "NAME": "name"},
            ),
        }
        return catalog

    # --- customers ------------------------------------------------------------------------
    def customers(self) -> Resource:
        """Shopify customers, with order counts and amounts spent from the orders table."""
        return self.world.cached("shopify:customers", self._build_customers)

    def _build_customers(self) -> Resource:
        frame = self.world.table("shopify_customers").sort("customer_id")
        orders = self.world.table("shopify_orders")
        counts = orders.group_by("customer_id").agg(
            pl.len().alias("n"),
            (pl.col("total_price_cents") - pl.col("total_refunded_cents").fill_null(0))
            .filter(pl.col("cancelled_at").is_null() & ~pl.col("is_test").fill_null(False))
            .sum()
            .alias("spent"),
        )
        stats = {
            row[0]: (row[1], row[2] or 0)
            for row in counts.filter(pl.col("customer_id").is_not_null()).iter_rows()
        }
        created, updated = _iso(frame, "created_at"), _iso(frame, "updated_at")
        consent_at = _iso(frame, "email_consent_updated_at")
        records: list[Record] = []
        for n, row in enumerate(frame.iter_rows(named=True)):
            cid = row["customer_id"]
            gid = shopify_gid("Customer", cid)
            email, phone = row["email"], row["phone"]
            first, last = row["first_name"], row["last_name"]
            address = _address(
                f"gid://shopify/MailingAddress/{cid}?model_name=CustomerAddress",
                first,
                last,
                row["city"],
                row["province_code"],
                row["zip"],
                row["country_code"],
            )
            count, spent = stats.get(cid, (0, 0))
            state = row["email_marketing_state"] or "NOT_SUBSCRIBED"
            records.append(
                {
                    "__typename": "Customer",
                    "id": gid,
                    "legacyResourceId": str(cid),
                    "firstName": first,
                    "lastName": last,
                    "displayName": " ".join(p for p in (first, last) if p) or email or phone or "",
                    "email": email,
                    "phone": phone,
                    "state": row["state"] or "DISABLED",
                    "tags": [t.strip() for t in (row["tags"] or "").split(",") if t.strip()],
                    "note": None,
                    "verifiedEmail": bool(email) and row["state"] == "ENABLED",
                    "createdAt": created[n],
                    "updatedAt": updated[n],
                    "numberOfOrders": str(count),
                    "amountSpent": money_v2(int(spent)),
                    "emailMarketingConsent": None
                    if not email
                    else {
                        "marketingState": state,
                        "marketingOptInLevel": row["email_marketing_opt_in_level"],
                        "consentUpdatedAt": consent_at[n],
                    },
                    "defaultEmailAddress": None
                    if not email
                    else {"emailAddress": email, "marketingState": state},
                    "defaultPhoneNumber": None if not phone else {"phoneNumber": phone},
                    "defaultAddress": address,
                    "_addresses": [address] if address else [],
                }
            )
        emails = _lower(frame["email"].to_list())
        names = _lower(
            [
                " ".join(p for p in (f, la) if p)
                for f, la in zip(
                    frame["first_name"].to_list(), frame["last_name"].to_list(), strict=True
                )
            ]
        )
        return Resource(
            "customers",
            records,
            _ints(frame, "customer_id"),
            {
                "id": _ints(frame, "customer_id"),
                "created_at": _epoch(frame, "created_at"),
                "updated_at": _epoch(frame, "updated_at"),
                "email": emails,
                "phone": _lower(frame["phone"].to_list()),
                "first_name": _lower(frame["first_name"].to_list()),
                "last_name": _lower(frame["last_name"].to_list()),
                "state": _lower(frame["state"].to_list()),
                "tags": _objects([r["tags"] for r in records]),
                "country": _lower(frame["country_code"].to_list()),
                "name": names,
                "text": np.array(
                    [f"{n} {e}" for n, e in zip(names, emails, strict=True)], dtype=str
                ),
            },
            {"ID": "id", "CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "NAME": "name"},
        )

    # --- orders ---------------------------------------------------------------------------
    def orders(self) -> Resource:
        """Orders with their line items, refunds and fulfillments."""
        return self.world.cached("shopify:orders", self._build_orders)

    def _variant_refs(self) -> tuple[dict[int, Record], dict[int, str | None]]:
        catalog = self.catalog()
        variants = {int(v["legacyResourceId"]): v for v in catalog["productVariants"].records}
        vendors = {vid: (v["product"] or {}).get("vendor") for vid, v in variants.items()}
        return variants, vendors

    def _build_orders(self) -> Resource:
        frame = self.world.table("shopify_orders").sort("order_id")
        lines = self.world.table("shopify_order_lines").sort("line_item_id")
        refunds = self.world.table("shopify_refunds").sort("refund_id")
        refund_lines = self.world.table("shopify_refund_lines").sort("refund_line_item_id")
        fulfillments = self.world.table("shopify_fulfillments").sort("fulfillment_id")
        customers = self.customers()
        variants, vendors = self._variant_refs()
        location_by_id = {
            int(r["legacyResourceId"]): r for r in self.catalog()["locations"].records
        }

        refunded_qty: dict[int, int] = defaultdict(int)
        for line_id, qty in refund_lines.select("line_item_id", "quantity").iter_rows():
            refunded_qty[line_id] += qty or 0

        line_records: dict[int, Record] = {}
        lines_by_order: dict[int, list[Record]] = defaultdict(list)
        discount_by_line: dict[int, int] = {}
        for row in lines.iter_rows(named=True):
            lid, qty, price = row["line_item_id"], row["quantity"] or 0, row["price_cents"] or 0
            discount = row["discount_cents"] or 0
            variant = variants.get(row["variant_id"]) if row["variant_id"] else None
            title = row["title"] or (variant["product"]["title"] if variant else "")
            record = {
                "__typename": "LineItem",
                "id": shopify_gid("LineItem", lid),
                "name": title,
                "title": title,
                "sku": row["sku"],
                "quantity": qty,
                "currentQuantity": max(0, qty - refunded_qty.get(lid, 0)),
                "variantTitle": variant["title"] if variant else None,
                "vendor": vendors.get(row["variant_id"]),
                "requiresShipping": True,
                "taxable": True,
                "originalUnitPriceSet": money_bag(price),
                "originalTotalSet": money_bag(price * qty),
                "discountedTotalSet": money_bag(price * qty - discount),
                "totalDiscountSet": money_bag(discount),
                "discountAllocations": [],
                "variant": variant,
                "product": variant["product"] if variant else None,
            }
            discount_by_line[lid] = discount
            line_records[lid] = record
            lines_by_order[row["order_id"]].append(record)

        refund_lines_by_refund: dict[int, list[Record]] = defaultdict(list)
        refund_total: dict[int, int] = defaultdict(int)
        for row in refund_lines.iter_rows(named=True):
            line = line_records.get(row["line_item_id"])
            if line is None:
                continue
            restock = row["restock_type"] or "NO_RESTOCK"
            refund_total[row["refund_id"]] += row["subtotal_cents"] or 0
            refund_lines_by_refund[row["refund_id"]].append(
                {
                    "id": shopify_gid("RefundLineItem", row["refund_line_item_id"]),
                    "lineItem": line,
                    "quantity": row["quantity"] or 0,
                    "restockType": restock,
                    "restocked": restock in ("RETURN", "CANCEL"),
                    "priceSet": line["originalUnitPriceSet"],
                    "subtotalSet": money_bag(row["subtotal_cents"] or 0),
                    "location": None,
                }
            )

        refunds_by_order: dict[int, list[Record]] = defaultdict(list)
        r_created = _iso(refunds, "created_at")
        for n, row in enumerate(refunds.iter_rows(named=True)):
            rid = row["refund_id"]
            refunds_by_order[row["order_id"]].append(
                {
                    "__typename": "Refund",
                    "id": shopify_gid("Refund", rid),
                    "legacyResourceId": str(rid),
                    "createdAt": r_created[n],
                    "updatedAt": r_created[n],
                    "note": row["note"],
                    "totalRefundedSet": money_bag(refund_total.get(rid, 0)),
                    "_refund_line_items": refund_lines_by_refund.get(rid, []),
                }
            )

        fulfillments_by_order: dict[int, list[Record]] = defaultdict(list)
        f_created, f_updated = _iso(fulfillments, "created_at"), _iso(fulfillments, "updated_at")
        for n, row in enumerate(fulfillments.iter_rows(named=True)):
            fid = row["fulfillment_id"]
            tracking = (
                [
                    {
                        "company": row["tracking_company"],
                        "number": row["tracking_number"],
                        "url": None,
                    }
                ]
                if row["tracking_number"] or row["tracking_company"]
                else []
            )
            fulfillments_by_order[row["order_id"]].append(
                {
                    "__typename": "Fulfillment",
                    "id": shopify_gid("Fulfillment", fid),
                    "legacyResourceId": str(fid),
                    "status": row["status"] or "SUCCESS",
                    "createdAt": f_created[n],
                    "updatedAt": f_updated[n],
                    "_tracking_info": tracking,
                    "location": location_by_id.get(row["location_id"]),
                }
            )

        created, processed = _iso(frame, "created_at"), _iso(frame, "processed_at")
        updated, cancelled = _iso(frame, "updated_at"), _iso(frame, "cancelled_at")
        records: list[Record] = []
        for n, row in enumerate(frame.iter_rows(named=True)):
            oid = row["order_id"]
            currency = row["currency"] or "USD"
            code = row["discount_code"]
            application = (
                {
                    "__typename": "DiscountCodeApplication",
                    "allocationMethod": "ACROSS",
                    "index": 0,
                    "targetSelection": "ALL",
                    "targetType": "LINE_ITEM",
                    "code": code,
                }
                if code
                else {
                    "__typename": "AutomaticDiscountApplication",
                    "allocationMethod": "ACROSS",
                    "index": 0,
                    "targetSelection": "ALL",
                    "targetType": "LINE_ITEM",
                    "title": "Automatic discount",
                }
            )
            order_lines = lines_by_order.get(oid, [])
            for line in order_lines:
                discount = discount_by_line[int(line["id"].rsplit("/", 1)[1])]
                if discount:
                    line["discountAllocations"] = [
                        {
                            "allocatedAmountSet": money_bag(discount, currency),
                            "discountApplication": application,
                        }
                    ]
            customer = customers.get(row["customer_id"]) if row["customer_id"] else None
            subtotal = (row["subtotal_cents"] or 0) - (row["total_discounts_cents"] or 0)
            total, refunded = row["total_price_cents"] or 0, row["total_refunded_cents"] or 0
            is_cancelled = cancelled[n] is not None
            records.append(
                {
                    "__typename": "Order",
                    "id": shopify_gid("Order", oid),
                    "legacyResourceId": str(oid),
                    "name": row["name"],
                    "email": row["email"],
                    "phone": row["phone"],
                    "createdAt": created[n],
                    "processedAt": processed[n] or created[n],
                    "updatedAt": updated[n],
                    "cancelledAt": cancelled[n],
                    "cancelReason": row["cancel_reason"],
                    "closed": is_cancelled or row["fulfillment_status"] == "FULFILLED",
                    "confirmed": True,
                    "test": bool(row["is_test"]),
                    "currencyCode": currency,
                    "presentmentCurrencyCode": currency,
                    "displayFinancialStatus": row["financial_status"],
                    "displayFulfillmentStatus": row["fulfillment_status"] or "UNFULFILLED",
                    "sourceName": "web",
                    "discountCode": code,
                    "discountCodes": [code] if code else [],
                    "tags": [],
                    "note": None,
                    "subtotalPriceSet": money_bag(subtotal, currency),
                    "totalDiscountsSet": money_bag(row["total_discounts_cents"] or 0, currency),
                    "totalTaxSet": money_bag(row["total_tax_cents"] or 0, currency),
                    "totalShippingPriceSet": money_bag(row["total_shipping_cents"] or 0, currency),
                    "totalPriceSet": money_bag(total, currency),
                    "totalRefundedSet": money_bag(refunded, currency),
                    "currentTotalPriceSet": money_bag(total - refunded, currency),
                    "customer": customer,
                    "shippingAddress": _address(
                        f"gid://shopify/MailingAddress/{oid}?model_name=Address",
                        row["ship_first_name"],
                        row["ship_last_name"],
                        row["ship_city"],
                        row["ship_province_code"],
                        row["ship_zip"],
                        row["ship_country_code"],
                    ),
                    "billingAddress": None,
                    "_line_items": order_lines,
                    "_refunds": refunds_by_order.get(oid, []),
                    "_fulfillments": fulfillments_by_order.get(oid, []),
                }
            )

        line_skus: dict[int, list[str]] = defaultdict(list)
        for order_id, sku in lines.select("order_id", "sku").iter_rows():
            if sku:
                line_skus[order_id].append(sku.lower())
        names = _lower(frame["name"].to_list())
        emails = _lower(frame["email"].to_list())
        ids = _ints(frame, "order_id")
        return Resource(
            "orders",
            records,
            ids,
            {
                "id": ids,
                "created_at": _epoch(frame, "created_at"),
                "processed_at": _epoch(frame, "processed_at"),
                "updated_at": _epoch(frame, "updated_at"),
                "order_number": _ints(frame, "order_number"),
                "total_price": _ints(frame, "total_price_cents"),
                "name": names,
                "email": emails,
                "customer_id": _ints(frame, "customer_id"),
                "financial_status": _lower(frame["financial_status"].to_list()),
                "fulfillment_status": _lower(frame["fulfillment_status"].to_list()),
                "cancelled": np.array([c is not None for c in cancelled], dtype=bool),
                "closed": np.array([r["closed"] for r in records], dtype=bool),
                "test": frame["is_test"].fill_null(False).to_numpy().astype(bool),
                "discount_code": _lower(frame["discount_code"].to_list()),
                "skus": _objects([line_skus.get(int(i), []) for i in ids]),
                "text": np.array(
                    [f"{n} {e}" for n, e in zip(names, emails, strict=True)], dtype=str
                ),
            },
            {
                "ID": "id",
                "CREATED_AT": "created_at",
                "PROCESSED_AT": "processed_at",
                "UPDATED_AT": "updated_at",
                "ORDER_NUMBER": "order_number",
                "TOTAL_PRICE": "total_price",
            },
        )

    # --- abandoned checkouts --------------------------------------------------------------
    def abandoned_checkouts(self) -> Resource:
        """Abandoned checkouts with their line items."""
        return self.world.cached("shopify:abandonedCheckouts", self._build_checkouts)

    def _build_checkouts(self) -> Resource:
        frame = self.world.table("shopify_abandoned_checkouts").sort("checkout_id")
        lines = self.world.table("shopify_checkout_lines").sort(["checkout_id", "line_no"])
        customers = self.customers()
        variants, _ = self._variant_refs()
        lines_by_checkout: dict[int, list[Record]] = defaultdict(list)
        for row in lines.iter_rows(named=True):
            variant = variants.get(row["variant_id"]) if row["variant_id"] else None
            qty, price = row["quantity"] or 0, row["price_cents"] or 0
            lines_by_checkout[row["checkout_id"]].append(
                {
                    "__typename": "AbandonedCheckoutLineItem",
                    "id": shopify_gid(
                        "AbandonedCheckoutLineItem", row["checkout_id"] * 1000 + row["line_no"]
                    ),
                    "title": row["title"],
                    "sku": row["sku"],
                    "quantity": qty,
                    "variantTitle": variant["title"] if variant else None,
                    "originalUnitPriceSet": money_bag(price),
                    "originalTotalPriceSet": money_bag(price * qty),
                    "variant": variant,
                    "product": variant["product"] if variant else None,
                    "_total": price * qty,
                }
            )
        created, updated = _iso(frame, "created_at"), _iso(frame, "updated_at")
        completed = _iso(frame, "completed_at")
        records: list[Record] = []
        for n, row in enumerate(frame.iter_rows(named=True)):
            cid = row["checkout_id"]
            checkout_lines = lines_by_checkout.get(cid, [])
            records.append(
                {
                    "__typename": "AbandonedCheckout",
                    "id": shopify_gid("AbandonedCheckout", cid),
                    "name": f"#{cid}",
                    "abandonedCheckoutUrl": row["abandoned_checkout_url"],
                    "createdAt": created[n],
                    "updatedAt": updated[n],
                    "completedAt": completed[n],
                    "customer": customers.get(row["customer_id"]) if row["customer_id"] else None,
                    "discountCodes": [],
                    "note": "",
                    "taxesIncluded": False,
                    "subtotalPriceSet": money_bag(row["subtotal_cents"] or 0),
                    "totalLineItemsPriceSet": money_bag(sum(x["_total"] for x in checkout_lines)),
                    "totalPriceSet": money_bag(row["total_price_cents"] or 0),
                    "billingAddress": None,
                    "shippingAddress": None,
                    "_line_items": checkout_lines,
                }
            )
        ids = _ints(frame, "checkout_id")
        return Resource(
            "abandonedCheckouts",
            records,
            ids,
            {
                "id": ids,
                "created_at": _epoch(frame, "created_at"),
                "updated_at": _epoch(frame, "updated_at"),
                "total_price": _ints(frame, "total_price_cents"),
                "completed": np.array([c is not None for c in completed], dtype=bool),
                "text": _lower(frame["email"].to_list()),
            },
            {
                "ID": "id",
                "CHECKOUT_ID": "id",
                "CREATED_AT": "created_at",
                "TOTAL_PRICE": "total_price",
            },
        )

    # --- lookup ---------------------------------------------------------------------------
    def resource(self, name: str) -> Resource:
        """A list resource by its QueryRoot field name (``orders``, ``customers``, ...)."""
        if name == "orders":
            return self.orders()
        if name == "customers":
            return self.customers()
        if name == "abandonedCheckouts":
            return self.abandoned_checkouts()
        return self.catalog()[name]

    def refunds(self) -> dict[int, Record]:
        """Refunds by legacy id (``Refund`` implements ``Node``: ``node(id:)`` fetches one)."""
        return self.world.cached(
            "shopify:refunds",
            lambda: {
                int(refund["legacyResourceId"]): refund
                for order in self.orders().records
                for refund in order["_refunds"]
            },
        )

    def by_gid(self, kind: str, legacy_id: int) -> Record | None:
        """The record of a GID's type and legacy id (the types ``node(id:)`` can fetch)."""
        if kind == "Refund":
            return self.refunds().get(legacy_id)
        resource = {
            "Order": "orders",
            "Customer": "customers",
            "AbandonedCheckout": "abandonedCheckouts",
            "Product": "products",
            "ProductVariant": "productVariants",
            "InventoryItem": "inventoryItems",
            "Location": "locations",
        }.get(kind)
        return None if resource is None else self.resource(resource).get(legacy_id)
