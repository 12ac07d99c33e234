"""getOrders parameters: parsing, Amazon's validation rules, filtering and NextToken paging.

Rules reproduced from ``ordersV0.json`` and observed behaviour:
- ``MarketplaceIds`` is required (comma-separated, or repeated).
- Exactly one of ``CreatedAfter`` / ``LastUpdatedAfter`` (unless ``AmazonOrderIds`` is given); the
  families cannot be mixed (``CreatedAfter`` with ``LastUpdatedBefore`` is an error).
- ``CreatedBefore`` / ``LastUpdatedBefore`` must be >= the matching ``After`` and at least two
  minutes before "now". In the sandbox "now" is the world clock: ``world/meta.json`` ``clock``,
  which the generator writes as ISO 8601 UTC text (``"2026-10-31T00:00:00Z"``, midnight UTC at
  the start of its ``as_of`` day) and ``advance_world`` moves forward by whole days; the rule holds
  for a world generated in the past or the future. Without a ``Before`` the window ends
  at now - 2 minutes, which the payload reports as ``CreatedBefore`` / ``LastUpdatedBefore``.
- Dates are ISO 8601 in UTC (``Z``, ``+00:00`` or no offset); other offsets are rejected, as
  Amazon does.
- ``After`` and ``Before`` are inclusive and compare whole seconds (the precision Amazon renders).
- ``NextToken`` carries the whole query: when present the other filters are ignored (they may be
  re-sent, as dlt's paginators do); ``MarketplaceIds`` is still required.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import polars as pl

from pipelines.sandbox.http import Request

MAX_PAGE = 100
MAX_IDS = 50
DELAY = timedelta(minutes=2)

GET_ORDERS_PARAMS = frozenset(
    {
        "CreatedAfter",
        "CreatedBefore",
        "LastUpdatedAfter",
        "LastUpdatedBefore",
        "OrderStatuses",
        "MarketplaceIds",
        "FulfillmentChannels",
        "PaymentMethods",
        "BuyerEmail",
        "SellerOrderId",
        "MaxResultsPerPage",
        "EasyShipShipmentStatuses",
        "ElectronicInvoiceStatuses",
        "NextToken",
        "AmazonOrderIds",
        "ActualFulfillmentSupplySourceId",
        "IsISPU",
        "StoreChainStoreId",
        "EarliestDeliveryDateBefore",
        "EarliestDeliveryDateAfter",
        "LatestDeliveryDateBefore",
        "LatestDeliveryDateAfter",
    }
)
ORDER_STATUSES = frozenset(
    {
        "PendingAvailability",
        "Pending",
        "Unshipped",
        "PartiallyShipped",
        "Shipped",
        "InvoiceUnconfirmed",
        "Canceled",
        "Unfulfillable",
    }
)
GENERIC = "The input you have submitted is not valid. Please check your input and try again."
DELAY_MESSAGE = (
    "The input you have submitted is not valid. Note that the error may be due to a systematic "
    "delay in data retrieval. The most updated data is 2 minutes after an order is created or last "
    "updated. If you set the CreatedBefore or LastUpdatedBefore parameters, please provide a date "
    "that is at least 2 minutes before current time and try again."
)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]00:?00)?$")


class InvalidInput(Exception):
    """A 400 ``InvalidInput`` error with Amazon's message and details."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class OrdersQuery:
    """One getOrders search, as carried from page to page by NextToken."""

    family: str  # "Created" | "LastUpdated" | "" (AmazonOrderIds only)
    after: int | None  # epoch seconds, inclusive
    before: int  # epoch seconds, inclusive
    marketplaces: tuple[str, ...]
    statuses: tuple[str, ...]
    channels: tuple[str, ...]
    email: str | None
    order_ids: tuple[str, ...]
    page_size: int

    def token(self, offset: int) -> str:
        """The opaque NextToken for the page starting at ``offset``."""
        return encode_token({"q": asdict(self), "o": offset})

    @classmethod
    def from_fields(cls, q: dict[str, Any]) -> OrdersQuery:
        """The query whose ``asdict`` is ``q`` (KeyError/TypeError when it is not one)."""
        return cls(
            family=q["family"],
            after=q["after"],
            before=q["before"],
            marketplaces=tuple(q["marketplaces"]),
            statuses=tuple(q["statuses"]),
            channels=tuple(q["channels"]),
            email=q["email"],
            order_ids=tuple(q["order_ids"]),
            page_size=q["page_size"],
        )

    @classmethod
    def from_token(cls, token: str) -> tuple[OrdersQuery, int]:
        """The query and offset a NextToken stands for (InvalidInput when it is not one of ours)."""
        try:
            data = decode_token(token)
            query, offset = cls.from_fields(data["q"]), data["o"]
        except TOKEN_ERRORS:
            raise InvalidInput(GENERIC, "Invalid NextToken.") from None
        if not query.well_formed() or not isinstance(offset, int) or offset < 0:
            raise InvalidInput(GENERIC, "Invalid NextToken.")
        return query, offset

    def well_formed(self) -> bool:
        """Whether every field has the type a search needs (a decoded token may not)."""
        texts = (*self.marketplaces, *self.statuses, *self.channels, *self.order_ids)
        return (
            self.family in ("Created", "LastUpdated", "")
            and (self.after is None or isinstance(self.after, int))
            and isinstance(self.before, int)
            and (self.email is None or isinstance(self.email, str))
            and all(isinstance(text, str) for text in texts)
            and isinstance(self.page_size, int)
            and 1 <= self.page_size <= MAX_PAGE
        )


def epoch(moment: datetime) -> int:
    """Whole epoch seconds of a timestamp (one without an offset is UTC)."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


# what decoding a token that is not one of ours may raise
TOKEN_ERRORS = (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError)


def encode_token(fields: dict[str, Any]) -> str:
    """An opaque paging token carrying ``fields`` (base64url of their JSON, unpadded)."""
    return base64.urlsafe_b64encode(orjson.dumps(fields)).decode().rstrip("=")


def decode_token(token: str) -> Any:
    """The fields an ``encode_token`` token carries (one of TOKEN_ERRORS when it is not one)."""
    return orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def iso(epoch_s: int) -> str:
    """Epoch seconds as Amazon renders a timestamp."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _list(request: Request, name: str) -> tuple[str, ...]:
    values: list[str] = []
    for raw in request.query.get(name, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return tuple(values)


def _date(request: Request, name: str, bad: list[str]) -> int | None:
    raw = request.arg(name)
    if raw is None:
        return None
    if not ISO_DATE.match(raw.strip()):
        bad.append(name[0].lower() + name[1:])
        return None
    try:
        return epoch(datetime.fromisoformat(raw.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        bad.append(name[0].lower() + name[1:])
        return None


def parse(request: Request, now: datetime) -> tuple[OrdersQuery, int]:
    """The search and offset a getOrders request asks for; raises InvalidInput like Amazon."""
    unknown = sorted(set(request.query) - GET_ORDERS_PARAMS)
    if unknown:
        raise InvalidInput(GENERIC, f"Unknown parameter(s): {', '.join(unknown)}.")
    marketplaces = _list(request, "MarketplaceIds")
    if not marketplaces:
        raise InvalidInput("Missing or invalid request parameters: [MarketplaceIds]")
    if len(marketplaces) > MAX_IDS:
        raise InvalidInput(GENERIC, f"MarketplaceIds accepts at most {MAX_IDS} values.")
    token = request.arg("NextToken")
    if token is not None:
        return OrdersQuery.from_token(token)

    page_size = MAX_PAGE
    raw_size = request.arg("MaxResultsPerPage")
    if raw_size is not None:
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE:
            raise InvalidInput(GENERIC, f"MaxResultsPerPage must be between 1 and {MAX_PAGE}.")
        page_size = int(raw_size)

    bad: list[str] = []
    created_after = _date(request, "CreatedAfter", bad)
    created_before = _date(request, "CreatedBefore", bad)
    updated_after = _date(request, "LastUpdatedAfter", bad)
    updated_before = _date(request, "LastUpdatedBefore", bad)
    if bad:
        raise InvalidInput(
            "This is an invalid input", f"Invalid date-time field(s) [{', '.join(bad)}]."
        )

    order_ids = _list(request, "AmazonOrderIds")
    if len(order_ids) > MAX_IDS:
        raise InvalidInput(GENERIC, f"AmazonOrderIds accepts at most {MAX_IDS} values.")
    created = created_after is not None or created_before is not None
    updated = updated_after is not None or updated_before is not None
    if created and updated:
        raise InvalidInput(
            GENERIC,
            "CreatedAfter/CreatedBefore and LastUpdatedAfter/LastUpdatedBefore cannot be combined.",
        )
    if not order_ids and created_after is None and updated_after is None:
        raise InvalidInput(GENERIC, "Either CreatedAfter or LastUpdatedAfter is required.")

    family = "Created" if created else "LastUpdated" if updated else ""
    after = created_after if created else updated_after
    before = created_before if created else updated_before
    latest = epoch(now - DELAY)
    if before is not None and before > latest:
        raise InvalidInput(DELAY_MESSAGE)
    if before is not None and after is not None and before < after:
        raise InvalidInput(GENERIC, f"{family}Before must be equal to or after {family}After.")

    statuses = _list(request, "OrderStatuses")
    unknown_statuses = sorted(set(statuses) - ORDER_STATUSES)
    if unknown_statuses:
        raise InvalidInput(
            GENERIC, f"Invalid OrderStatuses value(s): {', '.join(unknown_statuses)}."
        )
    channels = _list(request, "FulfillmentChannels")
    if set(channels) - {"AFN", "MFN"}:
        raise InvalidInput(GENERIC, "FulfillmentChannels accepts AFN and MFN.")
    query = OrdersQuery(
        family=family,
        after=after,
        before=latest if before is None else before,
        marketplaces=marketplaces,
        statuses=statuses,
        channels=channels,
        email=request.arg("BuyerEmail"),
        order_ids=order_ids,
        page_size=page_size,
    )
    return query, 0


def matching_positions(frame: pl.DataFrame, query: OrdersQuery) -> list[int]:
    """Positions of the orders the query selects, in paging order (its date, then order id)."""
    column = "purchase_s" if query.family == "Created" else "updated_s"
    conditions = [pl.lit(True)]
    if query.marketplaces:  # required by getOrders, optional for searchOrders
        conditions.append(pl.col("marketplace").is_in(list(query.marketplaces)))
    if query.family:
        conditions.append(pl.col(column) <= query.before)
        if query.after is not None:
            conditions.append(pl.col(column) >= query.after)
    if query.statuses:
        conditions.append(pl.col("status").is_in(list(query.statuses)))
    if query.channels:
        conditions.append(pl.col("channel").is_in(list(query.channels)))
    if query.email is not None:
        conditions.append(pl.col("email") == query.email)
    if query.order_ids:
        conditions.append(pl.col("id").is_in(list(query.order_ids)))
    selected = frame.filter(pl.all_horizontal(conditions)).sort(column, "id")
    return selected["pos"].to_list()
