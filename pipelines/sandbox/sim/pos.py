"""Sales at the pop-up shop's till, with whatever email or phone the cashier typed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.catalog import Catalog
from pipelines.sandbox.sim.commerce import POS, Plan
from pipelines.sandbox.sim.context import Context, ts
from pipelines.sandbox.sim.noise import (
    JUNK_EMAILS,
    JUNK_PHONES,
    NOISE_RATES,
    type_emails,
    type_phones,
)
from pipelines.sandbox.sim.people import Population

EVENT_DISCOUNT_RATE = 0.08  # sales with the 10% pop-up event discount


@dataclass(frozen=True)
class Till:
    """POS transactions and lines (timeline)."""

    transactions: pl.DataFrame
    lines: pl.DataFrame


def _junked(rng: np.random.Generator, typed: pl.Series, junk: tuple[str, ...]) -> pl.Series:
    """Replace a share of the typed values by junk values."""
    n = len(typed)
    values = pl.Series(np.array(junk)[rng.integers(0, len(junk), n)])
    use = pl.Series(rng.random(n) < NOISE_RATES["pos_junk"]) & typed.is_not_null()
    chosen = pl.when(pl.lit(use)).then(pl.lit(values)).otherwise(pl.lit(typed))
    return pl.select(chosen.alias(typed.name)).to_series()


def pos_sales(ctx: Context, pop: Population, cat: Catalog, plan: Plan) -> Till:
    """Build the pop-up's transactions and lines."""
    rng = ctx.rng("pos")
    chosen = plan.channel == POS
    person, time = plan.person[chosen], plan.time[chosen]
    n = len(time)
    people = pop.frame
    rates = [NOISE_RATES[k] for k in ("pos_no_identifier", "pos_email_only", "pos_phone_only")]
    kind = np.searchsorted(np.cumsum(rates), rng.random(n), side="right")  # 3 = both
    email = type_emails(rng, people.get_column("email").gather(person))
    phone = type_phones(rng, people.get_column("phone").gather(person))
    email = email.set(pl.Series((kind != 1) & (kind != 3)), None)
    phone = phone.set(pl.Series((kind != 2) & (kind != 3)), None)
    location = cat.location_id["popup"]
    numbers = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(7)
    ids = f"POS-{location}-" + numbers

    line_order, variant, quantity = cat.lines(rng, time, "pos")
    gross = cat.price[variant] * quantity
    discounted = (rng.random(n) < EVENT_DISCOUNT_RATE)[line_order]
    discount = np.where(discounted, np.round(gross * 0.1), 0).astype(np.int64)
    first = np.searchsorted(line_order, line_order, side="left")
    transactions = pl.DataFrame(
        {
            "transaction_id": ids,
            "person_id": person + 1,
            "location_id": location,
            "occurred_at": ts(time),
            "email": _junked(rng, email, JUNK_EMAILS),
            "phone": _junked(rng, phone, JUNK_PHONES),
        }
    )
    lines = pl.DataFrame(
        {
            "transaction_id": ids.gather(line_order),
            "line_no": np.arange(len(line_order)) - first + 1,
            "sku": pl.Series(cat.sku[variant].astype(str)),
            "quantity": quantity,
            "gross_cents": gross,
            "discount_cents": discount,
            "net_cents": gross - discount,
            "_at": ts(time[line_order]),
            "_variant": variant,
        }
    )
    return Till(transactions=transactions, lines=lines)
