"""ShipStation v1 glue: Basic auth, page/pages paging, pacing to X-Rate-Limit-*, Pacific time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import requests

from pipelines.errors import SourceError, setting_name
from pipelines.sources.http import RetryingSession, header_number
from pipelines.sources.shipstation.settings import PAGE_SIZE, SHIPMENTS_PATH, TIME_ZONE

SOURCE = "shipstation"
PACIFIC = ZoneInfo(TIME_ZONE)
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # how createDate and voidDate are landed (and compared)

Page = list[dict[str, Any]]


def to_utc(value: str | None) -> str | None:
    """A ShipStation date-time (Pacific wall time, no offset) as ISO 8601 UTC with ``Z``."""
    if not value:
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PACIFIC)
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


def to_pacific(value: str) -> str:
    """An ISO 8601 UTC instant as the Pacific wall time ShipStation's filters read."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S")


def normalise(shipments: Page) -> Page:
    """Convert each shipment's ``createDate`` and ``voidDate`` to UTC, in place."""
    for shipment in shipments:
        shipment["createDate"] = to_utc(shipment.get("createDate"))
        shipment["voidDate"] = to_utc(shipment.get("voidDate"))
    return shipments


class RateLimitPacer:
    """Paces to ShipStation's window: when X-Rate-Limit-Remaining hits 0, the next request waits
    X-Rate-Limit-Reset seconds, so the 429 (which has no Retry-After) is not provoked."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self._resume_at = 0.0
        self._lock = threading.Lock()

    def before(self) -> None:
        """Wait until the window has room again (no wait while it has)."""
        with self._lock:
            wait = self._resume_at - self.clock()
        if wait > 0:
            self.sleep(wait)

    def after(self, response: requests.Response) -> None:
        """Note the window's state from a response's headers."""
        remaining = header_number(response, "X-Rate-Limit-Remaining")
        reset = reset_seconds(response)
        if remaining is not None and remaining <= 0 and reset is not None:
            with self._lock:
                self._resume_at = self.clock() + reset


def reset_seconds(response: requests.Response) -> float | None:
    """RetryingSession's hook for a 429: the seconds until ShipStation's window resets."""
    reset = header_number(response, "X-Rate-Limit-Reset")
    return None if reset is None else max(0.0, reset)


class ShipStationClient:
    """Lists shipments page by page within ShipStation's rate limit."""

    def __init__(self, *, base_url: str, api_key: str, api_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer = RateLimitPacer()
        self.session = RetryingSession(SOURCE, rate_limit_wait=reset_seconds)
        self.session.auth = (api_key, api_secret)

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One GET, paced; the decoded body, or a one-line error."""
        self.pacer.before()
        response = self.session.get(self.base_url + path, params=params)
        self.pacer.after(response)
        if response.status_code == 200:
            body: dict[str, Any] = orjson.loads(response.content)
            return body
        raise request_error(response)

    def shipments(self, params: dict[str, Any]) -> Iterator[Page]:
        """Every page of ``GET /shipments`` for the filters in ``params`` (1-based page/pages)."""
        page = 1
        while True:
            body = self.get(SHIPMENTS_PATH, {**params, "page": page, "pageSize": PAGE_SIZE})
            yield normalise(body.get("shipments") or [])
            if page >= int(body.get("pages") or 0):
                return
            page += 1


def request_error(response: requests.Response) -> SourceError:
    """The one-line error for a request ShipStation refused for good."""
    if response.status_code in (401, 403):
        key, secret = setting_name(SOURCE, "api_key"), setting_name(SOURCE, "api_secret")
        return SourceError(
            SOURCE,
            f"the vendor rejected the credentials (HTTP {response.status_code}): check {key} and "
            f"{secret} (or [sources.{SOURCE}] in .dlt/secrets.toml)",
        )
    try:
        message = orjson.loads(response.content).get("Message", "")
    except (orjson.JSONDecodeError, AttributeError):
        message = ""
    hint = f": check {setting_name(SOURCE, 'base_url')}" if response.status_code == 404 else ""
    return SourceError(
        SOURCE, f"GET /shipments failed (HTTP {response.status_code} {message}){hint}"
    )
