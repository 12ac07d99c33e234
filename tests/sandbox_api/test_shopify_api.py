"""Conformance of the Shopify Admin GraphQL emulator: connections, search filters, money, cost and
throttling, bulk operations, auth, versions and errors, checked against the world parquet files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
import requests

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

TOKEN = SANDBOX_CREDENTIALS["shopify"]["access_token"]
VERSION = "2026-01"
OLD_VERSION = "2025-10"  # before 2026-01: one bulk query operation at a time, no bulkOperations
ISO = "%Y-%m-%dT%H:%M:%SZ"


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def endpoint(server: SandboxHTTPServer, version: str = VERSION) -> str:
    return f"{server.base_url('shopify')}/admin/api/{version}/graphql.json"


def post(
    server: SandboxHTTPServer,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    version: str = VERSION,
    token: str | None = TOKEN,
) -> requests.Response:
    headers = {"X-Shopify-Access-Token": token} if token is not None else {}
    body = {"query": query, "variables": variables or {}}
    return requests.post(endpoint(server, version), json=body, headers=headers, timeout=30)


def gql(
    server: SandboxHTTPServer,
    query: str,
    variables: dict[str, Any] | None = None,
    version: str = VERSION,
) -> dict:
    """A successful GraphQL response body (HTTP 200, no errors)."""
    response = post(server, query, variables, version=version)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body


def walk(
    server: SandboxHTTPServer, field: str, selection: str, args: str = "", first: int = 250
) -> list[dict[str, Any]]:
    """Every node of a root connection, following ``pageInfo.endCursor``."""
    query = (
        f"query($after: String) {{ {field}(first: {first}, after: $after {args}) "
        f"{{ nodes {{ {selection} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql(server, query, {"after": after})["data"][field]
        found += page["nodes"]
        assert len(page["nodes"]) <= first
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def legacy(nodes: list[dict[str, Any]]) -> list[int]:
    return [int(node["id"].rsplit("/", 1)[1]) for node in nodes]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO)


def amount(cents: int) -> Decimal:
    return Decimal(cents) / 100


def decimal_string(cents: int) -> str:
    """Shopify's Decimal rendering: no trailing zeros beyond one decimal (``"10.0"``, ``"9.5"``)."""
    text = f"{Decimal(cents) / 100:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def shop_amount(bag: dict[str, Any]) -> Decimal:
    assert bag["shopMoney"].get("currencyCode", "USD") == "USD"
    assert bag.get("presentmentMoney", bag["shopMoney"]) == bag["shopMoney"]
    return Decimal(bag["shopMoney"]["amount"])


# --- connections --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "table", "id_column"),
    [
        ("orders", "shopify_orders", "order_id"),
        ("customers", "shopify_customers", "customer_id"),
        ("abandonedCheckouts", "shopify_abandoned_checkouts", "checkout_id"),
        ("products", "products", "product_id"),
        ("productVariants", "variants", "variant_id"),
        ("inventoryItems", "variants", "inventory_item_id"),
        ("locations", "locations", "location_id"),
    ],
)
def test_shopify_connection_walk_returns_every_record_once(
    sandbox: SandboxHTTPServer, world_root: Path, field: str, table: str, id_column: str
) -> None:
    expected = world(world_root, table)
    if field == "locations":  # Amazon FBA stock is not a Shopify location
        expected = expected.filter(pl.col("is_shopify_location"))
        assert expected.height < world(world_root, table).height
    ids = legacy(walk(sandbox, field, "id"))
    assert len(ids) == len(set(ids)) == expected.height > 0
    assert set(ids) == set(expected[id_column].to_list())


def test_shopify_edges_and_nodes_agree_and_cursors_resume(sandbox: SandboxHTTPServer) -> None:
    query = """query($after: String) { customers(first: 100, after: $after) {
        edges { cursor node { id } } nodes { id }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    first = gql(sandbox, query)["data"]["customers"]
    assert [e["node"] for e in first["edges"]] == first["nodes"]
    info = first["pageInfo"]
    assert info["startCursor"] == first["edges"][0]["cursor"]
    assert info["endCursor"] == first["edges"][-1]["cursor"]
    assert info["hasNextPage"] and not info["hasPreviousPage"]
    middle = first["edges"][49]["cursor"]
    resumed = gql(sandbox, query, {"after": middle})["data"]["customers"]
    assert resumed["nodes"][:50] == first["nodes"][50:]
    assert resumed["pageInfo"]["hasPreviousPage"]


def test_shopify_ties_on_the_sort_key_neither_repeat_nor_get_lost(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    products = world(world_root, "products")
    assert products["vendor"].n_unique() < products.height  # many products share a vendor
    nodes = walk(sandbox, "products", "id vendor", ", sortKey: VENDOR", first=3)
    ids = legacy(nodes)
    assert len(ids) == len(set(ids)) == products.height
    vendors = [n["vendor"].lower() for n in nodes]
    assert vendors == sorted(vendors)
    backwards = walk(sandbox, "products", "id", ", sortKey: VENDOR, reverse: true", first=4)
    assert legacy(backwards) == ids[::-1]


def test_shopify_last_and_before_page_backwards(sandbox: SandboxHTTPServer) -> None:
    forward = gql(sandbox, "{ orders(first: 30, sortKey: ID) { edges { cursor node { id } } } }")
    edges = forward["data"]["orders"]["edges"]
    query = """query($before: String) { orders(last: 10, before: $before, sortKey: ID) {
        nodes { id } pageInfo { hasNextPage hasPreviousPage } } }"""
    page = gql(sandbox, query, {"before": edges[25]["cursor"]})["data"]["orders"]
    assert page["nodes"] == [e["node"] for e in edges[15:25]]
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}


# --- search filters -----------------------------------------------------------------------
def test_shopify_updated_at_filter_returns_exactly_the_newer_orders_in_order(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    orders = world(world_root, "shopify_orders").sort("updated_at")
    cut = orders["updated_at"][orders.height // 2]
    args = f", sortKey: UPDATED_AT, query: \"updated_at:>'{iso(cut)}'\""
    nodes = walk(sandbox, "orders", "id updatedAt", args)
    expected = orders.filter(pl.col("updated_at").dt.truncate("1s") > cut)
    assert legacy(nodes) == expected.sort(["updated_at", "order_id"])["order_id"].to_list()
    stamps = [n["updatedAt"] for n in nodes]
    assert stamps == sorted(stamps) and stamps[0] > iso(cut)


@pytest.mark.parametrize(
    ("term", "keep"),
    [
        ("updated_at:>='{v}'", lambda col, v: col >= v),
        ("updated_at:<'{v}'", lambda col, v: col < v),
        ("updated_at:<={v}", lambda col, v: col <= v),
        ("created_at:>{v}", lambda col, v: col > v),
    ],
)
def test_shopify_date_comparators_on_customers(
    sandbox: SandboxHTTPServer, world_root: Path, term: str, keep: Any
) -> None:
    customers = world(world_root, "shopify_customers").sort("updated_at")
    column = "created_at" if term.startswith("created_at") else "updated_at"
    cut = customers.sort(column)[column][customers.height // 3]
    query = term.format(v=iso(cut))
    nodes = walk(sandbox, "customers", "id", f', query: "{query}"')
    expected = customers.filter(keep(pl.col(column), cut))["customer_id"].to_list()
    assert sorted(legacy(nodes)) == sorted(expected)
    assert 0 < len(nodes) < customers.height


def test_shopify_terms_combine_with_implicit_and_and_or(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    orders = world(world_root, "shopify_orders").sort("created_at")
    low, high = orders["created_at"][orders.height // 4], orders["created_at"][orders.height // 2]
    both = f"created_at:>='{iso(low)}' created_at:<'{iso(high)}'"
    nodes = walk(sandbox, "orders", "id", f', query: "{both}"')
    in_range = (pl.col("created_at") >= low) & (pl.col("created_at") < high)
    assert sorted(legacy(nodes)) == sorted(orders.filter(in_range)["order_id"].to_list())
    either = "status:cancelled OR test:true"
    nodes = walk(sandbox, "orders", "id cancelledAt test", f', query: "{either}"')
    wanted = pl.col("cancelled_at").is_not_null() | pl.col("is_test")
    assert sorted(legacy(nodes)) == sorted(orders.filter(wanted)["order_id"].to_list())
    assert all(n["cancelledAt"] or n["test"] for n in nodes)


def test_shopify_unknown_search_field_is_ignored_with_a_warning(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    body = gql(sandbox, '{ orders(first: 5, query: "flavour:mint") { nodes { id } } }')
    assert len(body["data"]["orders"]["nodes"]) == 5
    (entry,) = body["extensions"]["search"]
    assert entry["path"] == ["orders"] and entry["query"] == "flavour:mint"
    assert entry["warnings"] == [
        {
            "field": "flavour",
            "message": "Invalid search field for this query.",
            "code": "invalid_field",
        }
    ]
    for bad in ("updated_at:>'not-a-date'", "updated_at:>", "(((", "-", "test:maybe"):
        response = post(
            sandbox,
            "query($q: String) { orders(first: 1, query: $q) { nodes { id } } }",
            {"q": bad},
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json()


# --- objects and money --------------------------------------------------------------------
MONEY = "{ shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"
ORDER_FIELDS = f"""id legacyResourceId name email createdAt processedAt updatedAt cancelledAt
    cancelReason test currencyCode displayFinancialStatus displayFulfillmentStatus discountCode
    subtotalPriceSet {MONEY} totalDiscountsSet {MONEY} totalTaxSet {MONEY}
    totalShippingPriceSet {MONEY} totalPriceSet {MONEY} totalRefundedSet {MONEY}
    customer {{ id }} shippingAddress {{ city zip provinceCode countryCodeV2 }}"""


def test_shopify_order_fields_and_money_match_the_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    nodes = walk(sandbox, "orders", ORDER_FIELDS, first=40)
    by_id = dict(zip(legacy(nodes), nodes, strict=True))
    rows = world(world_root, "shopify_orders").iter_rows(named=True)
    for row in rows:
        order = by_id[row["order_id"]]
        assert order["legacyResourceId"] == str(row["order_id"])
        assert (order["name"], order["email"], order["test"]) == (
            row["name"],
            row["email"],
            row["is_test"],
        )
        assert order["createdAt"] == iso(row["created_at"])
        assert order["updatedAt"] == iso(row["updated_at"])
        assert order["cancelledAt"] == (iso(row["cancelled_at"]) if row["cancelled_at"] else None)
        assert order["cancelReason"] == row["cancel_reason"]
        assert order["displayFinancialStatus"] == row["financial_status"]
        assert order["displayFulfillmentStatus"] == row["fulfillment_status"]
        assert order["discountCode"] == row["discount_code"]
        # Shopify's subtotal is after line discounts
        subtotal = row["subtotal_cents"] - row["total_discounts_cents"]
        assert shop_amount(order["subtotalPriceSet"]) == amount(subtotal)
        assert shop_amount(order["totalDiscountsSet"]) == amount(row["total_discounts_cents"])
        assert shop_amount(order["totalTaxSet"]) == amount(row["total_tax_cents"])
        assert shop_amount(order["totalShippingPriceSet"]) == amount(row["total_shipping_cents"])
        assert shop_amount(order["totalPriceSet"]) == amount(row["total_price_cents"])
        assert shop_amount(order["totalRefundedSet"]) == amount(row["total_refunded_cents"])
        customer = order["customer"]
        assert (customer and int(customer["id"].rsplit("/", 1)[1])) == row["customer_id"]
        assert order["shippingAddress"]["zip"] == row["ship_zip"]
        assert order["totalPriceSet"]["shopMoney"]["amount"] == decimal_string(
            row["total_price_cents"]
        )


def test_shopify_line_items_refunds_and_fulfillments_match_the_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    query = """query($after: String) { orders(first: 5, after: $after) {
        nodes { id
          lineItems(first: 6) { pageInfo { hasNextPage } nodes { id sku quantity
            originalUnitPriceSet { shopMoney { amount } presentmentMoney { amount } }
            totalDiscountSet { shopMoney { amount } presentmentMoney { amount } }
            discountAllocations { allocatedAmountSet { shopMoney { amount } }
              discountApplication { __typename ... on DiscountCodeApplication { code } } }
            variant { id sku inventoryItem { id unitCost { amount } } } } }
          refunds(first: 2) { id createdAt note
            refundLineItems(first: 6) { nodes { quantity restockType lineItem { id }
              subtotalSet { shopMoney { amount } presentmentMoney { amount } } } } }
          fulfillments(first: 2) { id status trackingInfo { company number } location { id } } }
        pageInfo { hasNextPage endCursor } } }"""
    lines, refund_lines, fulfillments = {}, {}, {}
    after = None
    while True:
        body = gql(sandbox, query, {"after": after})
        page = body["data"]["orders"]
        assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000
        for order in page["nodes"]:
            assert not order["lineItems"]["pageInfo"]["hasNextPage"]
            for line in order["lineItems"]["nodes"]:
                lines[int(line["id"].rsplit("/", 1)[1])] = (order["id"], line)
            for refund in order["refunds"]:
                for item in refund["refundLineItems"]["nodes"]:
                    refund_lines.setdefault(item["lineItem"]["id"], []).append(item)
            for fulfillment in order["fulfillments"]:
                fulfillments[int(fulfillment["id"].rsplit("/", 1)[1])] = fulfillment
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = world(world_root, "shopify_order_lines")
    assert set(lines) == set(expected["line_item_id"].to_list())
    orders = world(world_root, "shopify_orders")
    codes = dict(zip(orders["order_id"].to_list(), orders["discount_code"].to_list(), strict=True))
    for row in expected.iter_rows(named=True):
        order_id, line = lines[row["line_item_id"]]
        assert order_id.endswith(f"/{row['order_id']}")
        assert (line["sku"], line["quantity"]) == (row["sku"], row["quantity"])
        assert shop_amount(line["originalUnitPriceSet"]) == amount(row["price_cents"])
        assert shop_amount(line["totalDiscountSet"]) == amount(row["discount_cents"])
        allocated = sum(
            (shop_amount(a["allocatedAmountSet"]) for a in line["discountAllocations"]), Decimal(0)
        )
        assert allocated == amount(row["discount_cents"])
        for allocation in line["discountAllocations"]:
            if codes[row["order_id"]]:
                assert allocation["discountApplication"]["code"] == codes[row["order_id"]]
        assert line["variant"]["id"].endswith(f"/{row['variant_id']}")
    for row in world(world_root, "shopify_refund_lines").iter_rows(named=True):
        items = refund_lines[f"gid://shopify/LineItem/{row['line_item_id']}"]
        match = [i for i in items if shop_amount(i["subtotalSet"]) == amount(row["subtotal_cents"])]
        assert match and match[0]["restockType"] == row["restock_type"]
    for row in world(world_root, "shopify_fulfillments").iter_rows(named=True):
        fulfillment = fulfillments[row["fulfillment_id"]]
        assert fulfillment["status"] == row["status"]
        if row["tracking_number"]:
            assert fulfillment["trackingInfo"][0]["number"] == row["tracking_number"]
            assert fulfillment["trackingInfo"][0]["company"] == row["tracking_company"]


def test_shopify_customer_fields_match_the_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    nodes = walk(
        sandbox,
        "customers",
        """id firstName lastName email phone state tags createdAt updatedAt numberOfOrders
        amountSpent { amount currencyCode }
        emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
        defaultAddress { city zip countryCodeV2 }""",
        first=100,
    )
    by_id = dict(zip(legacy(nodes), nodes, strict=True))
    orders = world(world_root, "shopify_orders")
    counts = dict(orders.group_by("customer_id").len().iter_rows())
    for row in world(world_root, "shopify_customers").iter_rows(named=True):
        customer = by_id[row["customer_id"]]
        assert (customer["email"], customer["phone"]) == (row["email"], row["phone"])
        assert (customer["firstName"], customer["lastName"]) == (
            row["first_name"],
            row["last_name"],
        )
        assert customer["state"] == row["state"]
        assert customer["tags"] == [t.strip() for t in (row["tags"] or "").split(",") if t.strip()]
        assert customer["updatedAt"] == iso(row["updated_at"])
        assert customer["numberOfOrders"] == str(counts.get(row["customer_id"], 0))
        assert customer["amountSpent"]["currencyCode"] == "USD"
        consent = customer["emailMarketingConsent"]
        if row["email"]:
            assert consent["marketingState"] == row["email_marketing_state"]
            assert consent["marketingOptInLevel"] == row["email_marketing_opt_in_level"]
        else:
            assert consent is None


def test_shopify_inventory_levels_report_named_quantities(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    query = """query($id: ID!, $after: String) { location(id: $id) {
        inventoryLevels(first: 100, after: $after) {
          nodes { item { legacyResourceId } quantities(names: ["available", "committed", "on_hand", "damaged"]) { name quantity } }
          pageInfo { hasNextPage endCursor } } } }"""  # noqa: E501
    found: dict[tuple[int, int], dict[str, int]] = {}
    for location_id in [n["id"] for n in walk(sandbox, "locations", "id")]:
        after = None
        while True:
            body = gql(sandbox, query, {"id": location_id, "after": after})
            levels = body["data"]["location"]["inventoryLevels"]
            for level in levels["nodes"]:
                key = (int(location_id.rsplit("/", 1)[1]), int(level["item"]["legacyResourceId"]))
                assert key not in found
                found[key] = {q["name"]: q["quantity"] for q in level["quantities"]}
            if not levels["pageInfo"]["hasNextPage"]:
                break
            after = levels["pageInfo"]["endCursor"]
    locations = world(world_root, "locations").filter(pl.col("is_shopify_location"))
    expected = world(world_root, "inventory_levels").filter(
        pl.col("location_id").is_in(locations["location_id"].to_list())
    )
    assert len(found) == expected.height
    for row in expected.iter_rows(named=True):
        quantities = found[(row["location_id"], row["inventory_item_id"])]
        assert quantities == {
            "available": row["available"],
            "committed": row["committed"],
            "on_hand": row["on_hand"],
            "damaged": 0,
        }
    levels = 'inventoryLevels(first: 1) { nodes { quantities(names: ["sold"]) { quantity } } }'
    bad = post(sandbox, f"{{ locations(first: 1) {{ nodes {{ {levels} }} }} }}")
    assert bad.status_code == 200
    assert "Invalid quantity name" in bad.json()["errors"][0]["message"]


def test_shopify_node_lookup_and_invalid_global_id(sandbox: SandboxHTTPServer) -> None:
    first = gql(sandbox, "{ orders(first: 1) { nodes { id name } } }")["data"]["orders"]["nodes"][0]
    query = "query($id: ID!) { node(id: $id) { id ... on Order { name } } order(id: $id) { id } }"
    body = gql(sandbox, query, {"id": first["id"]})
    assert body["data"]["node"] == first
    assert body["data"]["order"]["id"] == first["id"]
    response = post(sandbox, 'query { node(id: "12345") { id } }')
    assert response.json()["errors"][0]["message"] == "Invalid global id '12345'"


# --- cost and throttling ------------------------------------------------------------------
def test_shopify_cost_extension_reports_requested_and_actual_cost(
    sandbox: SandboxHTTPServer,
) -> None:
    body = gql(sandbox, "{ locations(first: 10) { nodes { id address { city } } } }")
    cost = body["extensions"]["cost"]
    returned = len(body["data"]["locations"]["nodes"])
    assert cost["requestedQueryCost"] == 2 + 10 * 2
    assert cost["actualQueryCost"] == 2 + returned * 2 < cost["requestedQueryCost"]
    status = cost["throttleStatus"]
    assert status == {"maximumAvailable": 2000.0, "currentlyAvailable": 2000, "restoreRate": 100.0}


def test_shopify_query_above_max_cost_is_refused(sandbox: SandboxHTTPServer) -> None:
    query = "{ orders(first: 250) { nodes { id lineItems(first: 10) { nodes { id } } } } }"
    response = post(sandbox, query)
    assert response.status_code == 200
    body = response.json()
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 3252, "maxCost": 1000}
    assert error["message"].startswith("Query cost is 3252, which exceeds the single query max")
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in body


def test_shopify_throttles_when_the_bucket_cannot_cover_the_cost(world_root: Path) -> None:
    query = "{ orders(first: 250) { nodes { id shippingAddress { zip } customer { id } } } }"
    with running_sandbox(world_root, rate_limits="realistic") as server:
        started = time.monotonic()
        bodies = []
        for _ in range(4):
            response = post(server, query)
            assert response.status_code == 200
            bodies.append(response.json())
        assert time.monotonic() - started < 5
    throttled = [b for b in bodies if "errors" in b]
    assert throttled, [b["extensions"]["cost"] for b in bodies]
    assert "errors" not in bodies[0]
    first_cost = bodies[0]["extensions"]["cost"]
    assert first_cost["requestedQueryCost"] == 752
    assert first_cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert first_cost["throttleStatus"]["restoreRate"] == 100.0
    body = throttled[0]
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < cost["requestedQueryCost"]


# --- bulk operations ----------------------------------------------------------------------
RUN_BULK = """mutation($q: String!, $group: Boolean!) { bulkOperationRunQuery(query: $q, groupObjects: $group) {
    bulkOperation { id status } userErrors { field message code } } }"""  # noqa: E501
POLL = "{ currentBulkOperation { id status objectCount rootObjectCount fileSize url errorCode } }"


def wait_for_bulk(server: SandboxHTTPServer) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        op = gql(server, POLL)["data"]["currentBulkOperation"]
        if op["status"] not in ("CREATED", "RUNNING"):
            return op
        time.sleep(0.05)
    raise AssertionError("bulk operation did not finish")


@pytest.mark.parametrize("group", [False, True])
def test_shopify_bulk_operation_exports_the_world_as_jsonl(
    sandbox: SandboxHTTPServer, world_root: Path, group: bool
) -> None:
    inner = """{ orders(query: "status:any") { edges { node { id name
        totalPriceSet { shopMoney { amount } }
        lineItems { edges { node { id sku quantity } } } } } } }"""
    body = gql(sandbox, RUN_BULK, {"q": inner, "group": group})
    run = body["data"]["bulkOperationRunQuery"]
    assert run["userErrors"] == [] and run["bulkOperation"]["status"] == "CREATED"
    op = wait_for_bulk(sandbox)
    assert op["status"] == "COMPLETED" and op["id"] == run["bulkOperation"]["id"]
    download = requests.get(op["url"], timeout=30)  # a signed URL: no token
    assert download.status_code == 200
    rows = [orjson.loads(line) for line in download.content.splitlines()]
    assert int(op["objectCount"]) == len(rows) and int(op["fileSize"]) == len(download.content)
    orders = [r for r in rows if "__parentId" not in r]
    lines = [r for r in rows if "__parentId" in r]
    expected_orders = world(world_root, "shopify_orders")
    expected_lines = world(world_root, "shopify_order_lines")
    assert int(op["rootObjectCount"]) == len(orders) == expected_orders.height
    assert set(legacy(orders)) == set(expected_orders["order_id"].to_list())
    totals = dict(
        zip(
            expected_orders["order_id"].to_list(),
            expected_orders["total_price_cents"].to_list(),
            strict=True,
        )
    )
    for order in orders:
        assert "lineItems" not in order
        assert Decimal(order["totalPriceSet"]["shopMoney"]["amount"]) == amount(
            totals[int(order["id"].rsplit("/", 1)[1])]
        )
    parents = {
        int(r["id"].rsplit("/", 1)[1]): int(r["__parentId"].rsplit("/", 1)[1]) for r in lines
    }
    assert parents == dict(
        zip(
            expected_lines["line_item_id"].to_list(),
            expected_lines["order_id"].to_list(),
            strict=True,
        )
    )
    if group:  # every child right after its parent (or a sibling)
        seen: set[str] = set()
        for row in rows:
            if "__parentId" in row:
                assert row["__parentId"] in seen
            seen.add(row["id"])
    state = sandbox.state("shopify")["bulk_operations"]
    assert state[-1]["id"] == op["id"] and state[-1]["status"] == "COMPLETED"
    node = gql(
        sandbox,
        "query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }",
        {"id": op["id"]},
    )["data"]["node"]
    assert node == {"status": "COMPLETED", "url": op["url"]}


def test_shopify_bulk_operation_rejects_bad_queries_and_before_2026_01_runs_one_at_a_time(
    sandbox: SandboxHTTPServer,
) -> None:
    no_connection = gql(sandbox, RUN_BULK, {"q": "{ shop { name } }", "group": False})
    (error,) = no_connection["data"]["bulkOperationRunQuery"]["userErrors"]
    assert error["code"] == "INVALID" and "connection" in error["message"]
    unknown = gql(
        sandbox, RUN_BULK, {"q": "{ orders { edges { node { nope } } } }", "group": False}
    )
    (error,) = unknown["data"]["bulkOperationRunQuery"]["userErrors"]
    assert error["message"] == "Invalid bulk query: Field 'nope' doesn't exist on type 'Order'"
    bulk = sandbox.emulators["shopify"].bulk  # type: ignore[attr-defined]
    bulk.delay = 1.0
    try:
        query = "{ products { edges { node { id title } } } }"
        first = gql(sandbox, RUN_BULK, {"q": query, "group": False}, OLD_VERSION)
        assert first["data"]["bulkOperationRunQuery"]["userErrors"] == []
        second = gql(sandbox, RUN_BULK, {"q": query, "group": False}, OLD_VERSION)
        (error,) = second["data"]["bulkOperationRunQuery"]["userErrors"]
        assert error["code"] == "OPERATION_IN_PROGRESS"
        assert gql(sandbox, POLL)["data"]["currentBulkOperation"]["status"] in (
            "CREATED",
            "RUNNING",
        )
    finally:
        bulk.delay = 0.0
    assert wait_for_bulk(sandbox)["status"] == "COMPLETED"


LIST_BULK = """query($q: String, $reverse: Boolean) {
  bulkOperations(first: 10, query: $q, reverse: $reverse) { nodes { id status query } }
}"""


def bulk_listing(
    server: SandboxHTTPServer, search: str | None = None, reverse: bool = False
) -> list[dict[str, Any]]:
    body = gql(server, LIST_BULK, {"q": search, "reverse": reverse})
    nodes: list[dict[str, Any]] = body["data"]["bulkOperations"]["nodes"]
    return nodes


@pytest.mark.parametrize("version", ["2026-01", "2026-07"])
def test_shopify_from_2026_01_five_bulk_queries_run_at_once_and_the_sixth_waits(
    sandbox: SandboxHTTPServer, world_root: Path, version: str
) -> None:
    roots = ["products", "customers", "orders", "abandonedCheckouts", "locations", "products"]
    queries = [f"{{ {root} {{ edges {{ node {{ id }} }} }} }}" for root in roots]
    bulk = sandbox.emulators["shopify"].bulk  # type: ignore[attr-defined]
    bulk.delay = 3.0  # the five stay RUNNING while the sixth is asked, even on a busy machine
    try:
        answers = [
            gql(sandbox, RUN_BULK, {"q": q, "group": False}, version)["data"][
                "bulkOperationRunQuery"
            ]
            for q in queries
        ]
        started = [a["bulkOperation"]["id"] for a in answers[:5]]
        assert all(a["userErrors"] == [] for a in answers[:5])
        assert answers[5]["bulkOperation"] is None, sandbox.state("shopify")
        (error,) = answers[5]["userErrors"]
        assert error["code"] == "OPERATION_IN_PROGRESS" and "5" in error["message"]
        active = bulk_listing(sandbox, "status:created OR status:running")
        assert [op["id"] for op in active] == started[::-1]  # newest first
        assert [op["query"] for op in active] == queries[:5][::-1]
    finally:
        bulk.delay = 0.0
    deadline = time.monotonic() + 30
    while bulk_listing(sandbox, "status:created OR status:running"):
        assert time.monotonic() < deadline, "bulk operations did not finish"
        time.sleep(0.05)
    done = bulk_listing(sandbox, "status:completed operation_type:query", reverse=True)
    assert [op["id"] for op in done] == started  # reverse: oldest first
    # every result is its own query's: the ids of the roots it asked for
    expected = {
        "products": set(world(world_root, "products")["product_id"].to_list()),
        "customers": set(world(world_root, "shopify_customers")["customer_id"].to_list()),
    }
    for op_id, root in zip(started[:2], roots[:2], strict=True):
        node = gql(
            sandbox,
            "query($id: ID!) { bulkOperation(id: $id) { url rootObjectCount } }",
            {"id": op_id},
        )["data"]["bulkOperation"]
        rows = [orjson.loads(line) for line in requests.get(node["url"], timeout=30).iter_lines()]
        assert set(legacy(rows)) == expected[root]
        assert int(node["rootObjectCount"]) == len(expected[root])
    # a sixth one starts once a slot is free
    sixth = gql(sandbox, RUN_BULK, {"q": queries[5], "group": False}, version)
    assert sixth["data"]["bulkOperationRunQuery"]["userErrors"] == []


def test_shopify_bulk_operations_listing_is_not_in_versions_before_2026_01(
    sandbox: SandboxHTTPServer,
) -> None:
    body = post(sandbox, LIST_BULK, {"q": None, "reverse": False}, version=OLD_VERSION).json()
    assert body["errors"][0]["message"] == (
        "Field 'bulkOperations' doesn't exist on type 'QueryRoot'"
    )


# --- auth, versions, errors ---------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "shpat_wrong"])
def test_shopify_rejects_a_missing_or_wrong_token(
    sandbox: SandboxHTTPServer, token: str | None
) -> None:
    response = post(sandbox, "{ shop { name } }", token=token)
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_shopify_versions_unknown_is_404_retired_falls_forward(sandbox: SandboxHTTPServer) -> None:
    for version in ("2099-01", "2026-02", "latest"):
        assert post(sandbox, "{ shop { name } }", version=version).status_code == 404
    current = post(sandbox, "{ shop { name } }", version="2025-10")
    assert current.status_code == 200 and current.headers["X-Shopify-API-Version"] == "2025-10"
    retired = post(sandbox, "{ shop { name } }", version="2023-10")
    assert retired.status_code == 200 and retired.headers["X-Shopify-API-Version"] == "2025-07"


def test_shopify_page_size_errors(sandbox: SandboxHTTPServer) -> None:
    too_big = post(sandbox, "{ orders(first: 251) { nodes { id } } }").json()
    assert too_big["data"] is None
    (error,) = too_big["errors"]
    assert error["path"] == ["orders"] and "251" in error["message"]
    assert "cost" in too_big["extensions"]
    missing = post(sandbox, "{ customers { nodes { id } } }").json()
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["data"] is None


def test_shopify_invalid_requests_get_shopify_errors(sandbox: SandboxHTTPServer) -> None:
    syntax = post(sandbox, "{ orders(first: 1) { nodes { id }")
    assert syntax.status_code == 200 and syntax.json()["errors"][0]["locations"]
    unknown = post(sandbox, "{ orders(first: 1) { nodes { id flavour } } }")
    assert unknown.status_code == 200
    (error,) = unknown.json()["errors"]
    assert error["message"] == "Field 'flavour' doesn't exist on type 'Order'"
    assert error["extensions"]["code"] == "undefinedField"
    bad_cursor = post(sandbox, '{ orders(first: 1, after: "bm9wZQ==") { nodes { id } } }')
    assert bad_cursor.status_code == 200 and bad_cursor.json()["errors"]
    bad_enum = post(
        sandbox, "{ abandonedCheckouts(first: 1, sortKey: UPDATED_AT) { nodes { id } } }"
    )
    assert bad_enum.status_code == 200 and bad_enum.json()["errors"]
    url = endpoint(sandbox)
    headers = {"X-Shopify-Access-Token": TOKEN}
    for body in (b"", b"{not json", b'{"variables": {}}', b"[1, 2]"):
        response = requests.post(url, data=body, headers=headers, timeout=10)
        assert response.status_code == 400
        assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}
    raw = requests.post(
        url,
        data="{ shop { name } }",
        headers={**headers, "Content-Type": "application/graphql"},
        timeout=10,
    )
    assert raw.json()["data"]["shop"]["name"]


# --- incremental after the world moves ----------------------------------------------------
def test_shopify_advanced_world_shows_new_and_updated_orders_in_the_filter(
    fresh_world: Path,
) -> None:
    with running_sandbox(fresh_world, rate_limits="off") as server:
        before = walk(server, "orders", "id updatedAt", ", sortKey: UPDATED_AT")
        high_water = max(n["updatedAt"] for n in before)
        advance_world(fresh_world, 2)
        args = f", sortKey: UPDATED_AT, query: \"updated_at:>'{high_water}'\""
        changed = walk(server, "orders", "id updatedAt", args)
    orders = world(fresh_world, "shopify_orders")
    cut = datetime.fromisoformat(high_water.replace("Z", "+00:00"))
    expected = orders.filter(pl.col("updated_at").dt.truncate("1s") > cut)
    assert expected.height > 0
    assert legacy(changed) == expected.sort(["updated_at", "order_id"])["order_id"].to_list()
    new_ids = set(legacy(changed)) - set(legacy(before))
    assert new_ids == set(orders["order_id"].to_list()) - set(legacy(before))
    assert new_ids, "advancing two days should bring new orders"
