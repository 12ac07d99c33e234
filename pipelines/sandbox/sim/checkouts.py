"""Abandoned checkouts: most stay abandoned, some are recovered by an order within 7 days."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.calendar import Calendar
from pipelines.sandbox.sim.catalog import Catalog
from pipelines.sandbox.sim.commerce import FREE_SHIPPING_FROM, SHIPPING_FEES, WebStore
from pipelines.sandbox.sim.context import DAY, HOUR, MINUTE, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import gapped_ids
from pipelines.sandbox.sim.noise import NOISE_RATES, type_emails, type_phones
from pipelines.sandbox.sim.people import CHANNEL_MIXES, Population

CHECKOUTS_PER_WEB_ORDER = 2.3
RECOVERED_SHARE = 0.2  # share of real web orders that complete an earlier abandoned checkout
LOGGED_IN_SHARE = 0.7  # checkouts started while logged into an existing account
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Checkouts:
    """Abandoned checkouts, their lines, and the web orders with ``checkout_id`` filled in."""

    checkouts: pl.DataFrame
    lines: pl.DataFrame
    orders: pl.DataFrame


def _recovery_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Time from abandoning a checkout to completing it: minutes, hours or days (< 7 days)."""
    kind = rng.choice(3, n, p=[0.08, 0.5, 0.42])
    return np.select(
        [kind == 0, kind == 1],
        [rng.integers(10 * MINUTE, HOUR, n), rng.integers(HOUR, DAY, n)],
        rng.integers(DAY, 7 * DAY - HOUR, n),
    )


def abandoned_checkouts(
    ctx: Context, cal: Calendar, pop: Population, cat: Catalog, store: WebStore
) -> Checkouts:
    """Draw abandoned checkouts: recovered ones precede an order, the rest are scattered."""
    rng = ctx.rng("checkouts")
    orders = store.orders
    joined = pop.col("_joined")
    real = ~orders.get_column("is_test").to_numpy()
    o_person = orders.get_column("person_id").to_numpy() - 1
    o_time = orders.get_column("created_at").dt.epoch("us").to_numpy()
    recovered = np.flatnonzero(real & (rng.random(orders.height) < RECOVERED_SHARE))
    r_time = np.maximum(
        o_time[recovered] - _recovery_delay(rng, len(recovered)), joined[o_person[recovered]]
    )

    n_total = round(CHECKOUTS_PER_WEB_ORDER * real.sum())
    n_other = max(n_total - len(recovered), 0)
    web_orders = np.bincount(o_person[real], minlength=len(joined))
    browser = (pop.col("persona") == "shopper") & (pop.col("_n_orders") == 0)
    web_buyer = CHANNEL_MIXES[pop.col("_mix"), 1] > 0
    weight = np.where(browser, 2.5, np.where(web_buyer & (web_orders > 0), 1.0 + web_orders, 0.0))
    a_person = rng.choice(len(joined), n_other, p=weight / weight.sum())
    lo = joined[a_person]
    hi = np.minimum(np.maximum(pop.col("_active_until")[a_person], lo + 90 * DAY), ctx.horizon_us)
    a_time = cal.sample(rng, lo, hi, "orders")

    person = np.concatenate([o_person[recovered], a_person])
    time = np.concatenate([r_time, a_time])
    recovered_at = np.concatenate([o_time[recovered], np.full(n_other, NEVER)])
    order_index = np.concatenate([recovered, np.full(n_other, -1)])
    sort = np.argsort(time, kind="stable")
    person, time = person[sort], time[sort]
    recovered_at, order_index = recovered_at[sort], order_index[sort]
    n = len(time)
    checkout_ids = gapped_ids(rng, n, 30_000_000_000_000)

    # lines: a recovered checkout holds its order's lines, the others draw their own
    o_lines = store.lines
    line_order = o_lines.get_column("order_id").to_numpy()
    order_pos = np.searchsorted(orders.get_column("order_id").to_numpy(), line_order)
    has_order = order_index >= 0
    slot = np.full(orders.height, -1)
    slot[order_index[has_order]] = np.flatnonzero(has_order)
    copied = slot[order_pos] >= 0
    new_order, new_variant, new_qty = cat.lines(rng, time[~has_order], "web")
    line_checkout = np.concatenate([slot[order_pos][copied], np.flatnonzero(~has_order)[new_order]])
    variant = np.concatenate([o_lines.get_column("_variant").to_numpy()[copied], new_variant])
    quantity = np.concatenate([o_lines.get_column("quantity").to_numpy()[copied], new_qty])
    line_sort = np.argsort(line_checkout, kind="stable")
    line_checkout, variant, quantity = (
        line_checkout[line_sort],
        variant[line_sort],
        quantity[line_sort],
    )
    starts = np.searchsorted(line_checkout, line_checkout, side="left")
    line_no = np.arange(len(line_checkout)) - starts + 1
    price = cat.price[variant]
    subtotal = np.bincount(line_checkout, weights=price * quantity, minlength=n).astype(np.int64)
    total = subtotal + np.round(subtotal * 0.08).astype(np.int64)
    total += np.where(subtotal >= FREE_SHIPPING_FROM, 0, SHIPPING_FEES[0])

    people = pop.frame
    customers = store.customers.filter(pl.col("state") == "ENABLED")
    account_id = np.zeros(len(joined), dtype=np.int64)
    account_at = np.full(len(joined), NEVER, dtype=np.int64)
    acc_person = customers.get_column("person_id").to_numpy() - 1
    account_id[acc_person] = customers.get_column("customer_id").to_numpy()
    account_at[acc_person] = customers.get_column("created_at").dt.epoch("us").to_numpy()
    logged_in = (account_at[person] <= time) & (rng.random(n) < LOGGED_IN_SHARE)
    phone = type_phones(rng, people.get_column("phone").gather(person))
    with_phone = pl.Series(rng.random(n) < NOISE_RATES["checkout_phone"])
    checkouts = pl.DataFrame(
        {
            "checkout_id": checkout_ids,
            "person_id": person + 1,
            "customer_id": pl.Series(account_id[person]).set(pl.Series(~logged_in), None),
            "email": type_emails(rng, people.get_column("email").gather(person)),
            "phone": phone.set(~with_phone, None),
            "created_at": ts(time),
            "updated_at": ts(time),
            "completed_at": pl.Series([None] * n, dtype=pl.Datetime("us", "UTC")),
            "subtotal_cents": subtotal,
            "total_price_cents": total,
            "_recovered_at": ts_or_null(recovered_at, recovered_at < NEVER),
        }
    )
    lines = pl.DataFrame(
        {
            "checkout_id": checkout_ids[line_checkout],
            "line_no": line_no,
            "variant_id": cat.variant_id[variant],
            "sku": pl.Series(cat.sku[variant].astype(str)),
            "title": pl.Series(cat.title[variant].astype(str)),
            "quantity": quantity,
            "price_cents": price,
            "_at": ts(time[line_checkout]),
        }
    )
    order_checkout = np.zeros(orders.height, dtype=np.int64)
    order_checkout[order_index[has_order]] = checkout_ids[has_order]
    filled = orders.with_columns(
        checkout_id=pl.Series(order_checkout).set(pl.Series(order_checkout == 0), None)
    )
    return Checkouts(checkouts=checkouts, lines=lines, orders=filled)
