"""The small HTTP toolkit the vendor emulators are written with: requests, responses, routing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson


@dataclass
class Request:
    """One HTTP request, as a vendor emulator sees it (``path`` is below the vendor prefix)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    base_url: str = ""  # http://127.0.0.1:PORT/<vendor>, for building absolute next-page links
    path_params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        try:
            return orjson.loads(self.body or b"null")
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"body is not valid JSON: {exc}") from exc

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def json_response(
    payload: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Response:
    """A JSON response (orjson: fast, and datetimes become ISO strings)."""
    return Response(status, orjson.dumps(payload), dict(headers or {}), content_type)


def parse_query(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True)


Handler = Callable[[Request], Response]


class Router:
    """Maps ``(method, "/path/{param}")`` patterns to handlers."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/")
        self._routes.append((method.upper(), re.compile(f"^{regex}/?$"), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return register

    def match(self, request: Request) -> tuple[Handler | None, bool]:
        """The handler for the request, and whether the path exists under another method."""
        path_known = False
        for method, regex, handler in self._routes:
            found = regex.match(request.path)
            if found:
                path_known = True
                if method == request.method:
                    request.path_params = found.groupdict()
                    return handler, True
        return None, path_known
