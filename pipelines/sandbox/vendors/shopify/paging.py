"""Relay connections as the Admin API pages them: ``first``/``after``/``last``/``before``,
``reverse``, ``sortKey``, ``query:`` filters, and opaque cursors.

A cursor is base64 JSON ``{"last_id": <legacy id>, "last_value": <sort value>}`` (Shopify's own
shape), so paging resumes right after the (sort value, id) pair it names: ties on the sort key are
broken by id and records that change or vanish between pages neither repeat nor get lost.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
from graphql import GraphQLError

from pipelines.sandbox.vendors.shopify import search
from pipelines.sandbox.vendors.shopify.records import Record, Resource

MAX_PAGE_SIZE = 250
Matchers = dict[str, search.Matcher]


def check_window(field_name: str, args: dict[str, Any]) -> None:
    """Shopify's errors for a missing or out-of-range ``first``/``last``."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise GraphQLError(
                f"Argument '{name}' on Field '{field_name}' has an invalid value ({size}). "
                f"Expected a page size from 0 to {MAX_PAGE_SIZE}.",
                extensions={"code": "argumentLiteralsIncompatible"},
            )


def encode_cursor(legacy_id: int, value: Any) -> str:
    """An opaque cursor naming one (sort value, id) position."""
    payload = orjson.dumps({"last_id": legacy_id, "last_value": value})
    return base64.b64encode(payload).decode()


def decode_cursor(cursor: str) -> tuple[int, Any]:
    """(id, sort value) from a cursor; a GraphQL error when it is not one of ours."""
    try:
        payload = orjson.loads(base64.b64decode(cursor.encode(), validate=True))
        return int(payload["last_id"]), payload["last_value"]
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise GraphQLError(f"Invalid cursor: {cursor!r}.") from None


def _bound(values: np.ndarray, ids: np.ndarray, value: Any, legacy_id: int) -> tuple[int, int]:
    """Positions in a (value, id)-sorted order: first >= (value, id) and first > (value, id)."""
    try:
        lo = int(np.searchsorted(values, value, "left"))
        hi = int(np.searchsorted(values, value, "right"))
    except (TypeError, ValueError, np.exceptions.DTypePromotionError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None
    tie = ids[lo:hi]
    return (
        lo + int(np.searchsorted(tie, legacy_id, "left")),
        lo + int(np.searchsorted(tie, legacy_id, "right")),
    )


def _python_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _left(sequence: Any, value: int) -> int:
    if isinstance(sequence, np.ndarray):
        return int(np.searchsorted(sequence, value, "left"))
    return bisect.bisect_left(sequence, value)


def build_connection(
    args: dict[str, Any],
    matched: Any,
    bound: Callable[[Any, int], tuple[int, int]],
    cursor_at: Callable[[int], str],
    record_at: Callable[[int], Record],
    bulk: bool,
) -> dict[str, Any]:
    """One page over ``matched``: ascending positions (ndarray or list) into the sorted order.

    ``bound(value, id)`` gives the sorted positions (first >= cursor, first > cursor);
    ``cursor_at``/``record_at`` render the cursor and record at a sorted position.
    """
    total = len(matched)
    lo, hi = 0, total
    reverse = bool(args.get("reverse"))
    for name, before_side in (("after", reverse), ("before", not reverse)):
        cursor = None if bulk else args.get(name)
        if cursor is None:
            continue
        legacy_id, value = decode_cursor(cursor)
        lt, le = bound(value, legacy_id)
        if before_side:  # keep what sorts before the cursor
            hi = min(hi, _left(matched, lt))
        else:  # keep what sorts after it
            lo = max(lo, _left(matched, le))
    hi = max(lo, hi)
    first, last = (None, None) if bulk else (args.get("first"), args.get("last"))
    if not reverse:
        if first is not None:
            hi = min(hi, lo + first)
        if last is not None:
            lo = max(lo, hi - last)
    else:
        if first is not None:
            lo = max(lo, hi - first)
        if last is not None:
            hi = min(hi, lo + last)
    positions = matched[lo:hi]
    if reverse:
        positions = positions[::-1]
    nodes = [record_at(int(p)) for p in positions]
    after_page, before_page = hi < total, lo > 0
    return {
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": before_page if reverse else after_page,
            "hasPreviousPage": after_page if reverse else before_page,
            "startCursor": cursor_at(int(positions[0])) if nodes else None,
            "endCursor": cursor_at(int(positions[-1])) if nodes else None,
        },
        "_cursor": lambda n: cursor_at(int(positions[n])),
    }


def edges(connection: dict[str, Any], cursors: bool = True) -> list[dict[str, Any]]:
    """The ``edges`` of a connection built by :func:`build_connection` (``cursors`` False: the
    query does not ask for them, as in bulk queries over a million edges)."""
    if not cursors:
        return [{"node": node} for node in connection["nodes"]]
    cursor_of = connection["_cursor"]
    return [{"cursor": cursor_of(n), "node": node} for n, node in enumerate(connection["nodes"])]


# --- search fields per resource -----------------------------------------------------------
def _order_name(value: str) -> str:
    return value if value.startswith("#") else f"#{value}"


def search_fields(resource: Resource) -> Matchers:
    """The ``query:`` fields a list resource understands (others are warned about)."""
    cols = resource.columns
    ones = lambda: np.ones(len(resource.ids), dtype=bool)  # noqa: E731
    common: Matchers = {"id": search.int_field(cols["id"])}
    for name in ("created_at", "updated_at", "processed_at"):
        if name in cols:
            common[name] = search.date_field(cols[name])
    if resource.name == "orders":
        fulfilled = cols["fulfillment_status"] == "fulfilled"
        return common | {
            "name": search.text_field(cols["name"], _order_name),
            "email": search.text_field(cols["email"]),
            "customer_id": search.int_field(cols["customer_id"]),
            "financial_status": search.text_field(cols["financial_status"]),
            "fulfillment_status": search.choice_field(
                {
                    "shipped": lambda: fulfilled,
                    "fulfilled": lambda: fulfilled,
                    "unshipped": lambda: ~fulfilled,
                    "unfulfilled": lambda: ~fulfilled,
                    "any": ones,
                }
            ),
            "status": search.choice_field(
                {
                    "open": lambda: ~cols["closed"],
                    "closed": lambda: cols["closed"] & ~cols["cancelled"],
                    "cancelled": lambda: cols["cancelled"],
                    "any": ones,
                }
            ),
            "test": search.bool_field(cols["test"]),
            "discount_code": search.text_field(cols["discount_code"]),
            "sku": search.list_field(cols["skus"]),
        }
    if resource.name == "customers":
        return (
            common
            | {
                name: search.text_field(cols[name])
                for name in ("email", "phone", "state", "first_name", "last_name", "country")
            }
            | {"tag": search.list_field(cols["tags"])}
        )
    if resource.name == "products":
        return common | {
            name: search.text_field(cols[name])
            for name in ("title", "product_type", "vendor", "status")
        }
    if resource.name == "productVariants":
        return common | {
            "product_id": search.int_field(cols["product_id"]),
            "sku": search.text_field(cols["sku"]),
            "title": search.text_field(cols["title"]),
        }
    if resource.name == "inventoryItems":
        return common | {"sku": search.text_field(cols["sku"])}
    if resource.name == "locations":
        return common | {"name": search.text_field(cols["name"])}
    if resource.name == "abandonedCheckouts":
        return common | {
            "status": search.choice_field(
                {
                    "open": lambda: ~cols["completed"],
                    "closed": lambda: cols["completed"],
                    "any": ones,
                }
            )
        }
    return common


def resource_connection(
    resource: Resource,
    args: dict[str, Any],
    sort_key: str,
    bulk: bool,
    warn: Callable[[search.SearchResult], None],
) -> dict[str, Any]:
    """A page of a root list resource (sorted, filtered and paged)."""
    query = args.get("query") or ""
    order, sorted_values, sorted_ids = resource.sort_order(sort_key)

    def matched_positions() -> tuple[np.ndarray, search.SearchResult]:
        found = search.evaluate(
            query, len(resource.ids), search_fields(resource), resource.columns.get("text")
        )
        return np.flatnonzero(found.mask[order]), found

    matched, found = resource.memo((query, sort_key), matched_positions)
    if found.warnings:
        warn(found)
    records = resource.records

    def cursor_at(p: int) -> str:
        return encode_cursor(int(sorted_ids[p]), _python_value(sorted_values[p]))

    return build_connection(
        args,
        matched,
        lambda value, legacy_id: _bound(sorted_values, sorted_ids, value, legacy_id),
        cursor_at,
        lambda p: records[order[p]],
        bulk,
    )


def gid_number(record: Record) -> int:
    """The legacy id inside a record's GID."""
    return int(record["id"].rsplit("/", 1)[1].split("?", 1)[0])


def list_connection(
    items: list[Record],
    args: dict[str, Any],
    bulk: bool,
    key: Callable[[Record], int] = gid_number,
    query_fields: Callable[[list[Record]], Matchers] | None = None,
    warn: Callable[[search.SearchResult], None] | None = None,
) -> dict[str, Any]:
    """A page of a nested connection (``lineItems``, ``variants``...), ordered by ``key``.

    Plain Python (no numpy): nested lists are short and there is one per parent object.
    """
    keyed = sorted(((key(item), item) for item in items), key=itemgetter(0))
    keys = [k for k, _ in keyed]
    matched: list[int] = list(range(len(keyed)))
    query = args.get("query")
    if query and query_fields is not None:
        found = search.evaluate(query, len(keyed), query_fields([i for _, i in keyed]), None)
        matched = [int(p) for p in np.flatnonzero(found.mask)]
        if found.warnings and warn is not None:
            warn(found)

    def bound(value: Any, legacy_id: int) -> tuple[int, int]:
        if not isinstance(value, int) or value != legacy_id:
            raise GraphQLError("Invalid cursor for current pagination sort.")
        return bisect.bisect_left(keys, legacy_id), bisect.bisect_right(keys, legacy_id)

    return build_connection(
        args,
        matched,
        bound,
        lambda p: encode_cursor(keys[p], keys[p]),
        lambda p: keyed[p][1],
        bulk,
    )


def level_fields(levels: list[Record]) -> Matchers:
    """``query:`` fields of ``inventoryLevels`` (on a location or an inventory item)."""
    updated = np.fromiter((lv["_updated_epoch"] for lv in levels), np.int64, len(levels))
    items = np.fromiter((lv["_item_id"] for lv in levels), np.int64, len(levels))
    return {
        "updated_at": search.date_field(updated),
        "inventory_item_id": search.int_field(items),
    }
