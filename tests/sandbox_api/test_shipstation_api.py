"""Conformance of the ShipStation v1 emulator: /shipments paging, filters, auth, rate limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import requests

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

CREDS = SANDBOX_CREDENTIALS["shipstation"]
AUTH = (CREDS["api_key"], CREDS["api_secret"])
PACIFIC = ZoneInfo("America/Los_Angeles")


def shipments(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / "shipstation_shipments.parquet")


def clock(root: Path) -> datetime:
    raw = json.loads((root / "world" / "meta.json").read_text())["clock"]
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw / 1_000_000, UTC)
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pacific(moment: datetime) -> str:
    """ShipStation's rendering: Pacific wall time, seven fractional digits, no offset."""
    return moment.astimezone(PACIFIC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def url(server: SandboxHTTPServer) -> str:
    return f"{server.base_url('shipstation')}/shipments"


def walk(server: SandboxHTTPServer, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every shipment of a listing, page by page until ``pages``."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = requests.get(url(server), params={**params, "page": page}, auth=AUTH, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["page"] == page
        found += body["shipments"]
        if page >= body["pages"]:
            assert len(found) == body["total"]
            return found
        page += 1


def test_shipstation_walk_returns_every_shipment_once(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    found = walk(sandbox, {"pageSize": 97})
    expected = shipments(world_root)
    ids = [s["shipmentId"] for s in found]
    assert len(ids) == len(set(ids)) == expected.height > 100
    assert set(ids) == set(expected["shipment_id"])
    assert ids == sorted(ids)
    by_id = {s["shipmentId"]: s for s in found}
    for row in expected.head(60).iter_rows(named=True):
        shipment = by_id[row["shipment_id"]]
        assert shipment["orderId"] == row["order_id"]
        assert shipment["orderNumber"] == row["order_number"]
        assert shipment["trackingNumber"] == row["tracking_number"]
        assert shipment["shipmentCost"] == row["shipment_cost_cents"] / 100
        assert shipment["shipDate"] == row["ship_date"].isoformat()
        assert shipment["createDate"] == pacific(row["create_date"])
        assert shipment["voided"] is row["voided"]
        assert shipment["shipTo"]["postalCode"] == row["ship_to_postal_code"]
        assert shipment["weight"] == {
            "value": row["weight_oz"],
            "units": "ounces",
            "WeightUnits": 1,
        }
        assert shipment["shipmentItems"] is None


def test_shipstation_create_date_filters_read_pacific_time(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    expected = shipments(world_root)
    dates = expected["create_date"].sort()
    start, end = dates[len(dates) // 3], dates[len(dates) // 2]
    params = {
        "createDateStart": start.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "createDateEnd": end.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "pageSize": 500,
    }
    found = walk(sandbox, params)
    window = expected.filter(pl.col("create_date").is_between(start, end))
    assert window.height > 0
    assert sorted(s["shipmentId"] for s in found) == sorted(window["shipment_id"])
    # the same instant with an explicit UTC offset selects the same shipments
    utc_params = {**params, "createDateStart": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    utc_params["createDateEnd"] = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert sorted(s["shipmentId"] for s in walk(sandbox, utc_params)) == sorted(
        window["shipment_id"]
    )


def test_shipstation_ship_date_and_void_filters(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    expected = shipments(world_root)
    voided = walk(sandbox, {"voidDateStart": "2000-01-01", "pageSize": 500})
    assert {s["shipmentId"] for s in voided} == set(
        expected.filter(pl.col("void_date").is_not_null())["shipment_id"]
    )
    assert voided and all(s["voided"] and s["voidDate"] for s in voided)
    days = expected["ship_date"].sort()
    first, last = days[len(days) // 2], days[len(days) // 2 + 10]
    found = walk(sandbox, {"shipDateStart": first.isoformat(), "shipDateEnd": last.isoformat()})
    window = expected.filter(pl.col("ship_date").is_between(first, last))
    assert sorted(s["shipmentId"] for s in found) == sorted(window["shipment_id"])


def test_shipstation_sorts_by_create_date_descending(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    params = {"sortBy": "CreateDate", "sortDir": "DESC", "pageSize": 500}
    found = walk(sandbox, params)
    expected = shipments(world_root).sort(["create_date", "shipment_id"], descending=[True, True])
    assert [s["shipmentId"] for s in found] == expected["shipment_id"].to_list()


def test_shipstation_includes_shipment_items_on_request(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    lines = pl.read_parquet(world_root / "world" / "shopify_order_lines.parquet")
    params = {"includeShipmentItems": "true", "pageSize": "50"}
    response = requests.get(url(sandbox), params=params, auth=AUTH, timeout=10)
    assert response.status_code == 200
    found = response.json()["shipments"]
    assert sum(len(shipment["shipmentItems"]) for shipment in found) > len(found) // 2
    for shipment in found:
        expected = lines.filter(pl.col("order_id") == shipment["orderId"])
        assert sorted(i["sku"] for i in shipment["shipmentItems"]) == sorted(expected["sku"])
        assert all(i["quantity"] > 0 and i["unitPrice"] > 0 for i in shipment["shipmentItems"])


@pytest.mark.parametrize("auth", [None, ("sandbox-key", "wrong"), ("nobody", "sandbox-secret")])
def test_shipstation_rejects_wrong_credentials(
    sandbox: SandboxHTTPServer, auth: tuple[str, str] | None
) -> None:
    response = requests.get(url(sandbox), auth=auth, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": "501"}, "pageSize"),
        ({"page": "0"}, "page"),
        ({"pageSize": "many"}, "pageSize"),
        ({"createDateStart": "last tuesday"}, "createDateStart"),
        ({"shipDateEnd": "2026-13-40"}, "shipDateEnd"),
        ({"sortBy": "Weight"}, "sortBy"),
        ({"modifyDateStart": "2026-01-01"}, "modifyDateStart"),
    ],
)
def test_shipstation_rejects_bad_parameters(
    sandbox: SandboxHTTPServer, params: dict[str, str], field: str
) -> None:
    response = requests.get(url(sandbox), params=params, auth=AUTH, timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["Message"] == "The request is invalid."
    assert list(body["ModelState"]) == [field]


def test_shipstation_rate_limit_headers_and_429(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        remaining = []
        for _ in range(40):
            response = requests.get(url(server), params={"pageSize": 1}, auth=AUTH, timeout=10)
            assert response.status_code == 200
            assert response.headers["X-Rate-Limit-Limit"] == "40"
            assert 0 < int(response.headers["X-Rate-Limit-Reset"]) <= 60
            remaining.append(int(response.headers["X-Rate-Limit-Remaining"]))
        assert remaining == list(range(39, -1, -1))
        throttled = requests.get(url(server), params={"pageSize": 1}, auth=AUTH, timeout=10)
        assert throttled.status_code == 429
        assert "Retry-After" not in throttled.headers
        assert throttled.headers["X-Rate-Limit-Remaining"] == "0"
        assert int(throttled.headers["X-Rate-Limit-Reset"]) > 0


def test_shipstation_without_rate_limits_never_reports_an_exhausted_window(
    sandbox: SandboxHTTPServer,
) -> None:
    # rate limits off is an unlimited account: a client pacing on the headers must never wait
    for _ in range(45):
        response = requests.get(url(sandbox), params={"pageSize": 1}, auth=AUTH, timeout=10)
        assert response.status_code == 200
        assert response.headers["X-Rate-Limit-Remaining"] == "40"


def test_shipstation_create_date_incremental_after_advance(fresh_world: Path) -> None:
    before = clock(fresh_world)
    with running_sandbox(fresh_world, rate_limits="off") as server:
        advance_world(fresh_world, 2)
        since = pacific(before - timedelta(minutes=5))
        found = walk(server, {"createDateStart": since, "pageSize": 500})
    expected = shipments(fresh_world).filter(pl.col("create_date") >= before - timedelta(minutes=5))
    assert expected.height > 0
    assert sorted(s["shipmentId"] for s in found) == sorted(expected["shipment_id"])
