"""The Klaviyo emulator: auth, ``revision`` header, per-endpoint rate limits, routing.

Every ``/api/...`` request is checked in Klaviyo's order: ``Authorization: Klaviyo-API-Key``
(401), the ``revision`` header (400 missing/malformed/unknown/future, 410 retired), then the
endpoint's burst (per second) and steady (per minute) windows (429 ``throttled`` with
``Retry-After``; other responses carry ``RateLimit-Limit/Remaining/Reset`` for the steady window).
Handlers live in :mod:`.read` and :mod:`.write`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.ratelimit import TokenBucket, scaled_bucket
from pipelines.sandbox.vendors.klaviyo import activity, read, render, write
from pipelines.sandbox.vendors.klaviyo.errors import KlaviyoError, throttled
from pipelines.sandbox.vendors.klaviyo.paging import Collection

# Supported revisions: quarterly releases (the 15th of Jan/Apr/Jul/Oct). Older ones are retired
# (410), later ones do not exist yet (400).
OLDEST_REVISION = date(2025, 1, 15)
LATEST_REVISION = date(2026, 10, 15)
REVISIONS = frozenset(
    date(year, month, 15)
    for year in range(OLDEST_REVISION.year, LATEST_REVISION.year + 1)
    for month in (1, 4, 7, 10)
    if OLDEST_REVISION <= date(year, month, 15) <= LATEST_REVISION
)

# Per-endpoint limits from the OpenAPI spec: (burst per second, steady per minute).
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "profiles": (75, 750),
    "profile-import": (75, 750),
    "subscriptions": (75, 750),
    "events": (350, 3500),
    "lists": (75, 750),
    "list": (75, 750),
    "list-create": (10, 150),
    "list-profiles": (75, 750),
    "list-relationships": (10, 150),
    "metrics": (10, 150),
    "campaigns": (10, 150),
    "flows": (3, 60),
    "bulk-import": (10, 150),
    "bulk-import-read": (10, 150),
    "data-privacy": (3, 60),
}

Handler = Callable[[Request], Response]


class KlaviyoEmulator(Emulator):
    """Klaviyo's REST API (``/api/...``) over the world's ``klaviyo_*`` tables."""

    name = "klaviyo"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket] | None] = {}
        self._bucket_lock = threading.Lock()
        self._overlay: dict[Any, tuple[Any, Collection]] = {}
        self._overlay_lock = threading.Lock()
        routes: list[tuple[str, str, str, Callable[[KlaviyoEmulator, Request], Response]]] = [
            ("GET", "/api/profiles", "profiles", read.get_profiles),
            ("GET", "/api/profiles/{profile_id}", "profiles", read.get_profile),
            ("GET", "/api/lists", "lists", read.get_lists),
            ("POST", "/api/lists", "list-create", write.create_list),
            ("GET", "/api/lists/{list_id}", "list", read.get_list),
            ("GET", "/api/lists/{list_id}/profiles", "list-profiles", read.get_list_profiles),
            ("POST", "/api/lists/{list_id}/relationships/profiles", "list-relationships",
             write.add_list_profiles),
            ("DELETE", "/api/lists/{list_id}/relationships/profiles", "list-relationships",
             write.remove_list_profiles),
            ("GET", "/api/metrics", "metrics", read.get_metrics),
            ("GET", "/api/events", "events", read.get_events),
            ("GET", "/api/campaigns", "campaigns", read.get_campaigns),
            ("GET", "/api/flows", "flows", read.get_flows),
            ("POST", "/api/profile-import", "profile-import", write.import_profile),
            ("POST", "/api/profile-bulk-import-jobs", "bulk-import", write.bulk_import),
            ("GET", "/api/profile-bulk-import-jobs/{job_id}", "bulk-import-read",
             write.get_bulk_import),
            ("GET", "/api/profile-bulk-import-jobs/{job_id}/import-errors", "bulk-import-read",
             write.get_import_errors),
            ("GET", "/api/profile-bulk-import-jobs/{job_id}/relationships/profiles",
             "bulk-import-read", write.get_import_profile_ids),
            ("POST", "/api/profile-subscription-bulk-create-jobs", "subscriptions",
             write.subscribe),
            ("POST", "/api/profile-subscription-bulk-delete-jobs", "subscriptions",
             write.unsubscribe),
            ("POST", "/api/data-privacy-deletion-jobs", "data-privacy", write.request_deletion),
        ]  # fmt: skip
        for method, path, limit, handler in routes:
            self.router.add(method, path, self._endpoint(limit, handler))

    # -- request pipeline -------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """Klaviyo's private-key check (OAuth ``Bearer`` tokens are not emulated)."""
        header = request.header("authorization")
        if not header:
            return KlaviyoError(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
            ).response()
        scheme, _, key = header.partition(" ")
        if scheme != "Klaviyo-API-Key" or key.strip() != self.credentials["api_key"]:
            return KlaviyoError(
                401,
                "authentication_failed",
                "Incorrect authentication credentials.",
                "Incorrect authentication credentials.",
            ).response()
        return None

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """Klaviyo's 404 / 405 error documents."""
        if method_allowed:
            return KlaviyoError(
                405,
                "method_not_allowed",
                f'Method "{request.method}" not allowed.',
                f'Method "{request.method}" not allowed.',
            ).response()
        return KlaviyoError(
            404, "not_found", "Not found.", f"The path {request.path} could not be found."
        ).response()

    def _endpoint(
        self, limit: str, handler: Callable[[KlaviyoEmulator, Request], Response]
    ) -> Handler:
        def run(request: Request) -> Response:
            try:
                check_revision(request.header("revision"))
                headers = self._take(limit)
                response = handler(self, request)
            except KlaviyoError as error:
                return error.response()
            response.headers.update(headers)
            return response

        return run

    def _take(self, limit: str) -> dict[str, str]:
        """Spend one request of the endpoint's windows; its RateLimit-* headers, or a 429."""
        with self._bucket_lock:
            if limit not in self._buckets:
                burst, steady = RATE_LIMITS[limit]
                mode = self.ctx.rate_limits
                short = scaled_bucket(mode, burst, burst)
                long = scaled_bucket(mode, steady, steady / 60)
                self._buckets[limit] = None if short is None or long is None else (short, long)
            buckets = self._buckets[limit]
        if buckets is None:
            return {}
        burst_bucket, steady_bucket = buckets
        for bucket in (burst_bucket, steady_bucket):
            if bucket.available < 1:
                raise throttled(max(1, math.ceil(bucket.seconds_until(1))))
        burst_bucket.take()
        steady_bucket.take()
        return {
            "RateLimit-Limit": str(int(steady_bucket.capacity)),
            "RateLimit-Remaining": str(int(steady_bucket.available)),
            "RateLimit-Reset": str(math.ceil(steady_bucket.seconds_until(steady_bucket.capacity))),
        }

    # -- data access ------------------------------------------------------------------------
    def now(self) -> datetime:
        """The sandbox clock (the world's ``meta.json``), the time writes are stamped with."""
        return self.world.clock

    def world_profile_rows(self) -> pl.DataFrame:
        """The world's profiles as render rows (cached per world version)."""
        return self.world.cached(
            "klaviyo:profile-rows", lambda: render.world_profile_rows(self.world)
        )

    def _with_overlay(
        self, key: str, world_part: Any, build: Callable[[dict[str, Any]], Collection]
    ) -> Collection:
        """A collection of world + state, rebuilt when either changes."""
        with self.state.peek(self.name) as doc:
            version = (world_part, doc.get("epoch"), doc.get("rev"))
            with self._overlay_lock:
                hit = self._overlay.get(key)
            if hit is not None and hit[0][0] is world_part and hit[0][1:] == version[1:]:
                return hit[1]
            collection = build(doc)
        with self._overlay_lock:
            self._overlay[key] = (version, collection)
        return collection

    def profiles(self) -> Collection:
        """Profiles as served now (world plus imports, minus deletions)."""
        world_rows = self.world_profile_rows()
        return self._with_overlay(
            "profiles",
            world_rows,
            lambda doc: render.profile_collection(render.merge_profiles(world_rows, doc)),
        )

    def lists(self) -> Collection:
        """Lists as served now (world plus lists created through the API)."""
        world_lists = self.world.table("klaviyo_lists")
        return self._with_overlay(
            "lists",
            world_lists,
            lambda doc: render.list_collection(render.list_rows(self.world, doc)),
        )

    def list_members(self, list_id: str) -> Collection:
        """One list's members as served now."""
        profiles = self.profiles()
        world_members = self.world.table("klaviyo_list_members")

        def build(doc: dict[str, Any]) -> Collection:
            members = world_members.filter(pl.col("list_id") == list_id)
            membership = doc.get("memberships", {}).get(list_id, {})
            return render.member_collection(render.member_rows(profiles.frame, members, membership))

        return self._with_overlay(f"members:{list_id}", world_members, build)

    def metrics(self) -> Collection:
        """Metrics (world only)."""
        return self.world.cached("klaviyo:metrics", lambda: activity.metric_collection(self.world))

    def events(self) -> Collection:
        """Events (world only)."""
        return self.world.cached("klaviyo:events", lambda: activity.event_collection(self.world))

    def campaigns(self) -> Collection:
        """Campaigns (world only)."""
        return self.world.cached(
            "klaviyo:campaigns", lambda: activity.campaign_collection(self.world)
        )

    def flows(self) -> Collection:
        """Flows (world only)."""
        return self.world.cached("klaviyo:flows", lambda: activity.flow_collection(self.world))


def check_revision(value: str | None) -> None:
    """Raise Klaviyo's error for a missing, malformed, unknown, future or retired revision."""
    if value is None or not value.strip():
        raise KlaviyoError(
            400,
            "invalid",
            "Invalid input.",
            "The 'revision' header is required. Use a revision such as "
            f"'{LATEST_REVISION.isoformat()}'.",
            parameter="revision",
        )
    text = value.strip()
    base, _, suffix = text.partition(".")
    try:
        when = date.fromisoformat(base)
        if len(base) != 10 or suffix not in ("", "pre"):
            raise ValueError
    except ValueError:
        raise KlaviyoError(
            400,
            "invalid",
            "Invalid input.",
            f"Invalid revision '{text}': use the format YYYY-MM-DD (for example "
            f"'{LATEST_REVISION.isoformat()}').",
            parameter="revision",
        ) from None
    if when < OLDEST_REVISION:
        raise KlaviyoError(
            410,
            "gone",
            "Revision retired.",
            f"Revision '{text}' has been retired. Upgrade to a supported revision "
            f"('{OLDEST_REVISION.isoformat()}' or later).",
            parameter="revision",
        )
    if when > LATEST_REVISION:
        raise KlaviyoError(
            400,
            "invalid",
            "Invalid input.",
            f"Revision '{text}' is not available yet; the latest is "
            f"'{LATEST_REVISION.isoformat()}'.",
            parameter="revision",
        )
    if when not in REVISIONS:
        raise KlaviyoError(
            400,
            "invalid",
            "Invalid input.",
            f"'{text}' is not a valid revision.",
            parameter="revision",
        )
