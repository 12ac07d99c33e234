"""HubSpot's error bodies: ``{"status":"error","message",...,"correlationId","category"}``."""

from __future__ import annotations

import uuid
from typing import Any

from pipelines.sandbox.http import Response, json_response

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class HubSpotError(Exception):
    """An error answered with HubSpot's JSON error body."""

    def __init__(
        self, status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra

    def response(self) -> Response:
        """The HTTP response for this error."""
        return error_response(self.status, self.message, self.category, **self.extra)


def correlation_id() -> str:
    """A fresh correlation id, as HubSpot puts on every error."""
    return str(uuid.uuid4())


def error_response(status: int, message: str, category: str, **extra: Any) -> Response:
    """A HubSpot error body with a new correlation id (also sent as a header)."""
    cid = correlation_id()
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": cid,
        "category": category,
    }
    body.update(extra)
    return json_response(body, status, {"X-HubSpot-Correlation-Id": cid})


def validation(message: str, **extra: Any) -> HubSpotError:
    """A 400 ``VALIDATION_ERROR``."""
    return HubSpotError(400, message, "VALIDATION_ERROR", **extra)


def not_found(message: str = "resource not found") -> HubSpotError:
    """A 404 ``OBJECT_NOT_FOUND``."""
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")


def unauthorized() -> Response:
    """The 401 for a missing or wrong token."""
    response = error_response(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
    response.headers["X-HubSpot-Auth-Failure"] = "401 Unauthorized"
    return response


def rate_limited(policy: str, headers: dict[str, str]) -> Response:
    """A 429 with HubSpot's RATE_LIMIT body (``SECONDLY`` search, ``TEN_SECONDLY_ROLLING``...)."""
    cid = correlation_id()
    window = {
        "SECONDLY": "secondly",
        "TEN_SECONDLY_ROLLING": "ten_secondly_rolling",
        "DAILY": "daily",
    }[policy]
    body = {
        "status": "error",
        "message": f"You have reached your {window} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": cid,
        "policyName": policy,
        "requestId": uuid.uuid4().hex,
    }
    return json_response(body, 429, {**headers, "X-HubSpot-Correlation-Id": cid})
