"""When people buy and on which channel; the web store's customers, orders and lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.calendar import EVERGREEN_CODES, Calendar
from pipelines.sandbox.sim.catalog import Catalog
from pipelines.sandbox.sim.context import CURRENCY, DAY, HOUR, MINUTE, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import gapped_ids
from pipelines.sandbox.sim.noise import (
    JUNK_EMAILS,
    NOISE_RATES,
    type_emails,
    type_first_names,
    type_last_names,
    type_phones,
)
from pipelines.sandbox.sim.people import CHANNEL_MIXES, STAFF, Population

WEB, AMAZON, POS = 0, 1, 2
NEVER = np.iinfo(np.int64).max
CANCEL_RATE = 0.04
TEST_ORDER_RATE = 0.003
CANCEL_REASONS = ["CUSTOMER", "INVENTORY", "FRAUD", "DECLINED", "OTHER"]
CANCEL_WEIGHTS = [0.5, 0.15, 0.1, 0.15, 0.1]
FREE_SHIPPING_FROM = 7_500
SHIPPING_FEES = (599, 1_299)  # standard, express


@dataclass(frozen=True)
class Plan:
    """Every (non-test) order of the timeline: who, when, on which channel; sorted by time."""

    person: np.ndarray  # row index into the population
    time: np.ndarray
    channel: np.ndarray


def plan_orders(ctx: Context, cal: Calendar, pop: Population) -> Plan:
    """Draw each buyer's order times (seasonal) and the channel of each order."""
    rng = ctx.rng("plan")
    n_orders = pop.col("_n_orders")
    person = np.repeat(np.arange(len(n_orders)), n_orders)
    ordinal = np.arange(len(person)) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
    time = pop.col("_first_order")[person].copy()
    later = ordinal > 0
    time[later] = cal.sample(rng, time[later], pop.col("_active_until")[person[later]], "orders")
    weights = CHANNEL_MIXES[pop.col("_mix")[person], 1:]
    channel = (rng.random(len(person))[:, None] > np.cumsum(weights, axis=1)[:, :-1]).sum(axis=1)
    early = (channel == POS) & (time < cal.popup_open_from_us)
    fallback = np.where(weights[:, WEB] > 0, WEB, np.where(weights[:, AMAZON] > 0, AMAZON, POS))
    channel = np.where(early, fallback, channel)
    moved = (channel == POS) & (time < cal.popup_open_from_us)
    time[moved] = cal.popup_open_from_us + rng.integers(0, 90 * DAY, int(moved.sum()))
    at_till = channel == POS
    time[at_till] = cal.popup_time(rng, time[at_till], pop.col("_joined")[person[at_till]])
    order = np.argsort(time, kind="stable")
    return Plan(person=person[order], time=time[order], channel=channel[order])


def tax_rates(states: pl.Series) -> pl.Series:
    """Combined sales tax rate of each state, 7-9% (deterministic per state)."""
    codes = sorted(set(states.unique().drop_nulls().to_list()))
    table = {code: 0.07 + (sum(code.encode()) * 7 % 21) / 1000 for code in codes}
    return states.replace_strict(table, return_dtype=pl.Float64)


@dataclass(frozen=True)
class WebStore:
    """The web store's timeline tables (with ``_`` helper columns)."""

    customers: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame


def web_store(ctx: Context, cal: Calendar, pop: Population, cat: Catalog, plan: Plan) -> WebStore:
    """Build Shopify customers, orders (with discounts, tax, shipping, cancellations) and lines."""
    rng = ctx.rng("web")
    web = plan.channel == WEB
    n_real = int(web.sum())
    n_test = max(2, round(n_real * TEST_ORDER_RATE))
    test_time = cal.sample(
        rng, np.full(n_test, ctx.start_us), np.full(n_test, ctx.horizon_us), "orders"
    )
    person = np.concatenate([plan.person[web], rng.integers(0, STAFF, n_test)])
    time = np.concatenate([plan.time[web], test_time])
    is_test = np.concatenate([np.zeros(n_real, bool), np.ones(n_test, bool)])
    order = np.argsort(time, kind="stable")
    person, time, is_test = person[order], time[order], is_test[order]
    n = len(time)
    people = pop.frame

    guest = (rng.random(n) < NOISE_RATES["guest_order"]) | is_test
    no_customer = guest & ((rng.random(n) < NOISE_RATES["guest_no_customer"]) | is_test)
    account_first = np.full(len(people), NEVER, dtype=np.int64)
    np.minimum.at(account_first, person[~guest], time[~guest])
    account_people = np.flatnonzero(account_first < NEVER)
    guest_rows = np.flatnonzero(guest & ~no_customer)

    canon = people.select("email", "phone", "first_name", "last_name")
    order_email = type_emails(rng, canon.get_column("email").gather(person))
    with_phone = pl.Series(rng.random(n) < NOISE_RATES["order_phone"])
    order_phone = type_phones(rng, canon.get_column("phone").gather(person)).set(~with_phone, None)
    ship_first = type_first_names(rng, canon.get_column("first_name").gather(person))
    ship_last = type_last_names(rng, canon.get_column("last_name").gather(person))
    # staff type test@test.com into most test orders, their own address into the others
    test_rows = np.flatnonzero(is_test)
    own = canon.get_column("email").gather(person[test_rows]).to_numpy()
    junk = rng.random(len(test_rows)) < 0.6
    order_email = order_email.scatter(
        test_rows, pl.Series(np.where(junk, JUNK_EMAILS[0], own).astype(str))
    )

    # customers: one account per person who ever logs in (typed once, at sign-up), and one
    # DISABLED customer per guest order that creates one (carrying the order's details)
    accounts = canon[account_people]
    k = len(account_people)
    account_phone = type_phones(rng, accounts.get_column("phone"))
    source = pl.DataFrame(
        {
            "person": np.concatenate([account_people, person[guest_rows]]),
            "created": np.concatenate([account_first[account_people], time[guest_rows]]),
            "state": ["ENABLED"] * k + ["DISABLED"] * len(guest_rows),
            "email": pl.concat(
                [type_emails(rng, accounts.get_column("email")), order_email.gather(guest_rows)]
            ),
            "phone": pl.concat(
                [
                    account_phone.set(pl.Series(rng.random(k) >= 0.6), None),
                    order_phone.gather(guest_rows),
                ]
            ),
            "first": pl.concat(
                [
                    type_first_names(rng, accounts.get_column("first_name")),
                    ship_first.gather(guest_rows),
                ]
            ),
            "last": pl.concat(
                [
                    type_last_names(rng, accounts.get_column("last_name")),
                    ship_last.gather(guest_rows),
                ]
            ),
        }
    )
    c_order = np.argsort(source.get_column("created").to_numpy(), kind="stable")
    c_ids = gapped_ids(rng, len(c_order), 7_100_000_000_000)
    id_of_source = np.empty_like(c_ids)
    id_of_source[c_order] = c_ids
    customer_id = np.zeros(n, dtype=np.int64)
    account_id = np.zeros(len(people), dtype=np.int64)
    account_id[account_people] = id_of_source[:k]
    customer_id[~guest] = account_id[person[~guest]]
    customer_id[guest_rows] = id_of_source[k:]
    # logged-in orders carry the account's email
    account_email = pl.Series([None] * len(people), dtype=pl.String).scatter(
        account_people, source.get_column("email").head(k)
    )
    logged_in = np.flatnonzero(~guest)
    order_email = order_email.scatter(logged_in, account_email.gather(person[logged_in]))

    c = source[c_order]
    c_person = c.get_column("person").to_numpy()
    vip = (people.get_column("_freq").to_numpy()[c_person] == 2) & (
        c.get_column("state") == "ENABLED"
    ).to_numpy()
    customers = pl.DataFrame(
        {
            "customer_id": c_ids,
            "person_id": c_person + 1,
            "first_name": c.get_column("first"),
            "last_name": c.get_column("last"),
            "email": c.get_column("email"),
            "phone": c.get_column("phone"),
            "state": c.get_column("state"),
            "tags": pl.Series(np.where(vip, "VIP", "")),
            "city": people.get_column("city").gather(c_person),
            "province_code": people.get_column("province_code").gather(c_person),
            "zip": people.get_column("zip").gather(c_person),
            "country_code": "US",
            "created_at": ts(c.get_column("created").to_numpy()),
        }
    )

    # lines, discounts, tax, shipping
    line_order, variant, quantity = cat.lines(rng, time, "web")
    price = cat.price[variant]
    promo = cal.promo_at(time)
    use_promo = (promo >= 0) & (rng.random(n) < 0.55)
    signup = people.get_column("_signup").to_numpy()[person]
    first_web = np.zeros(n, bool)
    _, first_index = np.unique(person, return_index=True)
    first_web[first_index] = True
    welcome = ~use_promo & first_web & (signup <= time) & (rng.random(n) < 0.6)
    thanks = ~use_promo & ~welcome & ~first_web & (rng.random(n) < 0.03)
    promo_codes = np.array([p.code for p in cal.promotions] + [""], dtype=object)
    promo_pct = np.array([p.percent for p in cal.promotions] + [0])
    code = np.where(use_promo, promo_codes[promo], "")
    code = np.where(welcome, "WELCOME10", np.where(thanks, "THANKYOU10", code))
    pct = np.where(use_promo, promo_pct[promo], 0)
    pct = np.where(welcome, EVERGREEN_CODES["WELCOME10"], pct)
    pct = np.where(thanks, EVERGREEN_CODES["THANKYOU10"], pct)
    pct = np.where(is_test, 0, pct)
    code = np.where(is_test, "", code)
    discount = np.round(price * quantity * pct[line_order] / 100).astype(np.int64)
    subtotal = np.bincount(line_order, weights=price * quantity, minlength=n).astype(np.int64)
    discounts = np.bincount(line_order, weights=discount, minlength=n).astype(np.int64)
    rates = tax_rates(people.get_column("province_code").gather(person)).to_numpy()
    tax = np.round((subtotal - discounts) * rates).astype(np.int64)
    express = rng.random(n) < 0.1
    shipping = np.where(
        (subtotal - discounts >= FREE_SHIPPING_FROM) & ~express,
        0,
        np.where(express, SHIPPING_FEES[1], SHIPPING_FEES[0]),
    )

    cancelled = (rng.random(n) < CANCEL_RATE) | (is_test & (rng.random(n) < 0.4))
    cancelled_at = time + rng.integers(20 * MINUTE, 30 * HOUR, n)
    reason = np.array(CANCEL_REASONS)[rng.choice(len(CANCEL_REASONS), n, p=CANCEL_WEIGHTS)]
    reason = np.where(is_test, "OTHER", reason)
    order_ids = gapped_ids(rng, n, 5_900_000_000_000)
    numbers = np.arange(1001, 1001 + n, dtype=np.int64)

    orders = pl.DataFrame(
        {
            "order_id": order_ids,
            "order_number": numbers,
            "name": "#" + pl.Series(numbers).cast(pl.String),
            "person_id": person + 1,
            "customer_id": pl.Series(customer_id).set(pl.Series(customer_id == 0), None),
            "email": order_email,
            "phone": order_phone,
            "checkout_id": pl.Series([None] * n, dtype=pl.Int64),
            "created_at": ts(time),
            "processed_at": ts(time),
            "cancelled_at": ts_or_null(cancelled_at, cancelled),
            "cancel_reason": pl.Series(reason).set(pl.Series(~cancelled), None),
            "is_test": is_test,
            "currency": CURRENCY,
            "subtotal_cents": subtotal,
            "total_discounts_cents": discounts,
            "total_tax_cents": tax,
            "total_shipping_cents": shipping.astype(np.int64),
            "total_price_cents": subtotal - discounts + tax + shipping,
            "discount_code": pl.Series(code.astype(str)).replace("", None),
            "ship_first_name": ship_first,
            "ship_last_name": ship_last,
            "ship_city": people.get_column("city").gather(person),
            "ship_province_code": people.get_column("province_code").gather(person),
            "ship_zip": people.get_column("zip").gather(person),
            "ship_country_code": "US",
            "_express": express,
        }
    )
    lines = pl.DataFrame(
        {
            "line_item_id": gapped_ids(rng, len(line_order), 14_000_000_000_000, 100),
            "order_id": order_ids[line_order],
            "variant_id": cat.variant_id[variant],
            "sku": pl.Series(cat.sku[variant].astype(str)),
            "title": pl.Series(cat.title[variant].astype(str)),
            "quantity": quantity,
            "price_cents": price,
            "discount_cents": discount,
            "_at": ts(time[line_order]),
            "_variant": variant,
        }
    )
    return WebStore(customers=customers, orders=orders, lines=lines)
