"""One HTTP server on 127.0.0.1 that serves every vendor emulator under its own prefix.

``http://127.0.0.1:PORT/<vendor>/...`` goes to that vendor's emulator; ``/_sandbox/...`` is the
sandbox's own control surface (health, recorded write-side state, the request log).
"""

from __future__ import annotations

import importlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.faults import Fault, FaultKind, FaultPlan
from pipelines.sandbox.http import Request, Response, json_response, parse_query
from pipelines.sandbox.ratelimit import RateLimitMode
from pipelines.sandbox.state import StateStore
from pipelines.sandbox.world import World, WorldNotFoundError

VENDORS = ("shopify", "amazon", "hubspot", "klaviyo", "shipstation", "easypost", "mailchimp")


def load_emulators(ctx: EmulatorContext) -> dict[str, Emulator]:
    """One emulator per vendor, from ``pipelines.sandbox.vendors.<vendor>.EMULATOR``."""
    emulators: dict[str, Emulator] = {}
    for vendor in VENDORS:
        module_name = f"pipelines.sandbox.vendors.{vendor}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        emulators[vendor] = module.EMULATOR(ctx)
    return emulators


class RequestLog:
    """What the server was asked, so tests can count requests (e.g. incremental runs)."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, vendor: str, request: Request, status: int, fault: str | None) -> None:
        entry = {
            "vendor": vendor,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "status": status,
            "fault": fault,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self, vendor: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if vendor is None or e["vendor"] == vendor]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        sandbox_dir: Path,
        port: int = 0,
        faults: FaultPlan | None = None,
        rate_limits: RateLimitMode = RateLimitMode.FAST,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.sandbox_dir = sandbox_dir
        self.ctx = EmulatorContext(
            world=World(sandbox_dir / "world"),
            state=StateStore(sandbox_dir / "state"),
            rate_limits=rate_limits,
        )
        self.emulators = load_emulators(self.ctx)
        self.faults = faults or FaultPlan()
        self.log = RequestLog()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def base_url(self, vendor: str) -> str:
        """The base URL a source for ``vendor`` is configured with."""
        return f"{self.url}/{vendor}"

    def state(self, vendor: str) -> dict[str, Any]:
        """The recorded write-side state of one destination."""
        return self.ctx.state.read(vendor)

    def control(self, request: Request) -> Response:
        """``/_sandbox/...``: health, state, request log."""
        parts = request.path.strip("/").split("/")
        if parts == ["health"]:
            try:
                clock = self.ctx.world.meta.get("clock")
            except WorldNotFoundError as exc:
                return json_response({"status": "no world", "detail": str(exc)}, 503)
            return json_response({"status": "ok", "clock": clock, "vendors": list(self.emulators)})
        if len(parts) == 2 and parts[0] == "state" and parts[1] in VENDORS:
            if request.method == "DELETE":
                self.ctx.state.reset(parts[1])
                return json_response({}, 204)
            return json_response(self.state(parts[1]))
        if parts == ["requests"]:
            if request.method == "DELETE":
                self.log.clear()
                return json_response({}, 204)
            return json_response(self.log.entries(request.arg("vendor")))
        return json_response({"error": f"unknown sandbox endpoint {request.path}"}, 404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is kept in memory, not printed."""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        vendor, _, rest = split.path.lstrip("/").partition("/")
        request = Request(
            method=self.command,
            path="/" + rest,
            query=parse_query(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=f"{self.server.url}/{vendor}",
        )
        if vendor == "_sandbox":
            self._send(self.server.control(request))
            return
        emulator = self.server.emulators.get(vendor)
        if emulator is None:
            known = ", ".join(f"/{v}" for v in self.server.emulators)
            self._send(json_response({"error": f"unknown vendor /{vendor}; try {known}"}, 404))
            return
        fault = self.server.faults.draw(request)
        fails_before = fault is not None and not (fault.after_apply and request.is_write)
        if fault is not None and fails_before and fault.kind is not FaultKind.SLOW:
            self.server.log.add(vendor, request, 0, fault.kind.value)
            self._fail(fault, Response())
            return
        try:
            response = emulator.handle(request)
        except WorldNotFoundError as exc:
            response = json_response({"error": str(exc)}, 503)
        self.server.log.add(vendor, request, response.status, fault.kind.value if fault else None)
        if fault is None:
            self._send(response)
        elif fault.kind is FaultKind.SLOW:
            time.sleep(self.server.faults.slow_seconds)
            self._send(response)
        else:
            self._fail(fault, response)

    def _fail(self, fault: Fault, response: Response) -> None:
        if fault.kind is FaultKind.RESET:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault.kind is FaultKind.TRUNCATED:
            body = response.body or b'{"data": [' + b"0, " * 64 + b"0]}"
            self.send_response(200)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        status = int(fault.kind.value)
        self._send(json_response({"error": f"sandbox injected fault: HTTP {status}"}, status))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


@contextmanager
def running_sandbox(
    sandbox_dir: Path,
    *,
    port: int = 0,
    faults: float = 0.0,
    fault_seed: int = 0,
    rate_limits: RateLimitMode | str = RateLimitMode.FAST,
    slow_seconds: float = 1.5,
) -> Iterator[SandboxHTTPServer]:
    """Serve the sandbox in a background thread (port 0: a free port); stop it on exit."""
    server = SandboxHTTPServer(
        sandbox_dir,
        port=port,
        faults=FaultPlan(faults, fault_seed, slow_seconds),
        rate_limits=RateLimitMode(rate_limits),
    )
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="sandbox-http", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
