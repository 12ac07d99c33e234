"""The HTTP session every source uses: bounded retries that honour each vendor's rate-limit signals.

What is retried: 429 and 5xx answers, connection errors and resets, timeouts, and JSON bodies cut
short (a truncated page is as good as no page). How long to wait: ``Retry-After`` when the vendor
sends it, else the vendor's own reset header (a ``rate_limit_wait`` hook per source), else
exponential backoff. After ``max_attempts`` the source fails with one clear line; dlt keeps the
last committed state, so the next run resumes where this one stopped.

The session is a ``requests.Session``, so it plugs into dlt's ``RESTClient(session=...)`` too.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import requests

from pipelines.errors import SourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

RateLimitWait = Callable[[requests.Response], float | None]


def header_number(response: requests.Response, name: str) -> float | None:
    """A numeric response header (e.g. a rate-limit window's remaining calls), or None when
    absent or not a number."""
    value = response.headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class RetryingSession(requests.Session):
    """A session for one source: retries with backoff, and counts what it asked."""

    def __init__(
        self,
        source: str,
        *,
        max_attempts: int = 8,
        backoff_seconds: float = 0.25,
        max_wait_seconds: float = 60.0,
        timeout_seconds: float = 30.0,
        rate_limit_wait: RateLimitWait | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.source = source
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.timeout_seconds = timeout_seconds
        self.rate_limit_wait = rate_limit_wait
        self.sleep = sleep
        self.requests_sent = 0
        self.retries = 0
        self._lock = threading.Lock()

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait_seconds, self.backoff_seconds * 2 ** (attempt - 1))

    def _wait_for(self, response: requests.Response, attempt: int) -> float:
        if response.status_code == 429:
            for hint in (retry_after_seconds(response), self._vendor_wait(response)):
                if hint is not None:
                    return min(self.max_wait_seconds, hint)
        return self._backoff(attempt)

    def _vendor_wait(self, response: requests.Response) -> float | None:
        return self.rate_limit_wait(response) if self.rate_limit_wait else None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with retries; returns the first answer that is neither retryable nor cut short.

        Retrying here (not in ``request``) covers both ``session.get(...)`` and dlt's
        ``RESTClient``, which prepares requests itself and calls ``send``.
        """
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_seconds
        url = request.url or ""
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            with self._lock:
                self.requests_sent += 1
                self.retries += attempt > 1
            try:
                response = super().send(request.copy(), **kwargs)
            except RETRY_EXCEPTIONS as exc:
                problem = f"{type(exc).__name__} from {_host(url)}"
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code} from {_host(url)}"
                self.sleep(self._wait_for(response, attempt))
                continue
            if not kwargs.get("stream") and _json_cut_short(response):
                problem = f"a truncated JSON body from {_host(url)}"
                self.sleep(self._backoff(attempt))
                continue
            return response
        raise SourceError(
            self.source,
            f"gave up after {self.max_attempts} attempts ({problem}); "
            "the next run resumes from the last committed state",
        )


def _host(url: str) -> str:
    return requests.utils.urlparse(url).netloc or url


def _json_cut_short(response: requests.Response) -> bool:
    """True when a JSON answer does not parse (a body cut off mid-way).

    JSON Lines (``application/jsonl``, ``x-ndjson``) must end with a newline after a whole line.
    """
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type or not response.content:
        return False
    body = response.content
    if "jsonl" in content_type or "ndjson" in content_type:
        if not body.endswith(b"\n"):
            return True
        body = body[body.rfind(b"\n", 0, len(body) - 1) + 1 :]
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return True
    if body is response.content:  # a whole JSON document: keep it for json_body()
        setattr(response, _PARSED, parsed)
    return False


_PARSED = "_archipelago_json"
_UNSET = object()


def json_body(response: requests.Response) -> Any:
    """The decoded JSON body of ``response``: parsed once, when RetryingSession checked it for a
    cut-off body (a big page is not parsed twice), or now."""
    parsed = getattr(response, _PARSED, _UNSET)
    return orjson.loads(response.content) if parsed is _UNSET else parsed
