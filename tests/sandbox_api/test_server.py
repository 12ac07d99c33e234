"""The sandbox server itself: routing, injected faults, persisted write state, request log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.server import SandboxHTTPServer


class CounterEmulator(Emulator):
    """A minimal vendor: a readable list and a counter that writes go to."""

    name = "shopify"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self.router.add("GET", "/items/{item_id}", self.item)
        self.router.add("POST", "/increment", self.increment)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("x-token") != "ok":
            return json_response({"errors": "bad token"}, 401)
        return None

    def item(self, request: Request) -> Response:
        return json_response({"id": request.path_params["item_id"], "padding": "x" * 200})

    def increment(self, request: Request) -> Response:
        with self.state.change(self.name) as doc:
            doc["count"] = doc.get("count", 0) + 1
        return json_response({"count": doc["count"]})


@contextmanager
def counter_server(root: Path, **options: object) -> Iterator[SandboxHTTPServer]:
    from pipelines.sandbox.faults import FaultPlan

    server = SandboxHTTPServer(root, faults=FaultPlan(**options))  # type: ignore[arg-type]
    server.emulators = {"shopify": CounterEmulator(server.ctx)}
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


HEADERS = {"x-token": "ok"}


def _outcomes(server: SandboxHTTPServer, n: int) -> list[str]:
    outcomes = []
    for i in range(n):
        try:
            response = requests.get(f"{server.url}/shopify/items/{i}", headers=HEADERS, timeout=10)
            response.json()
            outcomes.append(str(response.status_code))
        except requests.exceptions.RequestException as exc:
            outcomes.append(type(exc).__name__)
        except ValueError:
            outcomes.append("bad-json")
    return outcomes


def test_server_routes_to_vendor_and_rejects_unknown_paths(tmp_path: Path) -> None:
    with counter_server(tmp_path) as server:
        assert requests.get(f"{server.url}/shopify/items/7", headers=HEADERS).json()["id"] == "7"
        assert requests.get(f"{server.url}/shopify/items/7").status_code == 401
        assert requests.get(f"{server.url}/shopify/nope", headers=HEADERS).status_code == 404
        assert requests.delete(f"{server.url}/shopify/items/7", headers=HEADERS).status_code == 405
        unknown = requests.get(f"{server.url}/acme/items/7")
        assert unknown.status_code == 404
        assert "/shopify" in unknown.json()["error"]


def test_faults_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    plan = {"rate": 0.3, "seed": 11, "slow_seconds": 0.01}
    with counter_server(tmp_path, **plan) as server:
        first = _outcomes(server, 60)
    with counter_server(tmp_path, **plan) as server:
        second = _outcomes(server, 60)
    with counter_server(tmp_path, **{**plan, "seed": 12}) as server:
        other_seed = _outcomes(server, 60)
    assert first == second
    assert first != other_seed
    failures = [o for o in first if o != "200"]
    assert 8 <= len(failures) <= 30  # about 30% of 60, slow responses succeed
    kinds = set(failures)
    assert {"500", "502", "503"} & kinds
    assert kinds - {"500", "502", "503"}, "resets or truncated bodies occur too"


def test_retrying_a_failed_request_draws_a_new_fault(tmp_path: Path) -> None:
    with counter_server(tmp_path, rate=0.5, seed=3, slow_seconds=0.01) as server:
        statuses = []
        for _ in range(20):
            try:
                statuses.append(
                    requests.get(f"{server.url}/shopify/items/1", headers=HEADERS).status_code
                )
            except requests.exceptions.RequestException:
                statuses.append(0)
    assert 200 in statuses and set(statuses) != {200}


def test_write_faults_happen_before_or_after_the_change(tmp_path: Path) -> None:
    attempts = 40
    with counter_server(tmp_path, rate=0.5, seed=5, slow_seconds=0.01) as server:
        succeeded = 0
        for _ in range(attempts):
            try:
                response = requests.post(f"{server.url}/shopify/increment", headers=HEADERS)
                response.json()
                succeeded += response.status_code == 200
            except (requests.exceptions.RequestException, ValueError):
                pass
        applied = server.state("shopify")["count"]
    # Some failed calls were applied anyway (fault after the change), some were not.
    assert succeeded < applied < attempts


def test_write_state_persists_across_restarts(tmp_path: Path) -> None:
    with counter_server(tmp_path) as server:
        for _ in range(3):
            requests.post(f"{server.url}/shopify/increment", headers=HEADERS)
    with counter_server(tmp_path) as server:
        assert requests.get(f"{server.url}/_sandbox/state/shopify").json() == {"count": 3}
    stored = json.loads((tmp_path / "state" / "shopify.json").read_text())
    assert stored == {"count": 3}


def test_request_log_records_each_call(tmp_path: Path) -> None:
    with counter_server(tmp_path) as server:
        requests.get(f"{server.url}/shopify/items/1?page=2", headers=HEADERS)
        requests.post(f"{server.url}/shopify/increment", headers=HEADERS)
        log = requests.get(f"{server.url}/_sandbox/requests", params={"vendor": "shopify"}).json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/items/1", 200),
        ("POST", "/increment", 200),
    ]
    assert log[0]["query"] == {"page": ["2"]}


def test_health_says_when_no_world_exists(tmp_path: Path) -> None:
    with counter_server(tmp_path) as server:
        response = requests.get(f"{server.url}/_sandbox/health")
    assert response.status_code == 503
    assert "cdp sandbox generate" in response.json()["detail"]


def test_fault_rate_outside_zero_to_one_is_rejected() -> None:
    from pipelines.sandbox.faults import FaultPlan

    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate=1.5)
