"""searchOrders (Orders API v2026-01-01) parameters: validation, filtering and paginationToken.

Rules from ``orders_2026-01-01.json``:
- Exactly one of ``createdAfter`` / ``lastUpdatedAfter``; the families cannot be mixed
  (``createdAfter`` with ``lastUpdatedBefore`` is an error).
- ``createdBefore`` / ``lastUpdatedBefore`` must be >= the matching ``After`` and at least two
  minutes before "now" (the world clock, as for getOrders). Without a ``Before`` the window ends
  at now - 2 minutes, which the response reports as ``createdBefore`` / ``lastUpdatedBefore``.
- ``marketplaceIds`` is optional (at most 50); array parameters are comma-separated or repeated.
- ``fulfillmentStatuses``, ``fulfilledBy`` and ``includedData`` take the model's enum values.
- ``maxResultsPerPage`` is 1..100, default 100.
- ``paginationToken`` (the previous page's ``pagination.nextToken``) needs every other parameter
  re-sent with the values that produced it, except ``maxResultsPerPage`` and ``includedData``,
  which may change; it expires 24 hours (world clock) after it was issued.
Dates compare whole seconds, as in getOrders (``orders.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

import orjson

from pipelines.sandbox.http import Request
from pipelines.sandbox.vendors.amazon import orders
from pipelines.sandbox.vendors.amazon.orders import GENERIC, InvalidInput
from pipelines.sandbox.vendors.amazon.render_v2026 import FULFILLED_BY, FULFILLMENT_STATUS

TOKEN_LIFETIME = timedelta(hours=24)
INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
# the parameters a paginationToken is bound to (all but the page size and the datasets)
FILTERS = (
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "fulfillmentStatuses",
    "marketplaceIds",
    "fulfilledBy",
)
PARAMS = frozenset({*FILTERS, "maxResultsPerPage", "paginationToken", "includedData"})
STATUS_OF = {new: old for old, new in FULFILLMENT_STATUS.items()}
CHANNEL_OF = {new: old for old, new in FULFILLED_BY.items()}
DELAY_MESSAGE = (
    "createdBefore and lastUpdatedBefore must be at least 2 minutes before the time of the "
    "request: the most recent data is 2 minutes after an order is created or last updated."
)


@dataclass(frozen=True)
class Search:
    """One searchOrders request: the world query, its page and the datasets to include."""

    query: orders.OrdersQuery
    offset: int
    included: frozenset[str]
    filters: str  # canonical text of the filter parameters, which a token is bound to

    def token(self, offset: int, issued: int) -> str:
        """The opaque ``nextToken`` of the page starting at ``offset`` (issued at ``issued``)."""
        fields = {"q": asdict(self.query), "o": offset, "f": self.filters, "t": issued}
        return orders.encode_token(fields)


def _list(request: Request, name: str) -> tuple[str, ...]:
    values: list[str] = []
    for raw in request.query.get(name, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return tuple(values)


def _enum(request: Request, name: str, allowed: frozenset[str] | set[str]) -> tuple[str, ...]:
    values = _list(request, name)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidInput(GENERIC, f"Invalid {name} value(s): {', '.join(unknown)}.")
    return values


def _filters(request: Request) -> str:
    """The filter parameters as sent, canonical (order of values and of names does not matter)."""
    sent = {name: sorted(_list(request, name)) for name in FILTERS if name in request.query}
    return orjson.dumps(sent, option=orjson.OPT_SORT_KEYS).decode()


def included(request: Request) -> frozenset[str]:
    return frozenset(_enum(request, "includedData", INCLUDED_DATA))


def _page_size(request: Request) -> int:
    raw = request.arg("maxResultsPerPage")
    if raw is None:
        return orders.MAX_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= orders.MAX_PAGE:
        raise InvalidInput(GENERIC, f"maxResultsPerPage must be between 1 and {orders.MAX_PAGE}.")
    return int(raw)


def _date(request: Request, name: str, bad: list[str]) -> int | None:
    raw = request.arg(name)
    if raw is None:
        return None
    if not orders.ISO_DATE.match(raw.strip()):
        bad.append(name)
        return None
    try:
        return orders.epoch(datetime.fromisoformat(raw.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        bad.append(name)
        return None


def _from_token(request: Request, token: str, now: datetime) -> Search:
    try:
        data = orders.decode_token(token)
        query = replace(
            orders.OrdersQuery.from_fields(data["q"]),
            email=None,
            order_ids=(),
            page_size=_page_size(request),
        )
        offset, filters, issued = data["o"], data["f"], data["t"]
    except orders.TOKEN_ERRORS:
        raise InvalidInput(GENERIC, "Invalid paginationToken.") from None
    if not (query.well_formed() and isinstance(offset, int) and offset >= 0):
        raise InvalidInput(GENERIC, "Invalid paginationToken.")
    if not isinstance(issued, int) or orders.epoch(now) - issued >= TOKEN_LIFETIME.total_seconds():
        raise InvalidInput(GENERIC, "The paginationToken has expired (tokens last 24 hours).")
    if filters != _filters(request):
        raise InvalidInput(
            GENERIC,
            "Parameters must have the values of the request that returned the paginationToken "
            "(only maxResultsPerPage and includedData may change).",
        )
    return Search(query, offset, included(request), filters)


def parse(request: Request, now: datetime) -> Search:
    """The search a searchOrders request asks for; raises InvalidInput like Amazon."""
    unknown = sorted(set(request.query) - PARAMS)
    if unknown:
        raise InvalidInput(GENERIC, f"Unknown parameter(s): {', '.join(unknown)}.")
    marketplaces = _list(request, "marketplaceIds")
    if len(marketplaces) > orders.MAX_IDS:
        raise InvalidInput(GENERIC, f"marketplaceIds accepts at most {orders.MAX_IDS} values.")
    token = request.arg("paginationToken")
    if token is not None:
        return _from_token(request, token, now)
    page_size = _page_size(request)
    datasets = included(request)
    statuses = _enum(request, "fulfillmentStatuses", set(STATUS_OF))
    channels = _enum(request, "fulfilledBy", set(CHANNEL_OF))

    bad: list[str] = []
    created_after = _date(request, "createdAfter", bad)
    created_before = _date(request, "createdBefore", bad)
    updated_after = _date(request, "lastUpdatedAfter", bad)
    updated_before = _date(request, "lastUpdatedBefore", bad)
    if bad:
        raise InvalidInput("Invalid Input", f"Invalid date-time field(s) [{', '.join(bad)}].")
    created = created_after is not None or created_before is not None
    updated = updated_after is not None or updated_before is not None
    if created and updated:
        raise InvalidInput(
            GENERIC,
            "createdAfter/createdBefore and lastUpdatedAfter/lastUpdatedBefore cannot be combined.",
        )
    after = created_after if created else updated_after
    before = created_before if created else updated_before
    family = "created" if created else "lastUpdated"
    if after is None:
        raise InvalidInput(GENERIC, "Exactly one of createdAfter and lastUpdatedAfter is required.")
    latest = orders.epoch(now - orders.DELAY)
    if before is not None and before > latest:
        raise InvalidInput(GENERIC, DELAY_MESSAGE)
    if before is not None and before < after:
        raise InvalidInput(GENERIC, f"{family}Before must be equal to or after {family}After.")
    query = orders.OrdersQuery(
        family="Created" if created else "LastUpdated",
        after=after,
        before=latest if before is None else before,
        marketplaces=marketplaces,
        statuses=tuple(STATUS_OF[status] for status in statuses),
        channels=tuple(CHANNEL_OF[channel] for channel in channels),
        email=None,
        order_ids=(),
        page_size=page_size,
    )
    return Search(query, 0, datasets, _filters(request))
