"""Amazon marketplace orders, fulfilled by Amazon (FBA), and their items."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.catalog import Catalog
from pipelines.sandbox.sim.commerce import AMAZON, Plan
from pipelines.sandbox.sim.context import CURRENCY, HOUR, MINUTE, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import amazon_order_ids, digit_strings, unique_random_ints
from pipelines.sandbox.sim.noise import (
    NOISE_RATES,
    relay_emails,
    type_first_names,
    type_last_names,
    type_phones,
)
from pipelines.sandbox.sim.people import Population

CANCEL_RATE = 0.02
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Marketplace:
    """Amazon orders and items (timeline, with ``_`` event times)."""

    orders: pl.DataFrame
    items: pl.DataFrame


def amazon_orders(ctx: Context, pop: Population, cat: Catalog, plan: Plan) -> Marketplace:
    """Build Amazon orders: relay emails, optional ship phones, status events, items."""
    rng = ctx.rng("amazon")
    chosen = plan.channel == AMAZON
    person, time = plan.person[chosen], plan.time[chosen]
    n = len(time)
    people = pop.frame
    buyers, buyer_of = np.unique(person, return_inverse=True)
    relay = relay_emails(rng, len(buyers))
    name = (
        type_first_names(rng, people.get_column("first_name").gather(buyers))
        + " "
        + type_last_names(rng, people.get_column("last_name").gather(buyers))
    )
    # a buyer's first order always carries the phone of the address; later ones only sometimes
    first = np.zeros(n, dtype=bool)
    first[np.unique(person, return_index=True)[1]] = True
    phone = type_phones(rng, people.get_column("phone").gather(person))
    dropped = ~first & (rng.random(n) >= NOISE_RATES["amazon_ship_phone"])
    phone = phone.set(pl.Series(dropped), None)

    pending_until = time + rng.integers(2 * MINUTE, 90 * MINUTE, n)
    shipped_at = pending_until + rng.integers(3 * HOUR, 40 * HOUR, n)
    cancelled = rng.random(n) < CANCEL_RATE
    cancelled_at = time + rng.integers(5 * MINUTE, 12 * HOUR, n)
    shipped_at = np.where(cancelled, NEVER, shipped_at)

    line_order, variant, quantity = cat.lines(rng, time, "amazon")
    item_price = np.round(cat.price[variant] * 1.05).astype(np.int64) * quantity
    tax = np.round(item_price * 0.08).astype(np.int64)
    promo = (rng.random(n) < 0.08)[line_order]
    promotion = np.where(promo, np.round(item_price * 0.1), 0).astype(np.int64)
    first_line = np.r_[True, line_order[1:] != line_order[:-1]]
    paid_shipping = (rng.random(n) < 0.12)[line_order] & first_line
    shipping = np.where(paid_shipping, 499, 0)
    total = np.bincount(
        line_order, weights=item_price + tax + shipping - promotion, minlength=n
    ).astype(np.int64)
    n_items = np.bincount(line_order, weights=quantity, minlength=n).astype(np.int64)
    order_ids = amazon_order_ids(rng, n)

    orders = pl.DataFrame(
        {
            "amazon_order_id": order_ids,
            "person_id": person + 1,
            "marketplace_id": "ATVPDKIKX0DER",
            "sales_channel": "Amazon.com",
            "purchase_date": ts(time),
            "fulfillment_channel": "AFN",
            "order_total_cents": total,
            "currency": CURRENCY,
            "buyer_email": relay.gather(buyer_of),
            "buyer_name": name.gather(buyer_of),
            "ship_phone": phone,
            "ship_city": people.get_column("city").gather(person),
            "ship_state": people.get_column("province_code").gather(person),
            "ship_postal_code": people.get_column("zip").gather(person),
            "ship_country_code": "US",
            "is_business_order": rng.random(n) < 0.03,
            "_pending_until": ts(pending_until),
            "_shipped_at": ts_or_null(shipped_at, ~cancelled),
            "_cancelled_at": ts_or_null(cancelled_at, cancelled),
            "_n_items": n_items,
        }
    )
    items = pl.DataFrame(
        {
            "order_item_id": digit_strings(
                unique_random_ints(rng, len(line_order), 10**13, 10**14), 14
            ),
            "amazon_order_id": order_ids.gather(line_order),
            "asin": pl.Series(cat.variants.get_column("asin").gather(variant)),
            "seller_sku": pl.Series(cat.sku[variant].astype(str)),
            "title": pl.Series(cat.title[variant].astype(str)),
            "quantity_ordered": quantity,
            "item_price_cents": item_price,
            "item_tax_cents": tax,
            "promotion_discount_cents": promotion,
            "shipping_price_cents": shipping.astype(np.int64),
            "_at": ts(time[line_order]),
            "_shipped_at": ts_or_null(shipped_at[line_order], ~cancelled[line_order]),
            "_variant": variant,
        }
    )
    return Marketplace(orders=orders.sort("amazon_order_id"), items=items.sort("order_item_id"))
