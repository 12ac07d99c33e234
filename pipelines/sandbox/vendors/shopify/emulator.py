"""The Shopify Admin GraphQL emulator: HTTP, auth, versions, query cost and throttling."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError, parse, validate
from graphql.language import DocumentNode

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.ratelimit import TokenBucket, scaled_bucket
from pipelines.sandbox.vendors.shopify import graph
from pipelines.sandbox.vendors.shopify.bulk import BulkOperations
from pipelines.sandbox.vendors.shopify.cost import Plan, actual_cost, compile_plan, requested_cost
from pipelines.sandbox.vendors.shopify.records import ShopifyData

SUPPORTED_VERSIONS = ("2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10")
VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")
INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
BAD_REQUEST = {"errors": {"query": "Required parameter missing or invalid"}}
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
MAX_COST_MESSAGE = (
    "Query cost is {cost}, which exceeds the single query max cost limit ({limit}).\n\n"
    "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
    "cost of a query is calculated.\n\n"
    "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
    "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
)


class CostBucket(TokenBucket):
    """A leaky bucket of query-cost points that can be topped up with unused points."""

    def refund(self, points: float) -> None:
        """Give back the part of a query's requested cost it did not use."""
        if points <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens = min(self.capacity, self._tokens + points)


def resolve_version(requested: str) -> str | None:
    """The version that answers a request: supported as is, retired -> oldest, else None."""
    if requested == "unstable":
        return requested
    if not VERSION.match(requested):
        return None
    if requested in SUPPORTED_VERSIONS:
        return requested
    if requested < SUPPORTED_VERSIONS[0]:
        return SUPPORTED_VERSIONS[0]  # Shopify falls forward from retired versions
    return None


@dataclass
class _Document:
    document: DocumentNode | None
    errors: list[dict[str, Any]]
    plans: dict[str | None, Plan | None] = field(default_factory=dict)


class ShopifyEmulator(Emulator):
    """``POST /admin/api/<version>/graphql.json`` plus bulk result files under ``/_bulk/``."""

    name = "shopify"
    throttled_status = 200  # Shopify answers THROTTLED with 200 (429 is reported too)
    max_query_cost = 1000
    bucket_capacity = 2000.0  # standard plan
    restore_rate = 100.0
    bulk_delay_seconds = 0.0

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.data = ShopifyData(self.world)
        self.schema = graph.build_executable_schema()
        self.bulk = BulkOperations(self.schema, self.data, self.state, self.bulk_delay_seconds)
        base = scaled_bucket(ctx.rate_limits, self.bucket_capacity, self.restore_rate)
        self.bucket = None if base is None else CostBucket(base.capacity, base.rate)
        self._documents: OrderedDict[str, _Document] = OrderedDict()
        self._lock = threading.Lock()
        self.router.add("POST", "/admin/api/{version}/graphql.json", self.graphql)
        self.router.add("GET", "/_bulk/{file}", self.bulk_file)

    # --- HTTP -----------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """``X-Shopify-Access-Token`` must be the sandbox token (bulk files need none)."""
        if request.path.startswith("/_bulk/"):
            return None
        if request.header("x-shopify-access-token") != self.credentials["access_token"]:
            return json_response(INVALID_TOKEN, 401)
        return None

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """Shopify's bodies for unknown paths and wrong methods."""
        if method_allowed:
            return json_response({"errors": "Method Not Allowed"}, 405)
        return json_response({"errors": "Not Found"}, 404)

    def bulk_file(self, request: Request) -> Response:
        """A completed bulk operation's JSONL result."""
        body = self.bulk.file(request.path_params["file"])
        if body is None:
            return json_response({"errors": "Not Found"}, 404)
        return Response(200, body, {}, "application/jsonl")

    def graphql(self, request: Request) -> Response:
        """One GraphQL request: parse, validate, cost, throttle, execute."""
        version = resolve_version(request.path_params["version"])
        if version is None:
            return json_response({"errors": "Not Found"}, 404)
        headers = {"X-Shopify-API-Version": version}
        parsed = self._read_body(request)
        if parsed is None:
            return json_response(BAD_REQUEST, 400, headers)
        query, variables, operation_name = parsed
        entry = self._document(query)
        if entry.document is None or entry.errors:
            return json_response({"errors": entry.errors}, 200, headers)
        plan = self._plan(entry, operation_name)
        requested = requested_cost(plan, variables) if plan else 0
        if requested > self.max_query_cost:
            error = {
                "message": MAX_COST_MESSAGE.format(cost=requested, limit=self.max_query_cost),
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": self.max_query_cost,
                },
            }
            body = {"errors": [error], "extensions": {"cost": self._cost(requested, None)}}
            return json_response(body, 200, headers)
        if self.bucket is not None and not self.bucket.take(requested):
            throttled = {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
            }
            body = {"errors": [throttled], "extensions": {"cost": self._cost(requested, None)}}
            return json_response(body, self.throttled_status, headers)
        context = graph.Context(self.data, self.bulk, request.base_url, api_version=version)
        result = graph.run(self.schema, entry.document, context, variables, operation_name)
        actual = actual_cost(plan, result.data) if plan else 0
        if self.bucket is not None:
            self.bucket.refund(requested - actual)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [graph.shopify_error(e) for e in result.errors]
        extensions: dict[str, Any] = {"cost": self._cost(requested, actual)}
        if context.search:
            extensions["search"] = context.search
        payload["extensions"] = extensions
        return Response(200, orjson.dumps(payload), headers)

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def _read_body(request: Request) -> tuple[str, dict[str, Any], str | None] | None:
        content_type = (request.header("content-type") or "").lower()
        if "application/graphql" in content_type:
            text = request.body.decode("utf-8", "replace")
            return (text, {}, None) if text.strip() else None
        try:
            payload = request.json()
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        query: Any = payload.get("query")
        variables: Any = payload.get("variables")
        operation_name: Any = payload.get("operationName")
        if isinstance(variables, str):
            try:
                variables = orjson.loads(variables) if variables.strip() else None
            except orjson.JSONDecodeError:
                return None
        if not isinstance(query, str) or not query.strip():
            return None
        if variables is not None and not isinstance(variables, dict):
            return None
        if operation_name is not None and not isinstance(operation_name, str):
            return None
        return query, variables or {}, operation_name or None

    def _document(self, query: str) -> _Document:
        with self._lock:
            entry = self._documents.get(query)
            if entry is not None:
                self._documents.move_to_end(query)
                return entry
        try:
            parsed = parse(query)
        except GraphQLError as exc:
            entry = _Document(None, [graph.shopify_error(exc)])
        else:
            errors = [graph.shopify_error(e) for e in validate(self.schema, parsed)]
            entry = _Document(parsed, errors)
        with self._lock:
            self._documents[query] = entry
            while len(self._documents) > 256:
                self._documents.popitem(last=False)
        return entry

    def _plan(self, entry: _Document, operation_name: str | None) -> Plan | None:
        with self._lock:
            if operation_name in entry.plans:
                return entry.plans[operation_name]
        assert entry.document is not None
        plan = compile_plan(self.schema, entry.document, operation_name)
        with self._lock:
            entry.plans[operation_name] = plan
        return plan

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        if self.bucket is None:
            maximum, available, rate = self.bucket_capacity, self.bucket_capacity, self.restore_rate
        else:
            maximum, available, rate = self.bucket.capacity, self.bucket.available, self.bucket.rate
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": float(maximum),
                "currentlyAvailable": int(available),
                "restoreRate": float(rate),
            },
        }
