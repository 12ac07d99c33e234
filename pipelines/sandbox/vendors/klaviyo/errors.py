"""Klaviyo's JSON:API error documents (``{"errors": [{id, status, code, title, detail, source}]}``).

Bodies follow responses captured from the live API where known: 401 ``not_authenticated`` /
``authentication_failed``, 429 ``throttled`` ("Request was throttled. Expected available in N
seconds."), 400 ``invalid`` ("Invalid input.", e.g. "Invalid cursor provided."). The revision
errors (missing, malformed, retired, future) are constructed in the same shape.
"""

from __future__ import annotations

import uuid
from typing import Any

from pipelines.sandbox.http import Response, json_response

JSON_API = "application/vnd.api+json"


class KlaviyoError(Exception):
    """An error that becomes a Klaviyo error response."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.headers = headers or {}

    def response(self) -> Response:
        """The error as an HTTP response."""
        source: dict[str, str] = {}
        if self.parameter is not None:
            source["parameter"] = self.parameter
        else:
            source["pointer"] = self.pointer or "/data/"
        body: dict[str, Any] = {
            "errors": [
                {
                    "id": str(uuid.uuid4()),
                    "status": self.status,
                    "code": self.code,
                    "title": self.title,
                    "detail": self.detail,
                    "source": source,
                }
            ]
        }
        return json_response(body, self.status, self.headers, content_type=JSON_API)


def invalid(
    detail: str, *, pointer: str | None = None, parameter: str | None = None
) -> KlaviyoError:
    """A 400 ``invalid`` error ("Invalid input.")."""
    return KlaviyoError(
        400, "invalid", "Invalid input.", detail, pointer=pointer, parameter=parameter
    )


def bad_parameter(parameter: str, detail: str) -> KlaviyoError:
    """A 400 about one query parameter."""
    return invalid(detail, parameter=parameter)


def not_found(kind: str, ident: str) -> KlaviyoError:
    """A 404 for an unknown resource id."""
    return KlaviyoError(404, "not_found", "Not found.", f"A {kind} with id {ident} does not exist.")


def throttled(seconds: int) -> KlaviyoError:
    """A 429 with ``Retry-After``."""
    unit = "second" if seconds == 1 else "seconds"
    return KlaviyoError(
        429,
        "throttled",
        "Request was throttled.",
        f"Request was throttled. Expected available in {seconds} {unit}.",
        headers={"Retry-After": str(seconds)},
    )
