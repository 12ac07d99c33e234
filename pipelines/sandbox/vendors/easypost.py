"""EasyPost API emulator: trackers (``GET /v2/trackers``, ``GET /v2/trackers/{id}``).

``http://127.0.0.1:PORT/easypost`` stands for ``https://api.easypost.com``.

Endpoints
- ``GET /v2/trackers``: ``{"trackers": [...], "has_more": bool}``, newest first (``created_at``,
  then id). ``page_size`` 1-100 (default 20); ``before_id`` = the id of the last tracker seen gives
  the next (older) page, ``after_id`` the page of trackers just newer than the given one (still
  listed newest first); ``start_datetime`` / ``end_datetime`` bound ``created_at`` (both inclusive,
  ISO 8601, no offset meaning UTC); ``tracking_code`` and ``carrier`` (case-insensitive) are exact
  matches. EasyPost has no ``updated_at`` filter: a tracker whose status moves on keeps its place in
  the list, so incremental loads must re-read open trackers (or use webhooks).
- ``GET /v2/trackers/{id}``: one tracker; 404 ``NOT_FOUND`` for an unknown id.

Tracker objects follow EasyPost's (id, object, mode, tracking_code, status, status_detail,
signed_by, weight, est_delivery_date, shipment_id, carrier, tracking_details[TrackingDetail with
tracking_location], carrier_detail, fees, public_url, created_at, updated_at). ``mode`` is ``test``
because the sandbox key is a test key (``EZTK...``). ``shipment_id`` is null: the world's trackers
follow ShipStation labels, not EasyPost shipments.

Auth: the API key as the HTTP Basic user name (no password), or ``Authorization: Bearer <key>`` as
the official client sends it. Missing -> 401 ``APIKEY.REQUIRED``; wrong -> 401 ``APIKEY.INACTIVE``.
Bad parameters -> 422 ``PARAMETER.INVALID`` (EasyPost's status for well-formed but invalid input).
Rate limit: EasyPost publishes no numbers; the sandbox allows a burst of 50 and 10 requests/s
(x20 in ``fast`` mode) and answers 429 ``RATE_LIMITED`` with ``Retry-After`` [numbers assumed].

Read-only: no write-side state.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.ratelimit import scaled_bucket
from pipelines.sandbox.world import RecentAnswers

ISO = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
BURST, RATE = 50, 10.0
QUERY_CACHE = 64
PARAMS = frozenset(
    {
        "page_size",
        "before_id",
        "after_id",
        "start_datetime",
        "end_datetime",
        "tracking_code",
        "carrier",
    }
)
STATUS_DETAIL = {
    "pre_transit": "label_created",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "arrived_at_destination",
    "return_to_sender": "return",
    "failure": "delivery_failed",
}
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_TRACKER_ID = re.compile(r"^trk_[0-9a-f]{32}$")


def error(code: str, message: str, status: int, errors: list[Any] | None = None) -> Response:
    """EasyPost's error body: ``{"error": {"code", "message", "errors"}}``."""
    return json_response(
        {"error": {"code": code, "message": message, "errors": errors or []}}, status
    )


class InvalidParameter(Exception):
    """A 422 ``PARAMETER.INVALID`` for one field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerIndex:
    """Every tracker as bytes, newest first, plus the columns filters look at."""

    records: list[bytes]
    frame: pl.DataFrame  # pos, id, created_us, tracking_code, carrier (lower-case)
    positions: dict[str, int]


def _location(city: str | None, state: str | None) -> dict[str, Any]:
    return {
        "object": "TrackingLocation",
        "city": city,
        "state": state,
        "country": None,
        "zip": None,
    }


def _detail(row: dict[str, Any], carrier: str) -> dict[str, Any]:
    return {
        "object": "TrackingDetail",
        "message": row["message"],
        "description": None,
        "status": row["status"],
        "status_detail": STATUS_DETAIL.get(row["status"], "unknown"),
        "datetime": row["datetime_s"],
        "source": carrier,
        "carrier_code": None,
        "tracking_location": _location(row["city"], row["state"]),
    }


def _tracker(row: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, Any]:
    tracker_id = row["tracker_id"]
    public = base64.b64encode(f"v1:{tracker_id}".encode()).decode().rstrip("=")
    weight = row["weight_oz"]
    return {
        "id": tracker_id,
        "object": "Tracker",
        "mode": "test",
        "tracking_code": row["tracking_code"],
        "status": row["status"],
        "status_detail": STATUS_DETAIL.get(row["status"], "unknown"),
        "created_at": row["created_s"],
        "updated_at": row["updated_s"],
        "signed_by": None,
        "weight": None if weight is None else float(weight),
        "est_delivery_date": row["est_delivery_s"],
        "shipment_id": None,
        "carrier": row["carrier"],
        "tracking_details": details,
        "fees": [
            {
                "object": "Fee",
                "type": "TrackerFee",
                "amount": "0.02000",
                "charged": True,
                "refunded": False,
            }
        ],
        "carrier_detail": {
            "object": "CarrierDetail",
            "service": None,
            "container_type": None,
            "est_delivery_date_local": None,
            "est_delivery_time_local": None,
            "origin_location": None,
            "origin_tracking_location": None,
            "destination_location": None,
            "destination_tracking_location": None,
            "guaranteed_delivery_date": None,
            "alternate_identifier": None,
            "initial_delivery_attempt": None,
        },
        "public_url": f"https://track.easypost.com/{public}",
    }


def build_index(world: Any) -> TrackerIndex:
    """Render every tracker of the world, newest first, and index it."""
    weights = world.table("shipstation_shipments").select("shipment_id", "weight_oz")
    trackers = (
        world.table("easypost_trackers")
        .join(weights, on="shipment_id", how="left")
        .with_columns(
            pl.col("created_at").dt.strftime(ISO).alias("created_s"),
            pl.col("updated_at").dt.strftime(ISO).alias("updated_s"),
            pl.col("est_delivery_date").dt.strftime(ISO).alias("est_delivery_s"),
        )
        .sort(["created_at", "tracker_id"], descending=[True, True])
    )
    details: dict[str, list[dict[str, Any]]] = {}
    carriers = dict(zip(trackers["tracker_id"], trackers["carrier"], strict=True))
    detail_rows = (
        world.table("easypost_tracking_details")
        .sort("tracker_id", "seq")
        .with_columns(pl.col("datetime").dt.strftime(ISO).alias("datetime_s"))
    )
    for row in detail_rows.iter_rows(named=True):
        carrier = carriers.get(row["tracker_id"], "")
        details.setdefault(row["tracker_id"], []).append(_detail(row, carrier))
    records = [
        orjson.dumps(_tracker(row, details.get(row["tracker_id"], [])))
        for row in trackers.iter_rows(named=True)
    ]
    frame = trackers.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"),
        pl.col("tracker_id").alias("id"),
        pl.col("created_at").dt.epoch("s").alias("created_s"),
        "tracking_code",
        pl.col("carrier").str.to_lowercase().alias("carrier"),
    )
    positions = {tracker_id: pos for pos, tracker_id in enumerate(frame["id"].to_list())}
    return TrackerIndex(records, frame, positions)


# --- query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerQuery:
    """The filters of one listing (cursor and page size are applied afterwards)."""

    start: int | None
    end: int | None
    tracking_code: str | None
    carrier: str | None


def _seconds(field: str, raw: str) -> int:
    text = raw.strip()
    if not _DATETIME.match(text):
        raise InvalidParameter(field, "must be a valid ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (ValueError, OverflowError):
        raise InvalidParameter(field, "must be a valid ISO 8601 date-time") from None


def parse(request: Request) -> tuple[TrackerQuery, int, str | None, str | None]:
    """The query, page size, before_id and after_id of a ``GET /v2/trackers`` request."""
    unknown = sorted(set(request.query) - PARAMS)
    if unknown:
        raise InvalidParameter(unknown[0], "is not a recognised parameter")
    arg = request.arg
    raw_size = arg("page_size")
    page_size = DEFAULT_PAGE_SIZE
    if raw_size is not None:
        if not raw_size.strip().isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            raise InvalidParameter("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        page_size = int(raw_size)
    start = _seconds("start_datetime", s) if (s := arg("start_datetime")) is not None else None
    end = _seconds("end_datetime", e) if (e := arg("end_datetime")) is not None else None
    before_id, after_id = arg("before_id"), arg("after_id")
    if before_id is not None and after_id is not None:
        raise InvalidParameter("before_id", "cannot be combined with after_id")
    carrier = arg("carrier")
    query = TrackerQuery(
        start=start,
        end=end,
        tracking_code=arg("tracking_code"),
        carrier=carrier.strip().lower() if carrier is not None else None,
    )
    return query, page_size, before_id, after_id


def matching_positions(frame: pl.DataFrame, query: TrackerQuery) -> list[int]:
    """Positions (newest first) of the trackers the query selects."""
    predicates = []
    if query.start is not None:
        predicates.append(pl.col("created_s") >= query.start)
    if query.end is not None:
        predicates.append(pl.col("created_s") <= query.end)
    if query.tracking_code is not None:
        predicates.append(pl.col("tracking_code") == query.tracking_code)
    if query.carrier is not None:
        predicates.append(pl.col("carrier") == query.carrier)
    selected = frame.filter(pl.all_horizontal(predicates)) if predicates else frame
    return selected["pos"].to_list()


# --- the emulator ------------------------------------------------------------------------


class EasyPostEmulator(Emulator):
    """``/easypost`` stands for ``https://api.easypost.com``."""

    name = "easypost"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.router.add("GET", "/v2/trackers", self.list_trackers)
        self.router.add("GET", "/v2/trackers/{tracker_id}", self.get_tracker)
        self.bucket = scaled_bucket(ctx.rate_limits, BURST, RATE)

    def authenticate(self, request: Request) -> Response | None:
        """Basic auth with the key as user name, or a Bearer key."""
        header = request.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = "?"
        elif scheme.lower() == "bearer":
            key = value.strip()
        if not key:
            return error("APIKEY.REQUIRED", "Missing API key.", 401)
        if key != self.credentials["api_key"]:
            return error(
                "APIKEY.INACTIVE",
                "This api key is no longer active. Please use a different api key or reactivate "
                "this key.",
                401,
            )
        return None

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """EasyPost's answer to an unknown path or method."""
        if method_allowed:
            return error("METHOD.NOT_ALLOWED", "The method is not allowed for this resource.", 405)
        return error("NOT_FOUND", "The requested resource could not be found.", 404)

    def handle(self, request: Request) -> Response:
        """Throttle authenticated requests before answering them."""
        bucket = self.bucket
        if bucket is not None and self.authenticate(request) is None and not bucket.take():
            message = "Your request has been rate limited. Please try again later."
            response = error("RATE_LIMITED", message, 429)
            response.headers["Retry-After"] = str(max(1, round(bucket.seconds_until())))
            return response
        return super().handle(request)

    def _index(self) -> TrackerIndex:
        return self.world.cached("easypost:trackers", lambda: build_index(self.world))

    def _positions(self, query: TrackerQuery) -> list[int]:
        answers: RecentAnswers[TrackerQuery, list[int]] = self.world.cached(
            "easypost:queries", lambda: RecentAnswers(QUERY_CACHE)
        )
        return answers.get(query, lambda: matching_positions(self._index().frame, query))

    def list_trackers(self, request: Request) -> Response:
        """``GET /v2/trackers``: one page of trackers, newest first, and ``has_more``."""
        try:
            query, page_size, before_id, after_id = parse(request)
        except InvalidParameter as exc:
            return error(
                "PARAMETER.INVALID",
                "Invalid parameter.",
                422,
                [{"field": exc.field, "message": exc.message}],
            )
        index = self._index()
        positions = self._positions(query)
        cursor_id = before_id or after_id
        anchor = 0
        if cursor_id is not None:
            found = index.positions.get(cursor_id)
            if found is None:
                field = "before_id" if before_id else "after_id"
                return error(
                    "PARAMETER.INVALID",
                    "Invalid parameter.",
                    422,
                    [{"field": field, "message": "must be the id of an existing tracker"}],
                )
            anchor = found
        if before_id is not None:  # the next, older page: strictly after the anchor
            first = bisect.bisect_right(positions, anchor)
            page, has_more = (
                positions[first : first + page_size],
                len(positions) > first + page_size,
            )
        elif after_id is not None:  # the newer page just before the anchor
            stop = bisect.bisect_left(positions, anchor)
            page, has_more = positions[max(0, stop - page_size) : stop], stop > page_size
        else:
            page, has_more = positions[:page_size], len(positions) > page_size
        body = (
            b'{"trackers":['
            + b",".join(index.records[pos] for pos in page)
            + b'],"has_more":'
            + (b"true" if has_more else b"false")
            + b"}"
        )
        return Response(200, body)

    def get_tracker(self, request: Request) -> Response:
        """``GET /v2/trackers/{id}``: one tracker."""
        unknown = sorted(request.query)
        if unknown:
            return error(
                "PARAMETER.INVALID",
                "Invalid parameter.",
                422,
                [{"field": unknown[0], "message": "is not a recognised parameter"}],
            )
        tracker_id = request.path_params["tracker_id"]
        index = self._index()
        pos = index.positions.get(tracker_id) if _TRACKER_ID.match(tracker_id) else None
        if pos is None:
            return error("NOT_FOUND", "The requested resource could not be found.", 404)
        return Response(200, index.records[pos])


EMULATOR = EasyPostEmulator
