"""Selling Partner API glue: the Login with Amazon token, pacing to the usage plans, paging."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from pipelines.errors import SourceError, credentials_rejected, setting_name
from pipelines.sources.amazon.settings import (
    DEFAULT_RATES,
    INCLUDED_DATA,
    ORDERS_PAGE_SIZE,
    ORDERS_PATH,
    TOKEN_REFRESH_MARGIN_SECONDS,
)
from pipelines.sources.http import RetryingSession

SOURCE = "amazon"

Page = list[dict[str, Any]]


def operation_of(url: str) -> str:
    """The SP-API operation a request URL calls (its usage plan's name)."""
    path = urlsplit(url).path.rstrip("/")
    return "searchOrders" if path.endswith(ORDERS_PATH) else "getOrder"


def later(first: str, second: str | None) -> str:
    """The later of two ISO 8601 UTC timestamps (as given, not reformatted)."""
    if not second:
        return first

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return second if parse(second) > parse(first) else first


class UsagePlanPacer:
    """Keeps each operation within its usage plan (a token bucket: a burst, then a steady rate).

    The burst is used at full speed. Once Amazon answers 429 QuotaExceeded for an operation, its
    bucket is known to be empty: from then on its calls are spaced by 1 / ``x-amzn-RateLimit-Limit``
    (the rate the bucket refills at), so the run proceeds without being throttled again.
    """

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self.intervals: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def before(self, operation: str) -> None:
        """Wait, if the operation is being paced, until its next call is due."""
        with self._lock:
            interval = self.intervals.get(operation)
            due = self._last.get(operation, 0.0) + interval if interval else 0.0
            wait = max(0.0, due - self.clock())
            self._last[operation] = self.clock() + wait
        if wait:
            self.sleep(wait)

    def throttled(self, response: requests.Response) -> float:
        """RetryingSession's hook for a 429: start pacing the operation; returns the wait."""
        operation = operation_of(response.url)
        try:
            rate = float(response.headers["x-amzn-RateLimit-Limit"])
        except (KeyError, ValueError):
            rate = DEFAULT_RATES[operation]
        interval = 1.0 / rate if rate > 0 else 60.0
        with self._lock:
            self.intervals[operation] = interval
            self._last[operation] = self.clock() + interval
        return interval


def _error_text(response: requests.Response) -> str:
    """``code: message`` of an SP-API or LWA error body (or the status when there is none)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("errors"):
        first = body["errors"][0]
        return f"HTTP {response.status_code} {first.get('code', '')}: {first.get('message', '')}"
    if isinstance(body, dict) and "error" in body:
        return f"HTTP {response.status_code} {body['error']}"
    return f"HTTP {response.status_code}"


class SellingPartnerClient:
    """Calls the Orders API with a cached LWA access token, bounded retries and pacing."""

    def __init__(
        self,
        *,
        base_url: str,
        lwa_token_url: str,
        lwa_client_id: str,
        lwa_client_secret: str,
        refresh_token: str,
        marketplace_ids: str,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.lwa_token_url = lwa_token_url
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": lwa_client_id,
            "client_secret": lwa_client_secret,
        }
        self.marketplace_ids = ",".join(m.strip() for m in marketplace_ids.split(",") if m.strip())
        self.pacer = UsagePlanPacer()
        self.session = RetryingSession(SOURCE, rate_limit_wait=self.pacer.throttled)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def access_token(self, renew: bool = False) -> str:
        """The LWA access token, exchanged for the refresh token when missing or about to expire."""
        with self._token_lock:
            if self._token and not renew and time.monotonic() < self._token_expires:
                return self._token
            response = self.session.post(self.lwa_token_url, data=self._form)
            if response.status_code != 200:
                raise token_error(response)
            body = orjson.loads(response.content)
            lifetime = float(body.get("expires_in", 3600))
            self._token = str(body["access_token"])
            self._token_expires = time.monotonic() + lifetime - TOKEN_REFRESH_MARGIN_SECONDS
            return self._token

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """The JSON body of one GET; a refused token is renewed once, then reported."""
        url = self.base_url + path
        operation = operation_of(url)
        response: requests.Response | None = None
        for renew in (False, True):
            token = self.access_token(renew)
            self.pacer.before(operation)
            response = self.session.get(url, params=params, headers={"x-amz-access-token": token})
            if response.status_code != 403:
                break
        assert response is not None
        if response.status_code == 200:
            body: dict[str, Any] = orjson.loads(response.content)
            return body
        if response.status_code == 403:
            raise credentials_rejected(SOURCE, "refresh_token", 403)
        raise request_error(operation, response)

    def orders(self, updated_after: str) -> Iterator[tuple[Page, str | None]]:
        """searchOrders pages (items inline) changed since ``updated_after``, each with Amazon's
        ``lastUpdatedBefore``."""
        params: dict[str, Any] = {
            "marketplaceIds": self.marketplace_ids,
            "lastUpdatedAfter": updated_after,
            "maxResultsPerPage": ORDERS_PAGE_SIZE,
            "includedData": INCLUDED_DATA,
        }
        while True:
            body = self.get(ORDERS_PATH, params)
            yield body.get("orders") or [], body.get("lastUpdatedBefore")
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return
            # the token is bound to the search: the same filters go along with it
            params = {**params, "paginationToken": token}


def token_error(response: requests.Response) -> SourceError:
    """The one-line error for a refused LWA token exchange, naming the setting to fix."""
    detail = _error_text(response)
    if "invalid_client" in detail:
        client_id = setting_name(SOURCE, "lwa_client_id")
        secret = setting_name(SOURCE, "lwa_client_secret")
        return SourceError(
            SOURCE,
            f"Login with Amazon rejected the app's credentials ({detail}): "
            f"check {client_id} and {secret}",
        )
    if response.status_code in (400, 401):
        variable = setting_name(SOURCE, "refresh_token")
        return SourceError(
            SOURCE,
            f"Login with Amazon rejected the refresh token ({detail}): check {variable} "
            f"(or [sources.{SOURCE}] refresh_token in .dlt/secrets.toml)",
        )
    variable = setting_name(SOURCE, "lwa_token_url")
    return SourceError(SOURCE, f"the token exchange failed ({detail}): check {variable}")


def request_error(operation: str, response: requests.Response) -> SourceError:
    """The one-line error for an SP-API call that failed for good."""
    detail = _error_text(response)
    if response.status_code == 400 and "marketplaceIds" in response.text:
        return SourceError(
            SOURCE,
            f"{operation} refused the request ({detail}): check "
            f"{setting_name(SOURCE, 'marketplace_ids')}",
        )
    if response.status_code == 404 and operation == "searchOrders":
        return SourceError(
            SOURCE,
            f"{operation} was not found ({detail}): check {setting_name(SOURCE, 'base_url')}",
        )
    return SourceError(SOURCE, f"{operation} failed ({detail})")
