"""The HubSpot emulator: routes, private-app token auth, and HubSpot's rate limits.

Limits (``realistic``; ``fast`` multiplies them by ``FAST_FACTOR``): 190 requests per rolling
10 seconds and 650,000 a day for the token (Professional tier), plus 5 search requests per second.
Non-search responses carry ``X-HubSpot-RateLimit-*`` headers; a throttled request gets 429 with
HubSpot's ``RATE_LIMIT`` body (``policyName`` ``TEN_SECONDLY_ROLLING``, ``SECONDLY`` for search,
``DAILY``). No ``Retry-After`` is sent, as HubSpot sends none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.ratelimit import FAST_FACTOR, RateLimitMode, scaled_bucket
from pipelines.sandbox.vendors.hubspot import associations, read, write
from pipelines.sandbox.vendors.hubspot.errors import HubSpotError, error_response, rate_limited
from pipelines.sandbox.vendors.hubspot.errors import unauthorized as unauthorized_response
from pipelines.sandbox.vendors.hubspot.views import Views, iso_ms

BURST_MAX = 190  # requests per rolling 10 s
BURST_WINDOW_MS = 10_000
DAILY_MAX = 650_000
SEARCH_PER_SECOND = 5

Handler = Callable[[Request], Response]


class Limits:
    """The token's buckets: burst (10 s), search (per second) and the daily allowance."""

    def __init__(self, mode: RateLimitMode) -> None:
        self.mode = mode
        factor = FAST_FACTOR if mode is RateLimitMode.FAST else 1.0
        self.burst_max = int(BURST_MAX * factor)
        self.daily_max = int(DAILY_MAX * factor)
        self.burst = scaled_bucket(mode, BURST_MAX, BURST_MAX * 1000 / BURST_WINDOW_MS)
        self.search = scaled_bucket(mode, SEARCH_PER_SECOND, SEARCH_PER_SECOND)
        self._daily_used = 0
        self._lock = threading.Lock()

    def admit(self, is_search: bool) -> Response | None:
        """None when the request may run, else the 429 to answer."""
        if self.mode is RateLimitMode.OFF:
            return None
        if is_search and self.search is not None and not self.search.take():
            return rate_limited("SECONDLY", {})
        if self.burst is not None and not self.burst.take():
            return rate_limited("TEN_SECONDLY_ROLLING", self.headers())
        with self._lock:
            if self._daily_used >= self.daily_max:
                return rate_limited("DAILY", self.headers())
            self._daily_used += 1
        return None

    def headers(self) -> dict[str, str]:
        """HubSpot's rate-limit headers for a response."""
        remaining = int(self.burst.available) if self.burst is not None else self.burst_max
        secondly = max(1, self.burst_max // 10)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_max - self._daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(BURST_WINDOW_MS),
            "X-HubSpot-RateLimit-Max": str(self.burst_max),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(min(secondly, remaining)),
        }


class HubSpotEmulator(Emulator):
    """HubSpot CRM v3 (objects, search, properties, lists, batch upsert, GDPR delete)."""

    name = "hubspot"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.views = Views(
            ctx.world, ctx.state.folder / f"{self.name}.json", partial(ctx.state.read, self.name)
        )
        self.limits = Limits(ctx.rate_limits)
        objects = "/crm/v3/objects/{objectType}"
        writes = {
            ("POST", f"{objects}/batch/upsert"): write.batch_upsert,
            ("POST", f"{objects}/gdpr-delete"): write.gdpr_delete,
            ("POST", "/crm/v3/properties/{objectType}"): write.create_property,
            ("POST", "/crm/v3/lists"): write.create_list,
            ("GET", "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}"): (
                write.list_by_name
            ),
            ("GET", "/crm/v3/lists/{listId}"): write.get_list,
            ("DELETE", "/crm/v3/lists/{listId}"): write.delete_list,
            ("GET", "/crm/v3/lists/{listId}/memberships"): write.memberships,
            ("PUT", "/crm/v3/lists/{listId}/memberships/add"): write.add_members,
            ("PUT", "/crm/v3/lists/{listId}/memberships/remove"): write.remove_members,
            ("PUT", "/crm/v3/lists/{listId}/memberships/add-and-remove"): write.add_and_remove,
        }
        for (method, path), write_handler in writes.items():
            bound = partial(write_handler, self.views, self.state, self.clock)
            self.router.add(method, path, self._endpoint(bound))
        reads = {
            ("POST", f"{objects}/search"): read.search,
            ("GET", objects): read.list_page,
            ("GET", f"{objects}/{{objectId}}"): read.get_object,
            ("GET", "/crm/v3/properties/{objectType}"): read.list_properties,
            ("GET", "/crm/v3/properties/{objectType}/{propertyName}"): read.get_property,
            ("POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"): (
                associations.batch_read
            ),
        }
        for (method, path), handler in reads.items():
            is_search = path.endswith("/search")
            self.router.add(
                method, path, self._endpoint(partial(handler, self.views), is_search=is_search)
            )

    def clock(self) -> str:
        """Now on the sandbox clock, as HubSpot formats timestamps."""
        return iso_ms(self.world.clock)

    def _endpoint(self, handler: Handler, is_search: bool = False) -> Handler:
        def run(request: Request) -> Response:
            throttled = self.limits.admit(is_search)
            if throttled is not None:
                return throttled
            try:
                response = handler(request)
            except HubSpotError as exc:
                response = exc.response()
            if not is_search:
                response.headers.update(self.limits.headers())
            return response

        return run

    def authenticate(self, request: Request) -> Response | None:
        """Private-app token as ``Authorization: Bearer <token>``; else HubSpot's 401."""
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip() == self.credentials["access_token"]:
            return None
        return unauthorized_response()

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """HubSpot-shaped 404 / 405 for unknown paths and methods."""
        if method_allowed:
            return error_response(405, "HTTP 405 Method Not Allowed", "VALIDATION_ERROR")
        return error_response(404, f"Unknown path {request.path}", "OBJECT_NOT_FOUND")
