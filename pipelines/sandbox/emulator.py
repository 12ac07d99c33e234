"""The base every vendor emulator builds on."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.http import Request, Response, Router, json_response
from pipelines.sandbox.ratelimit import RateLimitMode
from pipelines.sandbox.state import StateStore
from pipelines.sandbox.world import World


@dataclass
class EmulatorContext:
    """What every emulator is given: the world to serve, the write-side state, the limits."""

    world: World
    state: StateStore
    rate_limits: RateLimitMode = RateLimitMode.FAST


class Emulator:
    """One vendor's API under ``/<name>``.

    Subclasses set ``name``, register their endpoints on ``self.router`` in ``__init__``, and
    implement :meth:`authenticate` with the vendor's own auth scheme and error body.
    """

    name: str = ""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.router = Router()

    @property
    def world(self) -> World:
        return self.ctx.world

    @property
    def state(self) -> StateStore:
        return self.ctx.state

    @property
    def credentials(self) -> dict[str, str]:
        return SANDBOX_CREDENTIALS[self.name]

    def authenticate(self, request: Request) -> Response | None:
        """None when the request's credentials are right, else the vendor's error response."""
        raise NotImplementedError

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """The vendor's answer to an unknown path (or a known path with another method)."""
        if method_allowed:
            return json_response({"error": "method not allowed"}, 405)
        return json_response({"error": f"not found: {request.path}"}, 404)

    def handle(self, request: Request) -> Response:
        """Authenticate, route and answer one request."""
        handler, path_known = self.router.match(request)
        if handler is None:
            return self.not_found(request, path_known)
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        return handler(request)
