"""Shopify source: Admin GraphQL (the sandbox emulator over real HTTP) → raw_shopify, checked
against the world parquet files; bulk and paged loads agree; incremental runs ask only for what
changed; faults, throttling and wrong credentials."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import polars as pl
import pytest
import requests

from pipelines import config
from pipelines.ingest import SourceRun, run_ingest
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.pos_export import export_pos
from pipelines.sandbox.schema import shopify_gid
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox
from pipelines.sources.shopify import columns, queries, settings, shape
from pipelines.sources.shopify.bulk import reassemble
from pipelines.sources.shopify.helpers import iso_start
from tests.pipelines.conftest import query

Rows = set[tuple[Any, ...]]
HELPERS_LOGGER = "pipelines.sources.shopify.helpers"


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def money(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


def gid(kind: str, legacy_id: int | None) -> str | None:
    return None if legacy_id is None else shopify_gid(kind, legacy_id)


def ingest_shopify(full_refresh: bool = False) -> SourceRun:
    (run,) = run_ingest(["shopify"], full_refresh=full_refresh)
    assert run.status == "succeeded", run.error
    return run


def requests_to(server: SandboxHTTPServer) -> int:
    return len(server.log.entries("shopify"))


# --- what the warehouse should hold: the world, as the API serves it ------------------------
def expected(root: Path) -> dict[str, Rows]:
    """Every Shopify table of the world, keyed and valued as the warehouse queries below."""
    orders = world(root, "shopify_orders")
    lines = world(root, "shopify_order_lines")
    refund_lines = world(root, "shopify_refund_lines")
    fulfillments = world(root, "shopify_fulfillments")
    customers = world(root, "shopify_customers")
    checkouts = world(root, "shopify_abandoned_checkouts")
    checkout_lines = world(root, "shopify_checkout_lines")
    variants = world(root, "variants")
    locations = world(root, "locations").filter(pl.col("is_shopify_location"))
    shop_locations = set(locations["location_id"].to_list())
    levels = world(root, "inventory_levels").filter(pl.col("location_id").is_in(shop_locations))
    return {
        "orders": {
            (
                gid("Order", r["order_id"]),
                r["order_id"],
                r["name"],
                r["email"],
                r["updated_at"],
                r["cancelled_at"],
                r["is_test"],
                r["financial_status"],
                money(r["subtotal_cents"] - r["total_discounts_cents"]),
                money(r["total_discounts_cents"]),
                money(r["total_price_cents"]),
                money(r["total_refunded_cents"]),
                gid("Customer", r["customer_id"]),
            )
            for r in orders.iter_rows(named=True)
        },
        "line_items": {
            (
                gid("LineItem", r["line_item_id"]),
                gid("Order", r["order_id"]),
                r["sku"],
                r["quantity"],
                money(r["price_cents"]),
                money(r["discount_cents"]),
                gid("ProductVariant", r["variant_id"]),
            )
            for r in lines.iter_rows(named=True)
        },
        "refund_lines": {
            (
                gid("RefundLineItem", r["refund_line_item_id"]),
                gid("Refund", r["refund_id"]),
                gid("LineItem", r["line_item_id"]),
                r["quantity"],
                money(r["subtotal_cents"]),
                r["restock_type"],
            )
            for r in refund_lines.iter_rows(named=True)
        },
        "fulfillments": {
            (
                gid("Fulfillment", r["fulfillment_id"]),
                gid("Order", r["order_id"]),
                r["status"],
                r["tracking_company"],
                r["tracking_number"],
            )
            for r in fulfillments.iter_rows(named=True)
        },
        "customers": {
            (
                gid("Customer", r["customer_id"]),
                r["email"],
                r["phone"],
                r["state"],
                r["email_marketing_state"] if r["email"] else None,
                r["email_marketing_opt_in_level"] if r["email"] else None,
                r["email_consent_updated_at"] if r["email"] else None,
                r["updated_at"],
            )
            for r in customers.iter_rows(named=True)
        },
        "checkouts": {
            (
                gid("AbandonedCheckout", r["checkout_id"]),
                gid("Customer", r["customer_id"]),
                r["updated_at"],
                money(r["total_price_cents"]),
            )
            for r in checkouts.iter_rows(named=True)
        },
        "checkout_lines": {
            (
                gid("AbandonedCheckout", r["checkout_id"]),
                r["sku"],
                r["quantity"],
                money(r["price_cents"]),
            )
            for r in checkout_lines.iter_rows(named=True)
        },
        "products": {
            (gid("Product", r["product_id"]), r["title"], r["status"], r["updated_at"])
            for r in world(root, "products").iter_rows(named=True)
        },
        "variants": {
            (
                gid("ProductVariant", r["variant_id"]),
                gid("Product", r["product_id"]),
                r["sku"],
                money(r["price_cents"]),
                gid("InventoryItem", r["inventory_item_id"]),
                money(r["unit_cost_cents"]),
            )
            for r in variants.iter_rows(named=True)
        },
        "locations": {
            (gid("Location", r["location_id"]), r["name"]) for r in locations.iter_rows(named=True)
        },
        "inventory_levels": {
            (
                gid("InventoryItem", r["inventory_item_id"]),
                gid("Location", r["location_id"]),
                r["on_hand"],
                r["committed"],
                r["available"],
            )
            for r in levels.iter_rows(named=True)
        },
    }


LANDED = {
    "orders": """select id, legacy_resource_id, name, email, updated_at, cancelled_at, test,
        display_financial_status, subtotal_price, total_discounts, total_price, total_refunded,
        customer__id from raw_shopify.orders""",
    "line_items": """select l.id, o.id, l.sku, l.quantity, l.original_unit_price, l.total_discount,
        l.variant__id from raw_shopify.orders__line_items l
        join raw_shopify.orders o on l._dlt_root_id = o._dlt_id""",
    "refund_lines": """select l.id, r.id, l.line_item__id, l.quantity, l.subtotal, l.restock_type
        from raw_shopify.orders__refunds__refund_line_items l
        join raw_shopify.orders__refunds r on l._dlt_parent_id = r._dlt_id""",
    "fulfillments": """select f.id, o.id, f.status, t.company, t.number
        from raw_shopify.orders__fulfillments f
        join raw_shopify.orders o on f._dlt_root_id = o._dlt_id
        left join raw_shopify.orders__fulfillments__tracking_info t
            on t._dlt_parent_id = f._dlt_id""",
    "customers": """select id, email, phone, state, email_marketing_consent__marketing_state,
        email_marketing_consent__marketing_opt_in_level,
        email_marketing_consent__consent_updated_at, updated_at from raw_shopify.customers""",
    "checkouts": """select id, customer__id, updated_at, total_price
        from raw_shopify.abandoned_checkouts""",
    "checkout_lines": """select c.id, l.sku, l.quantity, l.original_unit_price
        from raw_shopify.abandoned_checkouts__line_items l
        join raw_shopify.abandoned_checkouts c on l._dlt_root_id = c._dlt_id""",
    "products": "select id, title, status, updated_at from raw_shopify.products",
    "variants": """select id, product__id, sku, price, inventory_item__id,
        inventory_item__unit_cost from raw_shopify.product_variants""",
    "locations": "select id, name from raw_shopify.locations",
    "inventory_levels": """select item__id, location__id, on_hand, committed, available
        from raw_shopify.inventory_levels""",
}


def landed() -> dict[str, Rows]:
    rows = {name: set(query(sql)) for name, sql in LANDED.items()}
    orders = rows["orders"]  # legacy_resource_id is the GID's number
    assert all(int(row[0].rsplit("/", 1)[1]) == row[1] for row in orders)
    return rows


COUNTED = {  # raw table -> world table: row counts equal (no duplicates)
    "orders": "shopify_orders",
    "orders__line_items": "shopify_order_lines",
    "orders__refunds": "shopify_refunds",
    "orders__refunds__refund_line_items": "shopify_refund_lines",
    "orders__fulfillments": "shopify_fulfillments",
    "customers": "shopify_customers",
    "abandoned_checkouts": "shopify_abandoned_checkouts",
    "abandoned_checkouts__line_items": "shopify_checkout_lines",
    "products": "products",
    "product_variants": "variants",
}


def assert_matches_world(root: Path) -> None:
    """Every table equals the world: ids as sets with their key values, and row counts."""
    want, got = expected(root), landed()
    for name in want:
        assert got[name] == want[name], name
    for table, world_table in COUNTED.items():
        ((count,),) = query(f"select count(*) from raw_shopify.{table}")
        assert count == world(root, world_table).height, table
    ((levels,),) = query("select count(*) from raw_shopify.inventory_levels")
    assert levels == len(want["inventory_levels"])


# --- warehouse snapshots: every raw table, children keyed by their parents' ids -------------
def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every raw_shopify table as sorted rows without dlt's load/row ids (children carry their
    root's and parent's ``id``), so two loads compare row for row."""
    tables = [
        t
        for (t,) in query(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw_shopify' and table_name not like '\\_dlt%' escape '\\'"
        )
    ]
    out = {}
    for table in sorted(tables):
        columns = [
            c
            for (c,) in query(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw_shopify' and table_name = ? order by column_name",
                [table],
            )
            if c not in ("_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id")
        ]
        select = ", ".join(f't."{c}"' for c in columns)
        if "__" not in table:
            sql = f"select {select} from raw_shopify.{table} t"
        else:
            root, parent = table.split("__")[0], table.rsplit("__", 1)[0]
            sql = (
                f"select {select}, r.id as _root, p.id as _parent from raw_shopify.{table} t "
                f"join raw_shopify.{root} r on t._dlt_root_id = r._dlt_id "
                f"join raw_shopify.{parent} p on t._dlt_parent_id = p._dlt_id"
            )
        out[table] = sorted(query(sql), key=repr)
    return out


def assert_same_warehouse(before: dict[str, list[tuple[Any, ...]]]) -> None:
    after = snapshot()
    assert sorted(after) == sorted(before)
    for table, rows in before.items():
        assert after[table] == rows, table


# --- tests ----------------------------------------------------------------------------------
def test_shopify_bulk_load_matches_world_and_paged_load_under_faults_is_identical(
    sandbox_root: Path,
    sandbox_server: SandboxHTTPServer,
    use_sandbox: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=HELPERS_LOGGER)
    shop_bulk(sandbox_server).delay = 1.5  # each bulk operation takes its time on the shop
    run = ingest_shopify()
    bulk_requests = requests_to(sandbox_server)
    bulk_ops = sandbox_server.state("shopify")["bulk_operations"]
    operations = len(bulk_ops)
    assert operations == 3  # the first load went through bulk: orders, customers, checkouts
    # ... all three at once: the last one started before the first one completed
    assert max(op["created_at"] for op in bulk_ops) < min(op["completed_at"] for op in bulk_ops)
    assert_matches_world(sandbox_root)
    assert run.rows["orders"] == world(sandbox_root, "shopify_orders").height
    # money and timestamps typed, not strings
    ((total, updated, price),) = query(
        "select o.total_price, o.updated_at, l.original_unit_price from raw_shopify.orders o "
        "join raw_shopify.orders__line_items l on l._dlt_root_id = o._dlt_id limit 1"
    )
    assert isinstance(total, Decimal) and isinstance(price, Decimal)
    assert updated.tzinfo is not None
    bulk_warehouse = snapshot()

    # The paged path against a vendor failing 5% of the calls (5xx, resets, cut-off and slow
    # bodies), with two nested items per page: line items and refund line items beyond the
    # first page are read to the last one, and the warehouse ends row for row identical.
    monkeypatch.setenv("SOURCES__SHOPIFY__USE_BULK_FOR_INITIAL_LOAD", "false")
    monkeypatch.setenv("SOURCES__SHOPIFY__NESTED_PAGE_SIZE", "2")
    with running_sandbox(
        sandbox_root, faults=0.05, fault_seed=11, slow_seconds=0.05, rate_limits="off"
    ) as faulty:
        use_sandbox(faulty)
        ingest_shopify(full_refresh=True)
        entries = faulty.log.entries("shopify")
    assert len(sandbox_server.state("shopify")["bulk_operations"]) == operations
    assert len(entries) > bulk_requests
    assert len([e for e in entries if e["fault"]]) >= 5
    assert_same_warehouse(bulk_warehouse)
    # the page sizes fit Shopify's 1000-point query limit: no page had to be asked again smaller
    assert not [r for r in caplog.records if "too costly" in r.getMessage()]


def test_shopify_first_load_adopts_its_running_operation_and_waits_for_a_free_slot(
    sandbox_root: Path, sandbox_server: SandboxHTTPServer, use_sandbox: Callable[..., None]
) -> None:
    # The orders operation was started by a call whose answer was lost, and four operations of
    # the app fill the shop's other slots (five at a time): the load adopts the running orders
    # operation, waits for slots for customers and checkouts, and lands the world.
    orders = queries.bulk_orders(f"updated_at:>='{iso_start(settings.DEFAULT_START_DATE)}'")
    others = [
        f'{{ products(query: "tag:t{n}") {{ edges {{ node {{ id }} }} }} }}' for n in range(4)
    ]
    shop_bulk(sandbox_server).delay = 4.0  # long enough for the load to find them running
    for document in [orders, *others]:
        answer = run_bulk_query(sandbox_server, document)
        assert answer["userErrors"] == [], answer
    ingest_shopify()
    bulk_ops = sandbox_server.state("shopify")["bulk_operations"]
    assert len(bulk_ops) == 7  # five already there + customers + checkouts
    assert [op["query"] for op in bulk_ops].count(orders) == 1
    assert all(op["status"] == "COMPLETED" for op in bulk_ops)
    assert_matches_world(sandbox_root)


def test_shopify_before_api_2026_01_bulk_operations_run_one_after_another(
    sandbox_root: Path, sandbox_server: SandboxHTTPServer, use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(SHOPIFY__API_VERSION="2025-10")  # one bulk query operation at a time
    shop_bulk(sandbox_server).delay = 0.5
    ingest_shopify()
    bulk_ops = sandbox_server.state("shopify")["bulk_operations"]
    assert len(bulk_ops) == 3 and all(op["status"] == "COMPLETED" for op in bulk_ops)
    for earlier, later in itertools.pairwise(bulk_ops):
        assert later["created_at"] >= earlier["completed_at"]
    assert_matches_world(sandbox_root)


def shop_bulk(server: SandboxHTTPServer) -> Any:
    """The sandbox shop's bulk operations (its ``delay`` keeps each one RUNNING a while)."""
    return server.emulators["shopify"].bulk  # type: ignore[attr-defined]


def run_bulk_query(server: SandboxHTTPServer, document: str) -> dict[str, Any]:
    response = requests.post(
        f"{server.base_url('shopify')}{settings.GRAPHQL_PATH.format(version=settings.API_VERSION)}",
        json={"query": queries.BULK_RUN, "variables": {"query": document}},
        headers={"X-Shopify-Access-Token": SANDBOX_CREDENTIALS["shopify"]["access_token"]},
        timeout=30,
    )
    answer: dict[str, Any] = response.json()["data"]["bulkOperationRunQuery"]
    return answer


def test_shopify_incremental_runs_ask_only_for_changes(
    sandbox_root: Path, sandbox_server: SandboxHTTPServer, use_sandbox: Callable[..., None]
) -> None:
    ingest_shopify()
    sandbox_server.log.clear()
    second = ingest_shopify()
    assert second.rows == {}
    quiet_requests = requests_to(sandbox_server)
    assert quiet_requests <= 10  # one page per resource, levels per location

    before = {
        name: set(world(sandbox_root, table).select(key, "updated_at").iter_rows())
        for name, table, key in (
            ("orders", "shopify_orders", "order_id"),
            ("customers", "shopify_customers", "customer_id"),
            ("abandoned_checkouts", "shopify_abandoned_checkouts", "checkout_id"),
        )
    }
    advance_world(sandbox_root, 2)
    changed = {
        name: set(world(sandbox_root, table).select(key, "updated_at").iter_rows()) - rows
        for (name, rows), table, key in zip(
            before.items(),
            ("shopify_orders", "shopify_customers", "shopify_abandoned_checkouts"),
            ("order_id", "customer_id", "checkout_id"),
            strict=True,
        )
    }
    assert any(changed.values())  # two days of business changed records
    gone = drop_one_inventory_level(sandbox_root)  # e.g. an item no longer stocked there
    sandbox_server.log.clear()
    third = ingest_shopify()
    assert requests_to(sandbox_server) <= quiet_requests + 6  # + refund lines, another page
    for name, rows in changed.items():
        assert third.rows.get(name, 0) == len(rows), name
    assert_matches_world(sandbox_root)
    assert not query("select 1 from raw_shopify.inventory_levels where id = ?", [gone])

    incremental = snapshot()
    ingest_shopify(full_refresh=True)
    assert_same_warehouse(incremental)


def drop_one_inventory_level(root: Path) -> str:
    """Remove one Shopify inventory level from the served world; returns its GID."""
    path = root / "world" / "inventory_levels.parquet"
    levels = pl.read_parquet(path)
    shop = world(root, "locations").filter(pl.col("is_shopify_location"))["location_id"]
    victim = levels.filter(pl.col("location_id").is_in(shop.to_list())).row(0, named=True)
    levels.filter(
        (pl.col("location_id") != victim["location_id"])
        | (pl.col("inventory_item_id") != victim["inventory_item_id"])
    ).write_parquet(path)
    meta = root / "world" / "meta.json"
    os.utime(meta, (meta.stat().st_atime, meta.stat().st_mtime + 1))  # the server reloads
    return (
        f"gid://shopify/InventoryLevel/{victim['location_id']}"
        f"?inventory_item_id={victim['inventory_item_id']}"
    )


def test_shopify_paces_under_realistic_rate_limits(
    sandbox_root: Path,
    use_sandbox: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    orders = world(sandbox_root, "shopify_orders")
    newest: datetime = orders["updated_at"].max()  # type: ignore[assignment]
    cutoff = newest - timedelta(days=3)
    monkeypatch.setenv("SOURCES__SHOPIFY__START_DATE", cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("SOURCES__SHOPIFY__USE_BULK_FOR_INITIAL_LOAD", "false")
    caplog.set_level(logging.DEBUG, logger=HELPERS_LOGGER)
    with running_sandbox(sandbox_root, rate_limits="realistic") as server:
        use_sandbox(server)
        drain_bucket(server)
        run = ingest_shopify()
    throttled = [r for r in caplog.records if "THROTTLED" in r.getMessage()]
    paced = [r for r in caplog.records if "pacing" in r.getMessage()]
    assert 1 <= len(throttled) <= 2  # the blind first query; pacing kept every other one away
    assert len(paced) >= 2
    recent = orders.filter(pl.col("updated_at") >= cutoff).height
    assert run.rows["orders"] == recent > 0


def drain_bucket(server: SandboxHTTPServer) -> None:
    """Spend most of the shop's 2000-point bucket, as another app of the shop would."""
    url = f"{server.base_url('shopify')}/admin/api/{settings.API_VERSION}/graphql.json"
    token = SANDBOX_CREDENTIALS["shopify"]["access_token"]
    fields = (
        "id amountSpent { amount } defaultAddress { id } emailMarketingConsent { marketingState }"
    )
    for first in (240, 240):
        document = f"{{ customers(first: {first}) {{ nodes {{ {fields} }} }} }}"
        answer = requests.post(
            url, json={"query": document}, headers={"X-Shopify-Access-Token": token}, timeout=30
        ).json()
        assert "errors" not in answer
    assert answer["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 400


def test_shopify_wrong_token_fails_in_one_line_and_other_sources_load(
    sandbox_root: Path, use_sandbox: Callable[..., None]
) -> None:
    secret = "shpat_wrong_token_123"
    use_sandbox(SHOPIFY__ACCESS_TOKEN=secret)
    export_pos(sandbox_root, config.paths().pos_landing)
    shopify, pos = run_ingest(["shopify", "pos"])
    assert shopify.status == "failed" and shopify.error is not None
    assert "\n" not in shopify.error and secret not in shopify.error
    assert "SOURCES__SHOPIFY__ACCESS_TOKEN" in shopify.error and "401" in shopify.error
    assert pos.status == "succeeded" and pos.rows_total > 0


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SHOPIFY__API_VERSION", "2099-01", "SOURCES__SHOPIFY__API_VERSION"),
        ("SHOPIFY__START_DATE", "last tuesday", "SOURCES__SHOPIFY__START_DATE"),
    ],
)
def test_shopify_bad_setting_names_the_setting(
    use_sandbox: Callable[..., None], setting: str, value: str, named: str
) -> None:
    use_sandbox(**{setting: value})
    (run,) = run_ingest(["shopify"])
    assert run.status == "failed" and run.error is not None
    assert named in run.error and "\n" not in run.error


def test_shopify_bulk_result_children_join_their_parents_wherever_they_sit() -> None:
    jsonl = (
        b'{"id":"gid://shopify/LineItem/2","sku":"B","__parentId":"gid://shopify/Order/1"}\n'
        b'{"id":"gid://shopify/Order/1","name":"#1001"}\n'
        b'{"id":"gid://shopify/Order/3","name":"#1002"}\n'
        b'{"id":"gid://shopify/LineItem/4","sku":"C","__parentId":"gid://shopify/Order/1"}\n'
    )
    orders = list(reassemble(jsonl, "lineItems"))
    assert [o["name"] for o in orders] == ["#1001", "#1002"]
    assert [line["sku"] for line in orders[0]["lineItems"]] == ["B", "C"]
    assert orders[1]["lineItems"] == []
    assert "__parentId" not in orders[0]["lineItems"][0]


def test_shopify_odd_amount_lands_in_a_variant_column_not_a_crash(tmp_path: Path) -> None:
    good = {"id": "gid://shopify/Order/1", "totalPriceSet": {"shopMoney": {"amount": "10.5"}}}
    odd = {"id": "gid://shopify/Order/2", "totalPriceSet": {"shopMoney": {"amount": "n/a"}}}
    rows = [shape.order(good), shape.order(odd)]
    assert rows[0]["totalPrice"] == Decimal("10.5") and rows[1]["totalPrice"] == "n/a"
    pipeline = dlt.pipeline(
        "shopify_drift",
        destination=dlt.destinations.duckdb(str(tmp_path / "drift.duckdb")),
        pipelines_dir=str(tmp_path / "dlt"),
        dataset_name="raw_shopify",
    )
    pipeline.run(rows, table_name="orders", columns=columns.hints(columns.ORDERS))
    with pipeline.sql_client() as client:
        landed = client.execute_sql(
            "select id, total_price, total_price__v_text from orders order by id"
        )
    assert [tuple(row) for row in landed or ()] == [
        ("gid://shopify/Order/1", Decimal("10.5"), None),
        ("gid://shopify/Order/2", None, "n/a"),
    ]
