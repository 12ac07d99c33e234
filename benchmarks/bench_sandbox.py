"""Emulator throughput: records/s walking each vendor's largest list endpoint at maximum page size.

The sandbox runs in its own process (``cdp sandbox serve --rate-limits off``), the client here.
Baseline: the same pages, saved during the first walk, served as plain bytes by a bare HTTP/1.1
server in its own process — the floor of serving those bytes from Python on this machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.harness import Measurement, median
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS

Walk = Callable[[requests.Session, str], Iterator[tuple[requests.Response, int]]]
CREDS = SANDBOX_CREDENTIALS


def _walk_shipstation(session: requests.Session, base: str) -> Iterator[tuple[Any, int]]:
    session.auth = (CREDS["shipstation"]["api_key"], CREDS["shipstation"]["api_secret"])
    page, pages = 1, 1
    while page <= pages:
        response = session.get(
            f"{base}/shipstation/shipments", params={"page": page, "pageSize": 500}
        )
        body = response.json()
        pages = body["pages"]
        yield response, len(body["shipments"])
        page += 1


def _walk_hubspot(session: requests.Session, base: str) -> Iterator[tuple[Any, int]]:
    session.headers["Authorization"] = f"Bearer {CREDS['hubspot']['access_token']}"
    url: str | None = f"{base}/hubspot/crm/v3/objects/contacts?limit=100"
    while url:
        response = session.get(url)
        body = response.json()
        yield response, len(body["results"])
        url = body.get("paging", {}).get("next", {}).get("link")


def _walk_klaviyo(session: requests.Session, base: str) -> Iterator[tuple[Any, int]]:
    session.headers.update(
        {
            "Authorization": f"Klaviyo-API-Key {CREDS['klaviyo']['api_key']}",
            "revision": "2026-07-15",
            "accept": "application/vnd.api+json",
        }
    )
    url: str | None = f"{base}/klaviyo/api/events?page[size]=1000"
    while url:
        response = session.get(url)
        body = response.json()
        yield response, len(body["data"])
        url = body["links"].get("next")


def _walk_amazon(session: requests.Session, base: str) -> Iterator[tuple[Any, int]]:
    session.headers["x-amz-access-token"] = CREDS["amazon"]["access_token"]
    params = {
        "MarketplaceIds": "ATVPDKIKX0DER",
        "CreatedAfter": "2000-01-01T00:00:00Z",
        "MaxResultsPerPage": 100,
    }
    while True:
        response = session.get(f"{base}/amazon/orders/v0/orders", params=params)
        payload = response.json()["payload"]
        yield response, len(payload["Orders"])
        if not payload.get("NextToken"):
            return
        params = {"MarketplaceIds": "ATVPDKIKX0DER", "NextToken": payload["NextToken"]}


SHOPIFY_ORDERS = """query($after: String) { orders(first: 250, after: $after) {
  nodes { id name createdAt updatedAt email totalPriceSet { shopMoney { amount currencyCode } } }
  pageInfo { hasNextPage endCursor } } }"""


def _walk_shopify(session: requests.Session, base: str) -> Iterator[tuple[Any, int]]:
    session.headers["X-Shopify-Access-Token"] = CREDS["shopify"]["access_token"]
    after = None
    while True:
        response = session.post(
            f"{base}/shopify/admin/api/2026-10/graphql.json",
            json={"query": SHOPIFY_ORDERS, "variables": {"after": after}},
        )
        orders = response.json()["data"]["orders"]
        yield response, len(orders["nodes"])
        if not orders["pageInfo"]["hasNextPage"]:
            return
        after = orders["pageInfo"]["endCursor"]


WALKS: dict[str, Walk] = {
    "shipstation shipments (pageSize 500)": _walk_shipstation,
    "hubspot contacts (limit 100)": _walk_hubspot,
    "klaviyo events (page[size] 1000)": _walk_klaviyo,
    "amazon orders (100)": _walk_amazon,
    "shopify orders graphql (first 250)": _walk_shopify,
}

STATIC_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
pages = [p.read_bytes() for p in sorted(Path(sys.argv[1]).glob("*.json"))]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        tail = self.path.rsplit("/", 1)[1]
        body = pages[int(tail)] if tail.isdigit() else b"{}"
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(args: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{url}/_sandbox/health", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still loading
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _time_walk(walk: Walk, url: str, save: Path | None = None) -> tuple[float, int]:
    session = requests.Session()
    started = time.perf_counter()
    records = 0
    for n, (response, count) in enumerate(walk(session, url)):
        records += count
        if save is not None:
            (save / f"{n:06d}.json").write_bytes(response.content)
    return time.perf_counter() - started, records


def _time_static(folder: Path, repeat: int) -> list[float]:
    port = _free_port()
    pages = len(list(folder.glob("*.json")))
    runs = []
    with _process([sys.executable, "-c", STATIC_SERVER, str(folder), str(port)], port, {}) as url:
        session = requests.Session()
        for _ in range(repeat):
            started = time.perf_counter()
            for n in range(pages):
                session.get(f"{url}/page/{n}").json()
            runs.append(time.perf_counter() - started)
    return runs


def bench_sandbox(scale: str, repeat: int) -> list[Measurement]:
    """Records/s per list endpoint (warm: the first, rendering walk is not counted)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        env = {"CDP_DATA_DIR": tmp}
        cdp = str(Path(sys.executable).parent / "cdp")
        subprocess.run(
            [cdp, "sandbox", "generate", "--scale", scale],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = _free_port()
        serve = [cdp, "sandbox", "serve", "--rate-limits", "off", "--port", str(port)]
        with _process(serve, port, env) as url:
            for name, walk in WALKS.items():
                pages = Path(tmp) / name.split()[0]
                pages.mkdir()
                _, records = _time_walk(walk, url, save=pages)  # renders, saves the pages
                runs = [_time_walk(walk, url)[0] for _ in range(repeat)]
                base_runs = _time_static(pages, repeat)
                results.append(
                    Measurement(
                        name=f"sandbox {name}, {records:,} records",
                        seconds=median(runs),
                        runs=runs,
                        items=records,
                        baseline_seconds=median(base_runs),
                    )
                )
    return results
