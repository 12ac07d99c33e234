"""The Amazon SP-API emulator (Orders v0 and v2026-01-01) and its LWA token endpoint."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs

import orjson

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.ratelimit import FAST_FACTOR, RateLimitMode, TokenBucket, scaled_bucket
from pipelines.sandbox.vendors.amazon import orders, search
from pipelines.sandbox.vendors.amazon.render import OrderIndex, build_items, build_orders
from pipelines.sandbox.vendors.amazon.render_v2026 import OrderRecord, build_records
from pipelines.sandbox.world import RecentAnswers

TOKEN_PATH = "/auth/o2/token"
ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
ITEMS_PAGE = 100
QUERY_CACHE = 64
V2026 = "/orders/2026-01-01/orders"
# operation -> (burst, requests per second), from ordersV0.json's and orders_2026-01-01.json's
# usage plans (v2026's getOrder is a separate operation with its own plan)
USAGE_PLANS = {
    "getOrders": (20, 0.0167),
    "getOrder": (30, 0.5),
    "getOrderItems": (30, 0.5),
    "searchOrders": (20, 0.0056),
    "getOrder2026": (30, 0.5),
}
DENIED = "Access to requested resource is denied."


def errors(code: str, message: str, details: str = "", status: int = 400) -> Response:
    """SP-API's error body: ``{"errors": [{"code", "message", "details"}]}``."""
    body = {"errors": [{"code": code, "message": message, "details": details}]}
    return json_response(body, status)


class AmazonEmulator(Emulator):
    """``/amazon`` stands for ``https://sellingpartnerapi-na.amazon.com`` (and LWA's host)."""

    name = "amazon"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.router.add("POST", TOKEN_PATH, self.token)
        self.router.add("GET", "/orders/v0/orders", self.get_orders)
        self.router.add("GET", "/orders/v0/orders/{order_id}", self.get_order)
        self.router.add("GET", "/orders/v0/orders/{order_id}/orderItems", self.get_order_items)
        self.router.add("GET", V2026, self.search_orders)
        self.router.add("GET", V2026 + "/{order_id}", self.get_order_2026)
        self.buckets: dict[str, TokenBucket | None] = {
            op: scaled_bucket(ctx.rate_limits, burst, rate)
            for op, (burst, rate) in USAGE_PLANS.items()
        }

    # --- auth -----------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """SP-API wants the LWA access token in ``x-amz-access-token`` (no SigV4 since 2023)."""
        if request.path.rstrip("/") == TOKEN_PATH:
            return None
        token = request.header("x-amz-access-token")
        if token == self.credentials["access_token"]:
            return None
        details = (
            "" if not token else "The access token you provided is revoked, malformed or invalid."
        )
        return errors("Unauthorized", DENIED, details, 403)

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """Amazon's answer to an unknown path or method."""
        if method_allowed:
            return errors("MethodNotAllowed", "Method not allowed.", status=405)
        return errors("NotFound", "Resource not found.", status=404)

    def token(self, request: Request) -> Response:
        """LWA ``POST /auth/o2/token`` with ``grant_type=refresh_token`` (form or JSON body)."""
        form = self._form(request)
        grant = form.get("grant_type")
        if not grant:
            return self._lwa_error(
                "invalid_request", "The request is missing a required parameter : grant_type"
            )
        if grant != "refresh_token":
            return self._lwa_error("unsupported_grant_type", "Invalid grant_type parameter value")
        if not form.get("refresh_token"):
            return self._lwa_error(
                "invalid_request", "The request is missing a required parameter : refresh_token"
            )
        creds = self.credentials
        if (form.get("client_id"), form.get("client_secret")) != (
            creds["lwa_client_id"],
            creds["lwa_client_secret"],
        ):
            return self._lwa_error("invalid_client", "Client authentication failed", 401)
        if form["refresh_token"] != creds["refresh_token"]:
            return self._lwa_error(
                "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        return json_response(
            {
                "access_token": creds["access_token"],
                "refresh_token": creds["refresh_token"],
                "token_type": "bearer",
                "expires_in": 3600,
            }
        )

    @staticmethod
    def _form(request: Request) -> dict[str, str]:
        if "json" in (request.header("content-type") or ""):
            try:
                body = request.json()
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    @staticmethod
    def _lwa_error(error: str, description: str, status: int = 400) -> Response:
        return json_response({"error_description": description, "error": error}, status)

    # --- throttling -----------------------------------------------------------------------
    def _limit_header(self, operation: str) -> str:
        rate = USAGE_PLANS[operation][1]
        if self.ctx.rate_limits is RateLimitMode.FAST:
            rate *= FAST_FACTOR
        return f"{rate:g}"

    def _throttled(self, operation: str) -> Response | None:
        bucket = self.buckets[operation]
        if bucket is None or bucket.take():
            return None
        return errors(
            "QuotaExceeded", "You exceeded your quota for the requested resource.", status=429
        )

    def _finish(self, operation: str, response: Response) -> Response:
        response.headers["x-amzn-RateLimit-Limit"] = self._limit_header(operation)
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def handle(self, request: Request) -> Response:
        """Answer, then make sure auth errors carry the operation's headers too."""
        response = super().handle(request)
        if "x-amzn-RequestId" not in response.headers and request.path.startswith("/orders/"):
            parts = request.path.strip("/").split("/")
            if request.path.startswith(V2026):
                operation = "searchOrders" if len(parts) == 3 else "getOrder2026"
            else:
                operation = {3: "getOrders", 4: "getOrder"}.get(len(parts), "getOrderItems")
            return self._finish(operation, response)
        return response

    # --- orders ---------------------------------------------------------------------------
    def _orders(self) -> OrderIndex:
        return self.world.cached("amazon:orders", lambda: build_orders(self.world))

    def _items(self) -> dict[str, list[bytes]]:
        return self.world.cached("amazon:items", lambda: build_items(self.world, self._orders()))

    def _positions(self, query: orders.OrdersQuery) -> list[int]:
        answers: RecentAnswers[orders.OrdersQuery, list[int]] = self.world.cached(
            "amazon:queries", lambda: RecentAnswers(QUERY_CACHE)
        )
        return answers.get(query, lambda: orders.matching_positions(self._orders().frame, query))

    def get_orders(self, request: Request) -> Response:
        """``GET /orders/v0/orders``: one page of orders and the NextToken to the next."""
        denied = self._throttled("getOrders")
        if denied is not None:
            return self._finish("getOrders", denied)
        try:
            query, offset = orders.parse(request, self.world.clock)
        except orders.InvalidInput as exc:
            return self._finish("getOrders", errors("InvalidInput", exc.message, exc.details))
        index = self._orders()
        positions = self._positions(query)
        page = positions[offset : offset + query.page_size]
        tail = b""
        if offset + query.page_size < len(positions):
            tail += b',"NextToken":' + orjson.dumps(query.token(offset + query.page_size))
        if query.family:
            tail += b',"' + query.family.encode() + b'Before":'
            tail += orjson.dumps(orders.iso(query.before))
        body = (
            b'{"payload":{"Orders":['
            + b",".join(index.records[pos] for pos in page)
            + b"]"
            + tail
            + b"}}"
        )
        return self._finish("getOrders", Response(200, body))

    def get_order(self, request: Request) -> Response:
        """``GET /orders/v0/orders/{orderId}``: one order."""
        denied = self._throttled("getOrder")
        if denied is not None:
            return self._finish("getOrder", denied)
        order_id = request.path_params["order_id"]
        if not ORDER_ID.match(order_id):
            return self._finish("getOrder", errors("InvalidInput", "Invalid Input"))
        index = self._orders()
        pos = index.positions.get(order_id)
        if pos is None:
            return self._finish(
                "getOrder", errors("NotFound", "The resource specified does not exist.", status=404)
            )
        return self._finish("getOrder", Response(200, b'{"payload":' + index.records[pos] + b"}"))

    def get_order_items(self, request: Request) -> Response:
        """``GET /orders/v0/orders/{orderId}/orderItems``: the order's items (NextToken paged)."""
        denied = self._throttled("getOrderItems")
        if denied is not None:
            return self._finish("getOrderItems", denied)
        order_id = request.path_params["order_id"]
        unknown = sorted(set(request.query) - {"NextToken"})
        if unknown or not ORDER_ID.match(order_id):
            details = f"Unknown parameter(s): {', '.join(unknown)}." if unknown else ""
            return self._finish("getOrderItems", errors("InvalidInput", "Invalid Input", details))
        if order_id not in self._orders().positions:
            return self._finish(
                "getOrderItems",
                errors("NotFound", "The resource specified does not exist.", status=404),
            )
        offset = 0
        token = request.arg("NextToken")
        if token is not None:
            try:
                offset = int(token.removeprefix(order_id + ":"))
            except ValueError:
                offset = -1
            if offset < 0 or not token.startswith(order_id + ":"):
                return self._finish(
                    "getOrderItems", errors("InvalidInput", "Invalid Input", "Invalid NextToken.")
                )
        items = self._items().get(order_id, [])
        page = items[offset : offset + ITEMS_PAGE]
        tail = b""
        if offset + ITEMS_PAGE < len(items):
            tail = b',"NextToken":' + orjson.dumps(f"{order_id}:{offset + ITEMS_PAGE}")
        body = (
            b'{"payload":{"AmazonOrderId":'
            + orjson.dumps(order_id)
            + b',"OrderItems":['
            + b",".join(page)
            + b"]"
            + tail
            + b"}}"
        )
        return self._finish("getOrderItems", Response(200, body))

    # --- Orders API v2026-01-01 -----------------------------------------------------------
    def _records(self) -> list[OrderRecord]:
        index = self._orders()
        return self.world.cached(
            "amazon:v2026", lambda: build_records(self.world, index.frame["id"].to_list())
        )

    def search_orders(self, request: Request) -> Response:
        """``GET /orders/2026-01-01/orders``: a page of orders with their items inline."""
        denied = self._throttled("searchOrders")
        if denied is not None:
            return self._finish("searchOrders", denied)
        clock = self.world.clock
        try:
            found = search.parse(request, clock)
        except orders.InvalidInput as exc:
            return self._finish("searchOrders", errors("InvalidInput", exc.message, exc.details))
        query, offset = found.query, found.offset
        records = self._records()
        positions = self._positions(query)
        page = positions[offset : offset + query.page_size]
        body = b'{"orders":[' + b",".join(records[pos].render(found.included) for pos in page)
        body += b"]"
        if offset + query.page_size < len(positions):
            token = found.token(offset + query.page_size, orders.epoch(clock))
            body += b',"pagination":{"nextToken":' + orjson.dumps(token) + b"}"
        before = "createdBefore" if query.family == "Created" else "lastUpdatedBefore"
        body += b',"' + before.encode() + b'":' + orjson.dumps(orders.iso(query.before)) + b"}"
        return self._finish("searchOrders", Response(200, body))

    def get_order_2026(self, request: Request) -> Response:
        """``GET /orders/2026-01-01/orders/{orderId}``: one order with its items."""
        denied = self._throttled("getOrder2026")
        if denied is not None:
            return self._finish("getOrder2026", denied)
        try:
            unknown = sorted(set(request.query) - {"includedData"})
            if unknown:
                raise orders.InvalidInput(
                    "Invalid Input", f"Unknown parameter(s): {', '.join(unknown)}."
                )
            included = search.included(request)
        except orders.InvalidInput as exc:
            return self._finish("getOrder2026", errors("InvalidInput", exc.message, exc.details))
        order_id = request.path_params["order_id"]
        if not ORDER_ID.match(order_id):
            return self._finish("getOrder2026", errors("InvalidInput", "Invalid Input"))
        pos = self._orders().positions.get(order_id)
        if pos is None:
            return self._finish(
                "getOrder2026",
                errors("NotFound", "The resource specified does not exist.", status=404),
            )
        body = b'{"order":' + self._records()[pos].render(included) + b"}"
        return self._finish("getOrder2026", Response(200, body))
