"""RetryingSession: what is retried, how long it waits, and how it gives up."""

from __future__ import annotations

import pytest
from dlt.sources.helpers.rest_client import RESTClient
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipelines.errors import SourceError
from pipelines.sources.http import RetryingSession


def _session(**options: object) -> tuple[RetryingSession, list[float]]:
    waits: list[float] = []
    session = RetryingSession("acme", sleep=waits.append, **options)  # type: ignore[arg-type]
    return session, waits


def _sequence(httpserver: HTTPServer, responses: list[Response]) -> None:
    for response in responses:
        httpserver.expect_ordered_request("/items").respond_with_response(response)


def test_http_retries_server_errors_then_returns_the_answer(httpserver: HTTPServer) -> None:
    _sequence(
        httpserver,
        [
            Response("oops", 503),
            Response("bad", 502),
            Response('{"ok": true}', 200, content_type="application/json"),
        ],
    )
    session, waits = _session(backoff_seconds=0.5)
    assert session.get(httpserver.url_for("/items")).json() == {"ok": True}
    assert waits == [0.5, 1.0]
    assert session.requests_sent == 3 and session.retries == 2


def test_http_honours_retry_after_then_the_vendor_reset_header(httpserver: HTTPServer) -> None:
    _sequence(
        httpserver,
        [
            Response("slow down", 429, headers={"Retry-After": "7"}),
            Response("slow down", 429, headers={"X-Rate-Limit-Reset": "3"}),
            Response("{}", 200, content_type="application/json"),
        ],
    )
    session, waits = _session(
        rate_limit_wait=lambda r: (
            float(r.headers["X-Rate-Limit-Reset"]) if "X-Rate-Limit-Reset" in r.headers else None
        )
    )
    session.get(httpserver.url_for("/items"))
    assert waits == [7.0, 3.0]


def test_http_retries_a_truncated_json_body(httpserver: HTTPServer) -> None:
    _sequence(
        httpserver,
        [
            Response('{"data": [1, 2', 200, content_type="application/json"),
            Response('{"data": [1, 2]}', 200, content_type="application/json"),
        ],
    )
    session, waits = _session()
    assert session.get(httpserver.url_for("/items")).json() == {"data": [1, 2]}
    assert len(waits) == 1


def test_http_does_not_retry_client_errors(httpserver: HTTPServer) -> None:
    _sequence(httpserver, [Response("no", 401)])
    session, waits = _session()
    assert session.get(httpserver.url_for("/items")).status_code == 401
    assert waits == []


def test_http_gives_up_with_one_line_naming_the_source(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_data("down", status=503)
    session, waits = _session(max_attempts=3)
    with pytest.raises(SourceError) as raised:
        session.get(httpserver.url_for("/items"))
    message = str(raised.value)
    assert message.startswith("acme: gave up after 3 attempts (HTTP 503 from ")
    assert "resumes from the last committed state" in message
    assert "\n" not in message and len(waits) == 3


def test_http_retries_requests_sent_by_dlt_rest_client(httpserver: HTTPServer) -> None:
    _sequence(
        httpserver,
        [Response("oops", 500), Response('{"items": [1]}', 200, content_type="application/json")],
    )
    session, waits = _session()
    client = RESTClient(base_url=httpserver.url_for("/"), session=session)
    assert client.get("/items").json() == {"items": [1]}
    assert len(waits) == 1
