"""ShipStation API v1 emulator: ``GET /shipments`` with Basic auth and ShipStation's rate limit.

``http://127.0.0.1:PORT/shipstation`` stands for ``https://ssapi.shipstation.com``.

Endpoint
- ``GET /shipments``: ``{"shipments": [...], "total": N, "page": p, "pages": P}``, 1-based ``page``,
  ``pageSize`` 1-500 (default 100). Filters: ``createDateStart/End``, ``shipDateStart/End``,
  ``voidDateStart/End``, ``recipientName``, ``recipientCountryCode``, ``orderNumber``, ``orderId``,
  ``carrierCode``, ``serviceCode``, ``trackingNumber``, ``storeId``; ``includeShipmentItems``
  (items from the Shopify order's lines); ``sortBy`` ``ShipDate`` | ``CreateDate`` with ``sortDir``
  ``ASC`` | ``DESC`` (default: by ``shipmentId``). Voided labels stay in every listing with
  ``voided: true`` and a ``voidDate``; the ``voidDate*`` filters find them.

Time zone: ShipStation documents that every date-time it returns is Pacific time (PST/PDT,
America/Los_Angeles) without an offset, e.g. ``"createDate": "2026-06-30T11:00:01.6270000"``, and
that date-time filters are read as Pacific time too. The emulator renders the world's UTC times in
that form and reads filter values without an offset (``2026-06-30 11:00:01``,
``2026-06-30T11:00:01``, ``2026-06-30`` = Pacific midnight) as Pacific; a value with an explicit
offset (``Z``, ``-07:00``) is converted from that offset. ``shipDate`` is a plain date. Start
filters are inclusive (>=), end filters inclusive (<=).

Auth: HTTP Basic, API key as user name and API secret as password; anything else gets 401.
Rate limit: 40 requests per 60-second window per key (``fast`` mode: 40 per 3 s), reported on
every response as ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``
(seconds until the window resets); over the limit: 429 without ``Retry-After``.
Error bodies follow ShipStation's ASP.NET shape (``{"Message": ...}``) [unverified wording].

Read-only: no write-side state.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.ratelimit import FAST_FACTOR, RateLimitMode
from pipelines.sandbox.world import RecentAnswers

PACIFIC = "America/Los_Angeles"
STORE_ID = 228_116
USER_ID = "b4b1f6c5-3f2b-4c1e-9a57-8d7f0c3e2a11"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
LIMIT = 40
WINDOW_SECONDS = 60.0
QUERY_CACHE = 64
PARAMS = frozenset(
    {
        "recipientName",
        "recipientCountryCode",
        "orderNumber",
        "orderId",
        "carrierCode",
        "serviceCode",
        "trackingNumber",
        "createDateStart",
        "createDateEnd",
        "shipDateStart",
        "shipDateEnd",
        "voidDateStart",
        "voidDateEnd",
        "storeId",
        "includeShipmentItems",
        "sortBy",
        "sortDir",
        "page",
        "pageSize",
    }
)
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


class BadRequest(Exception):
    """A 400 with ASP.NET Web API's ``ModelState`` body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def bad_request(field: str, message: str) -> Response:
    """ShipStation's 400 body for an invalid parameter."""
    body = {"Message": "The request is invalid.", "ModelState": {field: [message]}}
    return json_response(body, 400)


class FixedWindow:
    """ShipStation's limit: ``limit`` requests per window that starts with the first request.

    Not enforcing (rate limits off) means an unlimited account: nothing is counted, so the
    headers always show the whole window free and a well-behaved client never waits."""

    def __init__(self, limit: int, seconds: float, enforce: bool) -> None:
        self.limit = limit
        self.seconds = seconds
        self.enforce = enforce
        self._started = -math.inf
        self._count = 0
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one request: whether it may proceed, and the X-Rate-Limit-* headers."""
        with self._lock:
            now = time.monotonic()
            if now - self._started >= self.seconds:
                self._started, self._count = now, 0
            allowed = not self.enforce or self._count < self.limit
            if allowed and self.enforce:
                self._count += 1
            reset = max(0, math.ceil(self._started + self.seconds - now))
            headers = {
                "X-Rate-Limit-Limit": str(self.limit),
                "X-Rate-Limit-Remaining": str(max(0, self.limit - self._count)),
                "X-Rate-Limit-Reset": str(reset),
            }
            return allowed, headers


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentIndex:
    """Every shipment as bytes plus the columns filters look at."""

    records: list[bytes]
    frame: pl.DataFrame


def _pacific(column: str) -> pl.Expr:
    """A UTC timestamp as ShipStation renders it: Pacific wall time, 7 fractional digits."""
    local = pl.col(column).dt.convert_time_zone(PACIFIC)
    return local.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f") + pl.lit("0")


def _dollars(column: str) -> pl.Expr:
    return (pl.col(column) / 100).round(2)


NULL = pl.lit(None)


def _shipment(items: pl.Expr) -> pl.Expr:
    """The shipment object, field by field in ShipStation's order."""
    return pl.struct(
        pl.col("shipment_id").alias("shipmentId"),
        pl.col("order_id").alias("orderId"),
        pl.col("order_id").cast(pl.String).alias("orderKey"),
        pl.lit(USER_ID).alias("userId"),
        pl.col("customer_email").alias("customerEmail"),
        pl.col("order_number").alias("orderNumber"),
        _pacific("create_date").alias("createDate"),
        pl.col("ship_date").dt.strftime("%Y-%m-%d").alias("shipDate"),
        _dollars("shipment_cost_cents").alias("shipmentCost"),
        _dollars("insurance_cost_cents").alias("insuranceCost"),
        pl.col("tracking_number").alias("trackingNumber"),
        pl.lit(False).alias("isReturnLabel"),
        NULL.alias("batchNumber"),
        pl.col("carrier_code").alias("carrierCode"),
        pl.col("service_code").alias("serviceCode"),
        pl.lit("package").alias("packageCode"),
        pl.lit("none").alias("confirmation"),
        pl.col("warehouse_id").alias("warehouseId"),
        pl.col("voided").fill_null(False).alias("voided"),
        _pacific("void_date").alias("voidDate"),
        pl.lit(True).alias("marketplaceNotified"),
        NULL.alias("notifyErrorMessage"),
        pl.struct(
            pl.col("ship_to_name").alias("name"),
            NULL.alias("company"),
            NULL.alias("street1"),
            NULL.alias("street2"),
            NULL.alias("street3"),
            pl.col("ship_to_city").alias("city"),
            pl.col("ship_to_state").alias("state"),
            pl.col("ship_to_postal_code").alias("postalCode"),
            pl.col("ship_to_country").alias("country"),
            pl.col("ship_to_phone").alias("phone"),
            NULL.alias("residential"),
            NULL.alias("addressVerified"),
        ).alias("shipTo"),
        pl.struct(
            pl.col("weight_oz").alias("value"),
            pl.lit("ounces").alias("units"),
            pl.lit(1).alias("WeightUnits"),
        ).alias("weight"),
        NULL.alias("dimensions"),
        pl.struct(
            NULL.alias("provider"),
            pl.lit(False).alias("insureShipment"),
            pl.lit(0.0).alias("insuredValue"),
        ).alias("insuranceOptions"),
        pl.struct(
            NULL.alias("billToParty"),
            NULL.alias("billToAccount"),
            NULL.alias("billToPostalCode"),
            NULL.alias("billToCountryCode"),
            pl.lit(STORE_ID).alias("storeId"),
        ).alias("advancedOptions"),
        items.alias("shipmentItems"),
        NULL.alias("labelData"),
        NULL.alias("formData"),
    )


def _encode(frame: pl.DataFrame, items: pl.Expr) -> list[bytes]:
    encoded = frame.select(_shipment(items).struct.json_encode()).to_series()
    return [text.encode() for text in encoded]


def build_index(world: Any) -> ShipmentIndex:
    """Render every shipment of the world, sorted by shipmentId, and index it."""
    frame = world.table("shipstation_shipments").sort("shipment_id")
    index = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"),
        "shipment_id",
        pl.col("create_date").dt.epoch("us").alias("create_us"),
        "ship_date",
        pl.col("void_date").dt.epoch("us").alias("void_us"),
        "order_id",
        "order_number",
        pl.col("ship_to_name").str.to_lowercase().alias("name"),
        pl.col("ship_to_country").alias("country"),
        "carrier_code",
        "service_code",
        "tracking_number",
    )
    return ShipmentIndex(_encode(frame, NULL), index)


def build_with_items(world: Any) -> list[bytes]:
    """Every shipment (same order as ``build_index``) with ``shipmentItems`` filled in.

    The items are the lines of the Shopify order the label was bought for.
    """
    items = (
        world.table("shopify_order_lines")
        .sort("order_id", "line_item_id")
        .group_by("order_id", maintain_order=True)
        .agg(
            pl.struct(
                pl.col("line_item_id").alias("orderItemId"),
                pl.col("line_item_id").cast(pl.String).alias("lineItemKey"),
                "sku",
                pl.col("title").alias("name"),
                NULL.alias("imageUrl"),
                NULL.alias("weight"),
                "quantity",
                _dollars("price_cents").alias("unitPrice"),
                NULL.alias("taxAmount"),
                NULL.alias("shippingAmount"),
                NULL.alias("warehouseLocation"),
                pl.lit([], dtype=pl.List(pl.Null)).alias("options"),
                NULL.alias("productId"),
                NULL.alias("fulfillmentSku"),
                pl.lit(False).alias("adjustment"),
                NULL.alias("upc"),
            ).alias("items")
        )
    )
    frame = (
        world.table("shipstation_shipments")
        .sort("shipment_id")
        .join(items, on="order_id", how="left", maintain_order="left")
    )
    empty = pl.lit([], dtype=frame.schema["items"])
    return _encode(frame, pl.col("items").fill_null(empty))


# --- query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentQuery:
    """The filters and order of one listing (the page is applied afterwards)."""

    conditions: tuple[tuple[str, str, Any], ...]  # (column, op, value)
    sort: str
    descending: bool


def _instant(field: str, raw: str) -> int:
    """Epoch microseconds of a ShipStation date-time filter (Pacific unless an offset is given)."""
    text = raw.strip()
    if not _DATETIME.match(text):
        raise BadRequest(field, f"The value '{raw}' is not valid for {field}.")
    text = re.sub(r"(\.\d{6})\d$", r"\1", text)  # .NET sends 7 digits; Python reads 6
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(PACIFIC))
        return int(moment.astimezone(UTC).timestamp() * 1_000_000)
    except (ValueError, OverflowError):
        raise BadRequest(field, f"The value '{raw}' is not valid for {field}.") from None


def _day(field: str, raw: str) -> date:
    text = raw.strip()
    if not _DATETIME.match(text):
        raise BadRequest(field, f"The value '{raw}' is not valid for {field}.")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadRequest(field, f"The value '{raw}' is not valid for {field}.") from None


def _int(field: str, raw: str, low: int, high: int) -> int:
    if not re.fullmatch(r"-?\d+", raw.strip()):
        raise BadRequest(field, f"The value '{raw}' is not valid for Int32.")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(field, f"{field} must be between {low} and {high}.")
    return value


def parse(request: Request) -> tuple[ShipmentQuery, int, int, bool]:
    """The query, page, page size and includeShipmentItems of a ``GET /shipments`` request."""
    unknown = sorted(set(request.query) - PARAMS)
    if unknown:
        raise BadRequest(unknown[0], f"The query parameter '{unknown[0]}' is not supported.")
    arg = request.arg
    conditions: list[tuple[str, str, Any]] = []
    for name, column in (("createDate", "create_us"), ("voidDate", "void_us")):
        if (start := arg(f"{name}Start")) is not None:
            conditions.append((column, ">=", _instant(f"{name}Start", start)))
        if (end := arg(f"{name}End")) is not None:
            conditions.append((column, "<=", _instant(f"{name}End", end)))
    if (start := arg("shipDateStart")) is not None:
        conditions.append(("ship_date", ">=", _day("shipDateStart", start)))
    if (end := arg("shipDateEnd")) is not None:
        conditions.append(("ship_date", "<=", _day("shipDateEnd", end)))
    if (recipient := arg("recipientName")) is not None:
        conditions.append(("name", "contains", recipient.strip().lower()))
    for param, column in (
        ("recipientCountryCode", "country"),
        ("orderNumber", "order_number"),
        ("carrierCode", "carrier_code"),
        ("serviceCode", "service_code"),
        ("trackingNumber", "tracking_number"),
    ):
        if (value := arg(param)) is not None:
            conditions.append((column, "==", value.strip()))
    if (order_id := arg("orderId")) is not None:
        conditions.append(("order_id", "==", _int("orderId", order_id, 0, 2**63 - 1)))
    if (store := arg("storeId")) is not None:
        conditions.append(("store", "==", _int("storeId", store, 0, 2**31 - 1)))
    sort_by = (arg("sortBy") or "").strip().lower()
    if sort_by not in ("", "shipdate", "createdate"):
        raise BadRequest("sortBy", f"The value '{arg('sortBy')}' is not valid for sortBy.")
    sort_dir = (arg("sortDir") or "ASC").strip().upper()
    if sort_dir not in ("ASC", "DESC"):
        raise BadRequest("sortDir", f"The value '{arg('sortDir')}' is not valid for sortDir.")
    include = (arg("includeShipmentItems") or "false").strip().lower()
    if include not in ("true", "false"):
        raise BadRequest("includeShipmentItems", f"The value '{include}' is not valid for Boolean.")
    page = _int("page", arg("page") or "1", 1, 2**31 - 1)
    page_size = _int("pageSize", arg("pageSize") or str(DEFAULT_PAGE_SIZE), 1, MAX_PAGE_SIZE)
    sort = {"shipdate": "ship_date", "createdate": "create_us"}.get(sort_by, "shipment_id")
    query = ShipmentQuery(tuple(conditions), sort, sort_dir == "DESC")
    return query, page, page_size, include == "true"


def matching_positions(frame: pl.DataFrame, query: ShipmentQuery) -> list[int]:
    """Positions of the shipments the query selects, in its order (ties by shipmentId)."""
    predicates: list[pl.Expr] = []
    for column, op, value in query.conditions:
        if column == "store":
            predicates.append(pl.lit(value == STORE_ID))
        elif op == ">=":
            predicates.append(pl.col(column) >= value)
        elif op == "<=":
            predicates.append(pl.col(column) <= value)
        elif op == "contains":
            predicates.append(pl.col(column).str.contains(value, literal=True))
        else:
            predicates.append(pl.col(column) == value)
    selected = frame.filter(pl.all_horizontal(predicates)) if predicates else frame
    selected = selected.sort(
        [query.sort, "shipment_id"], descending=[query.descending, query.descending]
    )
    return selected["pos"].to_list()


# --- the emulator ------------------------------------------------------------------------


class ShipStationEmulator(Emulator):
    """``/shipstation`` stands for ``https://ssapi.shipstation.com``."""

    name = "shipstation"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.router.add("GET", "/shipments", self.list_shipments)
        seconds = WINDOW_SECONDS / (FAST_FACTOR if ctx.rate_limits is RateLimitMode.FAST else 1)
        self.window = FixedWindow(LIMIT, seconds, ctx.rate_limits is not RateLimitMode.OFF)

    def authenticate(self, request: Request) -> Response | None:
        """HTTP Basic with the API key and secret."""
        header = request.header("authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            creds = self.credentials
            if (user, password) == (creds["api_key"], creds["api_secret"]):
                return None
        response = json_response(
            {"Message": "Authorization has been denied for this request."}, 401
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="ssapi.shipstation.com"'
        return response

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """ASP.NET's answers to an unknown path or method."""
        if method_allowed:
            message = (
                "The requested resource does not support http method '" + request.method + "'."
            )
            return json_response({"Message": message}, 405)
        message = f"No HTTP resource was found that matches the request URI '{request.path}'."
        return json_response({"Message": message}, 404)

    def handle(self, request: Request) -> Response:
        """Count the request against the key's window; every answer carries X-Rate-Limit-*."""
        if self.authenticate(request) is not None:
            return super().handle(request)
        allowed, headers = self.window.hit()
        if allowed:
            response = super().handle(request)
        else:
            response = json_response({"Message": "Too Many Requests"}, 429)
        response.headers.update(headers)
        return response

    def _index(self) -> ShipmentIndex:
        return self.world.cached("shipstation:shipments", lambda: build_index(self.world))

    def _positions(self, query: ShipmentQuery) -> list[int]:
        answers: RecentAnswers[ShipmentQuery, list[int]] = self.world.cached(
            "shipstation:queries", lambda: RecentAnswers(QUERY_CACHE)
        )
        return answers.get(query, lambda: matching_positions(self._index().frame, query))

    def list_shipments(self, request: Request) -> Response:
        """``GET /shipments``: one page of shipments with total, page and pages."""
        try:
            query, page, page_size, include_items = parse(request)
        except BadRequest as exc:
            return bad_request(exc.field, exc.message)
        index = self._index()
        records = index.records
        if include_items:
            records = self.world.cached(
                "shipstation:with_items", lambda: build_with_items(self.world)
            )
        positions = self._positions(query)
        start = (page - 1) * page_size
        chunk = positions[start : start + page_size]
        total = len(positions)
        tail = f'],"total":{total},"page":{page},"pages":{math.ceil(total / page_size)}}}'
        body = b'{"shipments":[' + b",".join(records[pos] for pos in chunk) + tail.encode()
        return Response(200, body)


EMULATOR = ShipStationEmulator
