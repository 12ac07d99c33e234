"""Conformance of the Amazon SP-API Orders v0 emulator (and its LWA token endpoint)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

CREDS = SANDBOX_CREDENTIALS["amazon"]
HEADERS = {"x-amz-access-token": CREDS["access_token"]}
MARKETPLACE = "ATVPDKIKX0DER"
EPOCH = "2000-01-01T00:00:00Z"


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def clock(root: Path) -> datetime:
    raw = json.loads((root / "world" / "meta.json").read_text())["clock"]
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw / 1_000_000, UTC)
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cutoff(root: Path) -> datetime:
    """Amazon's default window end: now - 2 minutes, to the second."""
    return (clock(root) - timedelta(minutes=2)).replace(microsecond=0)


def orders_url(server: SandboxHTTPServer) -> str:
    return f"{server.base_url('amazon')}/orders/v0/orders"


def walk(server: SandboxHTTPServer, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict]:
    """All orders of a getOrders search, following NextToken (re-sending the other params)."""
    found: list[dict[str, Any]] = []
    page = requests.get(orders_url(server), params=params, headers=HEADERS, timeout=10)
    assert page.status_code == 200, page.text
    payload = page.json()["payload"]
    first = payload
    found += payload["Orders"]
    while "NextToken" in payload:
        params = {**params, "NextToken": payload["NextToken"]}
        page = requests.get(orders_url(server), params=params, headers=HEADERS, timeout=10)
        assert page.status_code == 200, page.text
        payload = page.json()["payload"]
        found += payload["Orders"]
    return found, first


def test_amazon_token_exchanges_refresh_token(sandbox: SandboxHTTPServer) -> None:
    url = f"{sandbox.base_url('amazon')}/auth/o2/token"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": CREDS["refresh_token"],
        "client_id": CREDS["lwa_client_id"],
        "client_secret": CREDS["lwa_client_secret"],
    }
    ok = requests.post(url, data=form, timeout=10)
    assert ok.status_code == 200
    assert ok.json() == {
        "access_token": CREDS["access_token"],
        "refresh_token": CREDS["refresh_token"],
        "token_type": "bearer",
        "expires_in": 3600,
    }
    bad_grant = requests.post(url, data={**form, "refresh_token": "Atzr|nope"}, timeout=10)
    assert bad_grant.status_code == 400
    assert bad_grant.json()["error"] == "invalid_grant"
    bad_client = requests.post(url, data={**form, "client_secret": "nope"}, timeout=10)
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "invalid_client"


@pytest.mark.parametrize("headers", [{}, {"x-amz-access-token": "Atza|wrong"}])
def test_amazon_orders_require_the_access_token(
    sandbox: SandboxHTTPServer, headers: dict[str, str]
) -> None:
    params = {"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH}
    response = requests.get(orders_url(sandbox), params=params, headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    error = response.json()["errors"][0]
    assert error["code"] == "Unauthorized"
    assert error["message"] == "Access to requested resource is denied."
    assert set(error) == {"code", "message", "details"}


def test_amazon_orders_walk_returns_every_order_once(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    params = {"MarketplaceIds": MARKETPLACE, "LastUpdatedAfter": EPOCH, "MaxResultsPerPage": 37}
    found, first = walk(sandbox, params)
    end = cutoff(world_root)
    expected = world(world_root, "amazon_orders").filter(
        pl.col("last_update_date").dt.truncate("1s") <= end
    )
    ids = [order["AmazonOrderId"] for order in found]
    assert len(ids) == len(set(ids)) == expected.height > 100
    assert set(ids) == set(expected["amazon_order_id"])
    assert first["LastUpdatedBefore"] == iso(end)
    updates = [order["LastUpdateDate"] for order in found]
    assert updates == sorted(updates)
    by_id = {order["AmazonOrderId"]: order for order in found}
    for row in expected.head(50).iter_rows(named=True):
        order = by_id[row["amazon_order_id"]]
        assert order["PurchaseDate"] == iso(row["purchase_date"])
        assert order["OrderStatus"] == row["order_status"]
        cents = row["order_total_cents"]
        assert order["OrderTotal"] == {
            "CurrencyCode": "USD",
            "Amount": f"{cents // 100}.{cents % 100:02d}",
        }
        assert order["BuyerInfo"]["BuyerEmail"] == row["buyer_email"]
        assert order["ShippingAddress"]["PostalCode"] == row["ship_postal_code"]
        assert order["ShippingAddress"].get("Phone") == row["ship_phone"]
        assert "person_id" not in json.dumps(order)


def test_amazon_orders_created_window_and_status_filters(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    orders = world(world_root, "amazon_orders")
    dates = orders["purchase_date"].dt.truncate("1s").sort()
    after, before = dates[len(dates) // 4], dates[len(dates) // 2]
    params = {
        "MarketplaceIds": MARKETPLACE,
        "CreatedAfter": iso(after),
        "CreatedBefore": iso(before),
        "OrderStatuses": "Shipped,Canceled",
    }
    found, first = walk(sandbox, params)
    expected = orders.filter(
        pl.col("purchase_date").dt.truncate("1s").is_between(after, before),
        pl.col("order_status").is_in(["Shipped", "Canceled"]),
    )
    assert expected.height > 0
    assert sorted(o["AmazonOrderId"] for o in found) == sorted(expected["amazon_order_id"])
    assert first["CreatedBefore"] == iso(before)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"CreatedAfter": EPOCH}, "Missing or invalid request parameters: [MarketplaceIds]"),
        ({"MarketplaceIds": MARKETPLACE}, None),
        ({"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH, "LastUpdatedAfter": EPOCH}, None),
        ({"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH, "LastUpdatedBefore": EPOCH}, None),
        ({"MarketplaceIds": MARKETPLACE, "CreatedAfter": "yesterday"}, "This is an invalid input"),
        ({"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH, "MaxResultsPerPage": "101"}, None),
        ({"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH, "OrderStatus": "Shipped"}, None),
        ({"MarketplaceIds": MARKETPLACE, "NextToken": "not-a-token"}, None),
    ],
)
def test_amazon_orders_reject_bad_parameters(
    sandbox: SandboxHTTPServer, params: dict[str, str], message: str | None
) -> None:
    response = requests.get(orders_url(sandbox), params=params, headers=HEADERS, timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert error["message"] == (
        message
        or "The input you have submitted is not valid. Please check your input and try again."
    )


def test_amazon_orders_before_must_be_two_minutes_before_the_clock(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    now = clock(world_root)
    base = {"MarketplaceIds": MARKETPLACE, "LastUpdatedAfter": EPOCH}
    too_late = requests.get(
        orders_url(sandbox),
        params={**base, "LastUpdatedBefore": iso(now - timedelta(seconds=60))},
        headers=HEADERS,
        timeout=10,
    )
    assert too_late.status_code == 400
    assert "at least 2 minutes before current time" in too_late.json()["errors"][0]["message"]
    fine = requests.get(
        orders_url(sandbox),
        params={**base, "LastUpdatedBefore": iso(now - timedelta(minutes=3))},
        headers=HEADERS,
        timeout=10,
    )
    assert fine.status_code == 200


def test_amazon_order_items_match_the_world(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    orders = world(world_root, "amazon_orders")
    items = world(world_root, "amazon_order_items")
    statuses = dict(zip(orders["amazon_order_id"], orders["order_status"], strict=True))
    sample = orders.sort("amazon_order_id")["amazon_order_id"].to_list()[:120]
    for order_id in sample:
        url = f"{orders_url(sandbox)}/{order_id}/orderItems"
        response = requests.get(url, headers=HEADERS, timeout=10)
        assert response.status_code == 200
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
        payload = response.json()["payload"]
        assert payload["AmazonOrderId"] == order_id
        expected = items.filter(pl.col("amazon_order_id") == order_id)
        got = {item["OrderItemId"]: item for item in payload["OrderItems"]}
        assert set(got) == set(expected["order_item_id"])
        for row in expected.iter_rows(named=True):
            item = got[row["order_item_id"]]
            assert (item["ASIN"], item["SellerSKU"]) == (row["asin"], row["seller_sku"])
            assert item["QuantityOrdered"] == row["quantity_ordered"]
            if statuses[order_id] == "Pending":
                assert "ItemPrice" not in item
            else:
                cents = row["item_price_cents"]
                assert item["ItemPrice"]["Amount"] == f"{cents // 100}.{cents % 100:02d}"


def test_amazon_order_items_of_unknown_order_is_404(sandbox: SandboxHTTPServer) -> None:
    url = f"{orders_url(sandbox)}/999-0000000-0000000/orderItems"
    response = requests.get(url, headers=HEADERS, timeout=10)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NotFound"


def test_amazon_get_orders_throttles_after_the_burst(world_root: Path) -> None:
    params = {"MarketplaceIds": MARKETPLACE, "CreatedAfter": EPOCH, "MaxResultsPerPage": "1"}
    with running_sandbox(world_root, rate_limits="realistic") as server:
        statuses = []
        for _ in range(21):
            response = requests.get(orders_url(server), params=params, headers=HEADERS, timeout=10)
            assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
            statuses.append(response.status_code)
        assert statuses == [200] * 20 + [429]
        assert response.json() == {
            "errors": [
                {
                    "code": "QuotaExceeded",
                    "message": "You exceeded your quota for the requested resource.",
                    "details": "",
                }
            ]
        }


def test_amazon_orders_incremental_after_advance(fresh_world: Path) -> None:
    with running_sandbox(fresh_world, rate_limits="off") as server:
        base = {"MarketplaceIds": MARKETPLACE}
        _, first = walk(server, {**base, "LastUpdatedAfter": EPOCH})
        cursor = first["LastUpdatedBefore"]
        advance_world(fresh_world, 2)
        found, _ = walk(server, {**base, "LastUpdatedAfter": cursor})
    start = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    expected = world(fresh_world, "amazon_orders").filter(
        pl.col("last_update_date").dt.truncate("1s").is_between(start, cutoff(fresh_world))
    )
    assert expected.height > 0
    assert sorted(o["AmazonOrderId"] for o in found) == sorted(expected["amazon_order_id"])
