"""Simulate the whole hidden timeline, from ``start`` to ``horizon``, as tables of events.

Tables are handed to a sink as soon as they are final (and then dropped), so that the largest
worlds never hold the whole timeline in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from pipelines.sandbox.sim.amazon import amazon_orders
from pipelines.sandbox.sim.calendar import Calendar
from pipelines.sandbox.sim.catalog import build_catalog
from pipelines.sandbox.sim.checkouts import abandoned_checkouts
from pipelines.sandbox.sim.commerce import plan_orders, web_store
from pipelines.sandbox.sim.context import Context, ts, ts_or_null
from pipelines.sandbox.sim.crm import simulate_crm
from pipelines.sandbox.sim.cut import PRIMARY_KEYS
from pipelines.sandbox.sim.fulfilment import ship_orders
from pipelines.sandbox.sim.inventory import stock_movements
from pipelines.sandbox.sim.marketing import simulate_marketing
from pipelines.sandbox.sim.people import Population, simulate_people
from pipelines.sandbox.sim.pos import pos_sales
from pipelines.sandbox.sim.refunds import refund_orders

NEVER = np.iinfo(np.int64).max
Sink = Callable[[str, pl.DataFrame], None]


class _FirstSeen:
    """The earliest record time of every person, folded in table by table."""

    def __init__(self, pop: Population) -> None:
        self.at = pop.col("_joined").copy()

    def add(self, frame: pl.DataFrame, column: str) -> None:
        """Fold in a table's (person_id, time) pairs."""
        person = frame.get_column("person_id").to_numpy() - 1
        np.minimum.at(self.at, person, frame.get_column(column).dt.epoch("us").to_numpy())


def _with_consent(
    customers: pl.DataFrame, sub_at: np.ndarray, unsub_at: np.ndarray, confirmed: np.ndarray
) -> pl.DataFrame:
    """Each Shopify customer's consent times: the person's, from the customer's creation on."""
    person = customers.get_column("person_id").to_numpy() - 1
    created = customers.get_column("created_at").dt.epoch("us").to_numpy()
    sub, unsub = sub_at[person], unsub_at[person]
    gone_before = unsub <= created
    has_sub = (sub < NEVER) & ~gone_before
    has_unsub = (unsub < NEVER) & ~gone_before
    return customers.with_columns(
        _sub_at=ts_or_null(np.maximum(sub, created), has_sub),
        _unsub_at=ts_or_null(unsub, has_unsub),
        _opt_in_level=pl.Series(np.where(confirmed[person], "CONFIRMED_OPT_IN", "SINGLE_OPT_IN")),
    )


def _is_sorted(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether the frame is already in (strictly) ascending key order."""
    first = pl.col(keys[0])
    ascending = first > first.shift(1)
    if len(keys) == 2:
        second = pl.col(keys[1])
        ascending |= (first == first.shift(1)) & (second > second.shift(1))
    return bool(frame.select(ascending.slice(1).all()).item()) if frame.height > 1 else True


def simulate(ctx: Context, sink: Sink) -> None:
    """Run every module once, handing each finished timeline table (sorted by key) to ``sink``."""

    def emit(name: str, frame: pl.DataFrame) -> None:
        frame = frame.drop([c for c in frame.columns if c in ("_variant", "_express")])
        keys = PRIMARY_KEYS[name]
        sink(name, frame if _is_sorted(frame, keys) else frame.sort(keys))

    cal = Calendar(ctx)
    pop = simulate_people(ctx, cal)
    seen = _FirstSeen(pop)
    cat = build_catalog(ctx, cal)
    emit("products", cat.products)
    emit("variants", cat.variants)
    emit("locations", cat.locations)
    plan = plan_orders(ctx, cal, pop)
    store = web_store(ctx, cal, pop, cat, plan)
    checkouts = abandoned_checkouts(ctx, cal, pop, cat, store)
    orders, lines = checkouts.orders, store.lines
    emit("shopify_checkout_lines", checkouts.lines)
    emit("shopify_abandoned_checkouts", checkouts.checkouts)
    seen.add(checkouts.checkouts, "created_at")
    started = checkouts.checkouts.select(
        "checkout_id", "person_id", "created_at", "total_price_cents", "_recovered_at"
    )
    del checkouts

    warehouse = cat.location_id["warehouse"]
    sales: list[pl.DataFrame] = []
    marketplace = amazon_orders(ctx, pop, cat, plan)
    sales.append(
        marketplace.items.filter(pl.col("_shipped_at").is_not_null()).select(
            "_variant",
            pl.lit(cat.location_id["amazon_fba"], dtype=pl.Int64).alias("location_id"),
            pl.col("_shipped_at").dt.epoch("us").alias("_at"),
            pl.col("quantity_ordered").alias("units"),
        )
    )
    seen.add(marketplace.orders, "purchase_date")
    emit("amazon_orders", marketplace.orders)
    emit("amazon_order_items", marketplace.items)
    del marketplace
    till = pos_sales(ctx, pop, cat, plan)
    sales.append(
        till.lines.select(
            "_variant",
            pl.lit(cat.location_id["popup"], dtype=pl.Int64).alias("location_id"),
            pl.col("_at").dt.epoch("us"),
            pl.col("quantity").alias("units"),
        )
    )
    seen.add(till.transactions, "occurred_at")
    pos_people = np.unique(till.transactions.get_column("person_id").to_numpy() - 1)
    emit("pos_transactions", till.transactions)
    emit("pos_lines", till.lines)
    del till

    shipping = ship_orders(ctx, orders, lines)
    for name, frame in (
        ("shopify_fulfillments", shipping.fulfillments),
        ("shipstation_shipments", shipping.shipments),
        ("easypost_trackers", shipping.trackers),
        ("easypost_tracking_details", shipping.details),
    ):
        emit(name, frame)
    outcomes = shipping.outcomes
    del shipping
    refunds = refund_orders(ctx, orders, lines, outcomes)
    returns = (
        refunds.lines.filter(pl.col("restock_type") == "RETURN")
        .join(lines.select("line_item_id", "_variant"), on="line_item_id")
        .select(
            "_variant",
            pl.lit(warehouse, dtype=pl.Int64).alias("location_id"),
            pl.col("_at").dt.epoch("us"),
            pl.col("quantity").alias("units"),
        )
    )
    emit("shopify_refunds", refunds.refunds)
    emit("shopify_refund_lines", refunds.lines)
    del refunds
    sales.append(
        lines.join(outcomes, on="order_id", how="inner").select(
            "_variant",
            pl.lit(warehouse, dtype=pl.Int64).alias("location_id"),
            pl.col("_shipped").alias("_at"),
            pl.col("quantity").alias("units"),
        )
    )
    movements = stock_movements(ctx, cat, pl.concat(sales, how="vertical_relaxed"), returns)
    emit("inventory_movements", movements)
    del movements, sales, returns
    emit("shopify_order_lines", lines)
    del lines

    marketing = simulate_marketing(ctx, pop, orders, store.customers, started, pos_people)
    seen.add(marketing.profiles, "created")
    for name, frame in (
        ("klaviyo_profiles", marketing.profiles),
        ("klaviyo_lists", marketing.lists),
        ("klaviyo_list_members", marketing.members),
        ("klaviyo_metrics", marketing.metrics),
        ("klaviyo_campaigns", marketing.campaigns),
        ("klaviyo_flows", marketing.flows),
        ("klaviyo_events", marketing.events),
    ):
        emit(name, frame)
    consent = (marketing.subscribed_at, marketing.unsubscribed_at, marketing.confirmed)
    del marketing

    first_order = np.full(pop.frame.height, NEVER, dtype=np.int64)
    np.minimum.at(first_order, plan.person, plan.time)
    crm = simulate_crm(
        ctx, pop, orders, store.customers, started, outcomes, consent[0], first_order
    )
    del started
    seen.add(crm.contacts, "createdate")
    for name, frame in (
        ("hubspot_companies", crm.companies),
        ("hubspot_contacts", crm.contacts),
        ("hubspot_deals", crm.deals),
        ("hubspot_tickets", crm.tickets),
        ("hubspot_engagements", crm.engagements),
    ):
        emit(name, frame)
    del crm

    seen.add(orders, "created_at")
    emit("shopify_orders", orders)
    seen.add(store.customers, "created_at")
    emit("shopify_customers", _with_consent(store.customers, *consent))
    del orders, store
    people = pop.frame.with_columns(joined_at=ts(seen.at))
    emit("people", people.select([c for c in people.columns if not c.startswith("_")]))
