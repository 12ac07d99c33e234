"""The Amazon SP-API source against the sandbox: orders and items land as the world holds them,
incremental runs ask only for what changed, faults change nothing, and bad credentials say which
setting to fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from pipelines.ingest import SourceRun
from pipelines.sandbox.generate import advance_world
from pipelines.sources.amazon.helpers import UsagePlanPacer
from tests.pipelines.conftest import FaultyIngest, assert_failed_naming_setting, query, snapshot

ORDERS_PATH = "/orders/2026-01-01/orders"
STATUSES = "select order_id, fulfillment__fulfillment_status from raw_amazon.orders"
STATUS_2026 = {
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
}


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def cutoff(root: Path) -> datetime:
    """Amazon's newest vouched-for instant: the world clock - 2 minutes, to the second."""
    clock = json.loads((root / "world" / "meta.json").read_text())["clock"]
    moment = datetime.fromisoformat(clock.replace("Z", "+00:00"))
    return (moment - timedelta(minutes=2)).replace(microsecond=0)


def visible_orders(root: Path) -> pl.DataFrame:
    """The world's orders searchOrders returns (updated at least two minutes before the clock)."""
    limit = int(cutoff(root).timestamp())
    return world(root, "amazon_orders").filter(pl.col("last_update_date").dt.epoch("s") <= limit)


def landed_orders() -> pl.DataFrame:
    rows = query(
        "select order_id, fulfillment__fulfillment_status, proceeds__grand_total__amount, "
        "cast(epoch(created_time) as bigint), cast(epoch(last_updated_time) as bigint), "
        "buyer__buyer_email from raw_amazon.orders"
    )
    columns = ["amazon_order_id", "status", "total", "purchase_s", "updated_s", "email"]
    return pl.DataFrame(rows, schema=columns, orient="row")


def expected_orders(root: Path) -> pl.DataFrame:
    return visible_orders(root).select(
        "amazon_order_id",
        pl.col("order_status").replace_strict(STATUS_2026).alias("status"),
        # Amazon shows no proceeds while an order is Pending
        pl.when(pl.col("order_status") != "Pending")
        .then(pl.col("order_total_cents"))
        .alias("total_cents"),
        pl.col("purchase_date").dt.epoch("s").alias("purchase_s"),
        pl.col("last_update_date").dt.epoch("s").alias("updated_s"),
        pl.col("buyer_email").alias("email"),
    )


def assert_orders_match_world(root: Path) -> None:
    landed = landed_orders().with_columns(
        pl.col("total")
        .map_elements(lambda d: int(d * 100), return_dtype=pl.Int64)
        .alias("total_cents")
    )
    expected = expected_orders(root)
    assert landed.height == expected.height
    joined = expected.join(landed, on="amazon_order_id", how="left", suffix="_landed")
    for column in ("status", "total_cents", "purchase_s", "updated_s", "email"):
        assert joined[column].to_list() == joined[f"{column}_landed"].to_list(), column


def assert_items_match_world(root: Path) -> None:
    orders = visible_orders(root)
    items = world(root, "amazon_order_items").join(
        orders.select("amazon_order_id", "order_status"), on="amazon_order_id", how="semi"
    )
    rows = query(
        "select item.order_item_id, item.order_id, item.quantity_ordered, "
        "item.fulfillment__quantity_fulfilled, breakdown.subtotal__amount "
        "from raw_amazon.order_items as item "
        "left join raw_amazon.order_items__proceeds__breakdowns as breakdown "
        "on breakdown._dlt_parent_id = item._dlt_id and breakdown.type = 'ITEM'"
    )
    landed = {row[0]: row[1:] for row in rows}
    assert set(landed) == set(items["order_item_id"])
    pending = set(orders.filter(pl.col("order_status") == "Pending")["amazon_order_id"])
    for row in items.iter_rows(named=True):
        order_id, ordered, shipped, price = landed[row["order_item_id"]]
        assert (order_id, ordered, shipped) == (
            row["amazon_order_id"],
            row["quantity_ordered"],
            row["quantity_shipped"],
        )
        if row["amazon_order_id"] not in pending:  # Amazon leaves prices out while Pending
            assert round(float(price) * 100) == row["item_price_cents"]
        else:
            assert price is None


def orders_calls(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["path"] == ORDERS_PATH and e["status"] == 200]


def per_order_calls(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests for one order or its items (v0 getOrder / getOrderItems, v2026 getOrder)."""
    return [e for e in entries if e["path"].startswith("/orders/") and e["path"] != ORDERS_PATH]


def test_amazon_full_load_lands_the_world_and_a_second_run_loads_nothing(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: Any
) -> None:
    [run] = ingest("amazon")

    assert run.status == "succeeded", run.error
    orders = visible_orders(sandbox_root)
    assert orders.height > 100
    assert run.rows["orders"] == orders.height
    assert_orders_match_world(sandbox_root)
    assert_items_match_world(sandbox_root)
    # one searchOrders call per 100 orders, items inline: no per-order calls
    entries = sandbox_server.log.entries("amazon")
    assert len(orders_calls(entries)) == -(-orders.height // 100)
    assert per_order_calls(entries) == []
    money = query(
        "select data_type from information_schema.columns where table_schema = 'raw_amazon' "
        "and table_name = 'orders' and column_name = 'proceeds__grand_total__amount'"
    )
    assert money == [("DECIMAL(18,2)",)]

    sandbox_server.log.clear()
    [again] = ingest("amazon")

    assert again.status == "succeeded", again.error
    assert again.rows == {}
    entries = sandbox_server.log.entries("amazon")
    [call] = orders_calls(entries)
    window_end = cutoff(sandbox_root).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call["query"]["lastUpdatedAfter"] == [window_end]
    assert per_order_calls(entries) == []


def test_amazon_as_days_pass_only_changed_orders_are_fetched_and_merged(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: Any
) -> None:
    ingest("amazon")
    # the small world has an Amazon order every few days: move on a day at a time until a new
    # order has arrived and an order already loaded has moved on (Pending/Unshipped -> Shipped)
    seen_new = seen_update = False
    for _ in range(12):
        before = dict(query(STATUSES))
        previous_cutoff = int(cutoff(sandbox_root).timestamp())
        advance_world(sandbox_root, 1)
        sandbox_server.log.clear()

        [run] = ingest("amazon")

        assert run.status == "succeeded", run.error
        orders = visible_orders(sandbox_root)
        changed = orders.filter(pl.col("last_update_date").dt.epoch("s") >= previous_cutoff)
        assert changed.height < orders.height / 10
        entries = sandbox_server.log.entries("amazon")
        assert per_order_calls(entries) == []
        assert orders_calls(entries)[0]["query"]["lastUpdatedAfter"] == [
            datetime.fromtimestamp(previous_cutoff, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ]
        assert run.rows.get("orders", 0) == changed.height
        assert_orders_match_world(sandbox_root)
        assert_items_match_world(sandbox_root)
        after = dict(query(STATUSES))
        seen_new |= bool(set(after) - set(before))
        seen_update |= any(after[order] != status for order, status in before.items())
        if seen_new and seen_update:
            break
    assert seen_new and seen_update

    incremental = snapshot("raw_amazon")
    [refresh] = ingest("amazon", full_refresh=True)
    assert refresh.status == "succeeded", refresh.error
    assert snapshot("raw_amazon") == incremental


def test_amazon_with_injected_faults_loads_the_same_warehouse(
    ingest: Callable[..., list[SourceRun]], ingest_with_faults: FaultyIngest
) -> None:
    [clean] = ingest("amazon")
    assert clean.status == "succeeded", clean.error
    expected = snapshot("raw_amazon")

    faulty, faults = ingest_with_faults("amazon", seed=11, rate=0.5)

    assert faulty.status == "succeeded", faulty.error
    assert len(faults) >= 3  # few calls (a page per 100 orders): a high rate to see several
    assert snapshot("raw_amazon") == expected


def test_amazon_wrong_refresh_token_names_the_setting_and_others_still_load(
    ingest: Callable[..., list[SourceRun]], use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(AMAZON__REFRESH_TOKEN="Atzr|not-the-right-one")

    amazon, shipstation = ingest("amazon", "shipstation")

    assert_failed_naming_setting(amazon, "SOURCES__AMAZON__REFRESH_TOKEN", "not-the-right-one")
    assert amazon.error and "invalid_grant" in amazon.error
    assert shipstation.status == "succeeded", shipstation.error
    assert shipstation.rows_total > 0


def test_amazon_pacer_uses_the_burst_then_spaces_calls_after_quota_exceeded() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = UsagePlanPacer(sleep=sleep, clock=lambda: now[0])
    for _ in range(20):
        pacer.before("searchOrders")
    assert slept == []

    throttled = requests.Response()
    throttled.status_code = 429
    throttled.url = (
        "https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/orders?paginationToken=x"
    )
    throttled.headers["x-amzn-RateLimit-Limit"] = "0.0056"
    wait = pacer.throttled(throttled)
    assert wait == pytest.approx(1 / 0.0056)
    now[0] += wait  # the session waits, then retries

    pacer.before("searchOrders")
    pacer.before("searchOrders")
    assert slept == [pytest.approx(1 / 0.0056)] * 2
    pacer.before("getOrder")  # another usage plan: not slowed
    assert len(slept) == 2
