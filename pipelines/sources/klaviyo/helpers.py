"""Klaviyo client glue: the API key and ``revision`` headers, ``links.next`` paging, pacing to each
endpoint's ``RateLimit-*`` headers, one-line errors, and a one-page read-ahead for big walks.

Klaviyo's JSON:API answers ``{"data": [...], "links": {"next": <absolute URL or null>}}``; the
next URL carries every original parameter plus ``page[cursor]``, so paging just follows it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from pipelines.errors import SourceError, credentials_rejected, setting_name
from pipelines.sources.http import RetryingSession, header_number, json_body
from pipelines.sources.klaviyo import settings

Record = dict[str, Any]
Page = list[Record]


class KlaviyoAPIError(RuntimeError):
    """Klaviyo refused a request this source built (a bug, not a setting): status and detail."""


def reset_seconds(response: requests.Response) -> float | None:
    """RetryingSession's hook for a 429 without Retry-After: Klaviyo's ``RateLimit-Reset``."""
    reset = header_number(response, "RateLimit-Reset")
    return None if reset is None else max(0.0, reset)


class RateLimitPacer:
    """Per-endpoint pacing: Klaviyo limits each endpoint separately and reports the steady
    window's ``RateLimit-Remaining`` and ``RateLimit-Reset`` on every answer. When little is
    left, the next request of that endpoint waits its share of the time until the reset."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self._resume_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def before(self, window: str) -> None:
        """Wait until ``window`` may be asked again (no wait while it has budget)."""
        with self._lock:
            wait = self._resume_at.get(window, 0.0) - self.clock()
        if wait > 0:
            self.sleep(wait)

    def after(self, window: str, response: requests.Response) -> None:
        """Note the window's budget from an answer's headers."""
        remaining = header_number(response, "RateLimit-Remaining")
        reset = reset_seconds(response)
        if remaining is None or reset is None or remaining > settings.RATE_LIMIT_RESERVE:
            return
        with self._lock:
            self._resume_at[window] = self.clock() + reset / (max(remaining, 0.0) + 1)


class KlaviyoClient:
    """Reads Klaviyo's JSON:API with a private API key through a RetryingSession."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        revision: str,
        session: RetryingSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.revision = revision
        self.pacer = RateLimitPacer()
        self.session = session or RetryingSession(settings.SOURCE, rate_limit_wait=reset_seconds)
        self.session.headers.update(
            {
                "Authorization": f"Klaviyo-API-Key {api_key.strip()}",
                "revision": revision,
                "accept": settings.ACCEPT,
            }
        )

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        window: str,
        missing_ok: bool = False,
    ) -> Any:
        """One GET of ``path`` (or an absolute ``links.next`` URL), paced by the endpoint's
        ``window``; the decoded body (None for a 404 when ``missing_ok``)."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:  # the key goes nowhere else
            raise KlaviyoAPIError(f"Klaviyo sent a link to another host: {_host(url)}")
        self.pacer.before(window)
        response = self.session.get(url, params=params)
        self.pacer.after(window, response)
        if response.status_code == 200:
            return json_body(response)
        if response.status_code == 404 and missing_ok:
            return None
        raise self._error(response, urlsplit(url).path)

    def pages(
        self, path: str, params: dict[str, Any] | None, *, window: str, missing_ok: bool = False
    ) -> Iterator[Page]:
        """Every page of a collection, following ``links.next`` (none when ``missing_ok`` and
        the collection is gone)."""
        body = self.get(path, params, window=window, missing_ok=missing_ok)
        while body is not None:
            data: Page = body.get("data") or []
            if data:
                yield data
            next_url = (body.get("links") or {}).get("next")
            if not next_url or not data:
                return
            body = self.get(next_url, window=window, missing_ok=missing_ok)

    def _error(self, response: requests.Response, path: str) -> Exception:
        status = response.status_code
        error = _first_error(response)
        parameter = (error.get("source") or {}).get("parameter")
        if status == 401:
            return credentials_rejected(settings.SOURCE, "api_key", status)
        if status == 403:
            return SourceError(
                settings.SOURCE,
                f"the API key may not read {path} (HTTP 403): give the private key behind "
                f"{setting_name(settings.SOURCE, 'api_key')} read access "
                f"({', '.join(settings.SCOPES)})",
            )
        if status == 410 or parameter == "revision":
            return SourceError(
                settings.SOURCE,
                f"Klaviyo does not accept API revision {self.revision!r} (HTTP {status}): set "
                f"{setting_name(settings.SOURCE, 'revision')} to a current revision "
                f"(default {settings.REVISION})",
            )
        if status == 404:
            return SourceError(
                settings.SOURCE,
                f"{_host(response.url)} has no Klaviyo API at {path} (HTTP 404): check "
                f"{setting_name(settings.SOURCE, 'base_url')} "
                f"(default {settings.DEFAULT_BASE_URL})",
            )
        detail = error.get("detail") or response.text[:300]
        return KlaviyoAPIError(f"HTTP {status} from GET {path}: {detail}")


def read_ahead(streams: list[Iterator[Page]], depth: int = 2) -> Iterator[Page]:
    """The pages of ``streams``, each read in its own thread up to ``depth`` pages ahead of the
    caller (network waits overlap with the caller's work and with each other); pages come in
    the order they arrive. An error in a thread is raised here."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth * len(streams))
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch(pages: Iterator[Page]) -> None:
        try:
            for page in pages:
                if not put(("page", page)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer
            put(("error", exc))

    workers = [
        threading.Thread(target=fetch, args=(pages,), name="klaviyo-read-ahead", daemon=True)
        for pages in streams
    ]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            kind, value = slots.get()
            if kind == "end":
                running -= 1
            elif kind == "error":
                raise value
            else:
                yield value
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=5)


def _first_error(response: requests.Response) -> Record:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def _host(url: str) -> str:
    return urlsplit(url).netloc or url
