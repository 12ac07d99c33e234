"""Conformance of the Amazon SP-API emulator: Orders v0, Orders v2026-01-01 and the LWA token."""

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


# --- Orders API v2026-01-01 (searchOrders, getOrder) -----------------------------------------

ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"
STATUS_2026 = {"Pending": "PENDING", "Unshipped": "UNSHIPPED", "Shipped": "SHIPPED"}
STATUS_2026["Canceled"] = "CANCELLED"


def search_url(server: SandboxHTTPServer) -> str:
    return f"{server.base_url('amazon')}/orders/2026-01-01/orders"


def search(server: SandboxHTTPServer, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict]:
    """Every order of a searchOrders search, following pagination.nextToken with the same
    filters (as the model requires); returns the orders and the first page's body."""
    found: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    token = None
    while True:
        sent = {**params, "paginationToken": token} if token else params
        page = requests.get(search_url(server), params=sent, headers=HEADERS, timeout=30)
        assert page.status_code == 200, page.text
        body = page.json()
        first = first or body
        found += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if token is None:
            return found, first


def cents(money: dict[str, str]) -> int:
    assert money["currencyCode"] == "USD"
    return round(float(money["amount"]) * 100)


def breakdown(proceeds: dict[str, Any], kind: str) -> int:
    return sum(cents(b["subtotal"]) for b in proceeds["breakdowns"] if b["type"] == kind)


def test_amazon_search_orders_walk_lands_every_order_with_its_items(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    found, first = search(
        sandbox, {"lastUpdatedAfter": EPOCH, "includedData": ALL_DATA, "maxResultsPerPage": "37"}
    )
    orders = world(world_root, "amazon_orders").filter(
        pl.col("last_update_date").dt.truncate("1s") <= cutoff(world_root)
    )
    assert first["lastUpdatedBefore"] == iso(cutoff(world_root))
    assert "createdBefore" not in first
    assert len(first["orders"]) == 37
    assert sorted(o["orderId"] for o in found) == sorted(orders["amazon_order_id"])
    by_id = {o["orderId"]: o for o in found}
    items = world(world_root, "amazon_order_items")
    for row in orders.iter_rows(named=True):
        order = by_id[row["amazon_order_id"]]
        assert order["createdTime"] == iso(row["purchase_date"])
        assert order["lastUpdatedTime"] == iso(row["last_update_date"])
        assert order["salesChannel"]["marketplaceId"] == row["marketplace_id"]
        assert order["fulfillment"]["fulfillmentStatus"] == STATUS_2026[row["order_status"]]
        assert order["fulfillment"]["fulfilledBy"] == "AMAZON"
        assert order["buyer"]["buyerEmail"] == row["buyer_email"]
        assert order["recipient"]["deliveryAddress"].get("phone") == row["ship_phone"]
        assert ("AMAZON_BUSINESS" in order["programs"]) == row["is_business_order"]
        world_items = items.filter(pl.col("amazon_order_id") == row["amazon_order_id"])
        assert sorted(i["orderItemId"] for i in order["orderItems"]) == sorted(
            world_items["order_item_id"]
        )
        if row["order_status"] == "Pending":  # no prices until the payment is authorised
            assert "proceeds" not in order
            assert all(
                "proceeds" not in i and "price" not in i["product"] for i in order["orderItems"]
            )
            continue
        assert cents(order["proceeds"]["grandTotal"]) == row["order_total_cents"]
        for item, expected in zip(
            sorted(order["orderItems"], key=lambda i: i["orderItemId"]),
            world_items.sort("order_item_id").iter_rows(named=True),
            strict=True,
        ):
            proceeds = item["proceeds"]
            assert item["product"]["sellerSku"] == expected["seller_sku"]
            assert item["quantityOrdered"] == expected["quantity_ordered"]
            assert item["fulfillment"]["quantityFulfilled"] == expected["quantity_shipped"]
            assert breakdown(proceeds, "ITEM") == expected["item_price_cents"]
            assert breakdown(proceeds, "TAX") == expected["item_tax_cents"]
            assert breakdown(proceeds, "SHIPPING") == expected["shipping_price_cents"]
            assert breakdown(proceeds, "DISCOUNT") == -expected["promotion_discount_cents"]
            assert cents(proceeds["proceedsTotal"]) == sum(
                cents(b["subtotal"]) for b in proceeds["breakdowns"]
            )


def test_amazon_search_orders_included_data_selects_the_datasets(
    sandbox: SandboxHTTPServer,
) -> None:
    params = {"createdAfter": EPOCH, "maxResultsPerPage": "5"}
    basic = requests.get(search_url(sandbox), params=params, headers=HEADERS, timeout=10).json()
    for order in basic["orders"]:
        assert set(order) == {
            "orderId",
            "createdTime",
            "lastUpdatedTime",
            "programs",
            "salesChannel",
            "orderItems",
        }
        for item in order["orderItems"]:
            assert set(item) == {"orderItemId", "quantityOrdered", "product"}
    buyer_only = requests.get(
        search_url(sandbox), params={**params, "includedData": "BUYER"}, headers=HEADERS, timeout=10
    ).json()
    assert all(set(o) - set(basic["orders"][0]) == {"buyer"} for o in buyer_only["orders"])
    bad = requests.get(
        search_url(sandbox), params={**params, "includedData": "EVERYTHING"}, headers=HEADERS
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "InvalidInput"


def test_amazon_search_orders_filters(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    orders = world(world_root, "amazon_orders")
    start = orders["purchase_date"].sort()[orders.height // 2]
    end = start + timedelta(days=30)
    params = {
        "createdAfter": iso(start),
        "createdBefore": iso(end),
        "fulfillmentStatuses": "SHIPPED,CANCELLED",
        "fulfilledBy": "AMAZON",
        "marketplaceIds": MARKETPLACE,
    }
    found, first = search(sandbox, params)
    expected = orders.filter(
        pl.col("purchase_date").dt.truncate("1s").is_between(start.replace(microsecond=0), end)
        & pl.col("order_status").is_in(["Shipped", "Canceled"])
    )
    assert expected.height > 0
    assert first["createdBefore"] == iso(end)
    assert sorted(o["orderId"] for o in found) == sorted(expected["amazon_order_id"])
    merchant, _ = search(sandbox, {**params, "fulfilledBy": "MERCHANT"})
    assert merchant == []


@pytest.mark.parametrize(
    "params",
    [
        {},  # neither createdAfter nor lastUpdatedAfter
        {"createdAfter": EPOCH, "lastUpdatedAfter": EPOCH},
        {"createdAfter": EPOCH, "lastUpdatedBefore": EPOCH},
        {"createdAfter": "yesterday"},
        {"createdAfter": "2001-01-01T00:00:00Z", "createdBefore": EPOCH},
        {"createdAfter": EPOCH, "maxResultsPerPage": "101"},
        {"createdAfter": EPOCH, "fulfillmentStatuses": "Shipped"},  # v0 spelling
        {"createdAfter": EPOCH, "MarketplaceIds": MARKETPLACE},  # v0 parameter name
        {"createdAfter": EPOCH, "paginationToken": "not-a-token"},
    ],
)
def test_amazon_search_orders_rejects_bad_parameters(
    sandbox: SandboxHTTPServer, params: dict[str, str]
) -> None:
    response = requests.get(search_url(sandbox), params=params, headers=HEADERS, timeout=10)
    assert response.status_code == 400
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    [error] = response.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert error["message"]


def test_amazon_search_orders_before_must_be_two_minutes_before_the_clock(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    too_late = clock(world_root) - timedelta(seconds=119)
    params = {"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": iso(too_late)}
    response = requests.get(search_url(sandbox), params=params, headers=HEADERS, timeout=10)
    assert response.status_code == 400
    assert "2 minutes" in response.json()["errors"][0]["details"]
    params["lastUpdatedBefore"] = iso(cutoff(world_root))
    assert requests.get(search_url(sandbox), params=params, headers=HEADERS).status_code == 200


def test_amazon_pagination_token_is_bound_to_its_filters_and_expires(fresh_world: Path) -> None:
    params = {"createdAfter": EPOCH, "maxResultsPerPage": "10"}
    with running_sandbox(fresh_world, rate_limits="off") as server:
        first = requests.get(search_url(server), params=params, headers=HEADERS).json()
        token = first["pagination"]["nextToken"]
        # page size and datasets may change between pages; the filters may not
        resized = {**params, "maxResultsPerPage": "3", "includedData": "BUYER"}
        page = requests.get(
            search_url(server), params={**resized, "paginationToken": token}, headers=HEADERS
        )
        assert page.status_code == 200
        assert len(page.json()["orders"]) == 3
        assert all("buyer" in order for order in page.json()["orders"])
        for changed in ({"createdAfter": "2001-01-01T00:00:00Z"}, {"fulfilledBy": "AMAZON"}):
            moved = {**params, **changed, "paginationToken": token}
            refused = requests.get(search_url(server), params=moved, headers=HEADERS)
            assert refused.status_code == 400, changed
        advance_world(fresh_world, 1)  # the sandbox clock moves a day on: the token has expired
        expired = requests.get(
            search_url(server), params={**params, "paginationToken": token}, headers=HEADERS
        )
    assert expired.status_code == 400
    assert "expired" in expired.json()["errors"][0]["details"]


def test_amazon_get_order_2026_returns_one_order(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    row = world(world_root, "amazon_orders").row(0, named=True)
    url = f"{search_url(sandbox)}/{row['amazon_order_id']}"
    response = requests.get(url, params={"includedData": "BUYER"}, headers=HEADERS, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
    order = response.json()["order"]
    assert order["orderId"] == row["amazon_order_id"]
    assert order["buyer"]["buyerEmail"] == row["buyer_email"]
    assert "fulfillment" not in order
    missing = requests.get(f"{search_url(sandbox)}/999-0000000-0000000", headers=HEADERS)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NotFound"
    assert requests.get(f"{search_url(sandbox)}/nope", headers=HEADERS).status_code == 400
    assert requests.get(url, headers={"x-amz-access-token": "wrong"}).status_code == 403


def test_amazon_search_orders_throttles_after_the_burst(world_root: Path) -> None:
    params = {"createdAfter": EPOCH, "maxResultsPerPage": "1"}
    with running_sandbox(world_root, rate_limits="realistic") as server:
        statuses = []
        for _ in range(21):
            response = requests.get(search_url(server), params=params, headers=HEADERS, timeout=10)
            assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"
            assert response.headers["x-amzn-RequestId"]
            statuses.append(response.status_code)
    assert statuses == [200] * 20 + [429]
    assert response.json()["errors"][0]["code"] == "QuotaExceeded"


def test_amazon_search_orders_incremental_after_advance(fresh_world: Path) -> None:
    with running_sandbox(fresh_world, rate_limits="off") as server:
        _, first = search(server, {"lastUpdatedAfter": EPOCH})
        cursor = first["lastUpdatedBefore"]
        advance_world(fresh_world, 2)
        found, _ = search(server, {"lastUpdatedAfter": cursor})
    start = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    expected = world(fresh_world, "amazon_orders").filter(
        pl.col("last_update_date").dt.truncate("1s").is_between(start, cutoff(fresh_world))
    )
    assert expected.height > 0
    assert sorted(o["orderId"] for o in found) == sorted(expected["amazon_order_id"])
