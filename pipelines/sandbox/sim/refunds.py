"""Refunds of web orders: lost and returned parcels in full, customer returns in full or part."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.context import DAY, Context, ts
from pipelines.sandbox.sim.ids import gapped_ids

RETURN_RATE = 0.085  # delivered orders that are (partly) returned
FULL_SHARE = 0.3  # of returns: every line refunded
RESTOCK_SHARE = 0.65  # of returns: the items go back on the shelf
NOTES = ["Customer return", "Wrong size", "Damaged item", "Changed mind", "Not as described"]


@dataclass(frozen=True)
class Refunds:
    """Refunds and refund lines (timeline)."""

    refunds: pl.DataFrame
    lines: pl.DataFrame


def refund_orders(
    ctx: Context, orders: pl.DataFrame, lines: pl.DataFrame, outcomes: pl.DataFrame
) -> Refunds:
    """Refund lost and returned-to-sender parcels in full, and some delivered orders."""
    rng = ctx.rng("refunds")
    outcome = outcomes.get_column("_outcome").to_numpy()
    at = outcomes.get_column("_outcome_at").to_numpy()
    n = len(outcome)
    lost = outcome == "failure"
    sent_back = outcome == "return_to_sender"
    returned = (outcome == "delivered") & (rng.random(n) < RETURN_RATE)
    chosen = lost | sent_back | returned
    full = lost | sent_back | (returned & (rng.random(n) < FULL_SHARE))
    when = at + np.where(
        returned, rng.integers(2 * DAY, 30 * DAY, n), rng.integers(DAY, 5 * DAY, n)
    )
    restock = np.where(
        lost,
        "NO_RESTOCK",
        np.where(sent_back | (rng.random(n) < RESTOCK_SHARE), "RETURN", "NO_RESTOCK"),
    )
    note = np.where(
        lost,
        "Lost in transit",
        np.where(sent_back, "Returned to sender", np.array(NOTES)[rng.integers(0, 5, n)]),
    )
    refunded = pl.DataFrame(
        {
            "order_id": outcomes.get_column("order_id"),
            "_when": when,
            "_full": full,
            "_restock": restock,
            "note": note,
        }
    ).filter(pl.Series(chosen))
    refunded = refunded.sort("_when", "order_id")
    refunded = refunded.with_columns(
        refund_id=pl.Series(gapped_ids(rng, refunded.height, 9_100_000_000_000))
    )
    candidate = lines.select(
        "line_item_id", "order_id", "quantity", "price_cents", "discount_cents"
    ).join(refunded, on="order_id", how="inner")
    m = candidate.height
    # a partial refund covers one line (some of its units); a full one every unit of every line
    pick = pl.Series(rng.random(m))
    candidate = candidate.with_columns(_pick=pick).with_columns(
        _chosen=pl.col("_full") | (pl.col("_pick") == pl.col("_pick").min().over("order_id")),
        _units=pl.Series(rng.random(m)),
    )
    refund_lines = (
        candidate.filter(pl.col("_chosen"))
        .rename({"quantity": "_ordered"})
        .with_columns(
            quantity=pl.when(pl.col("_full"))
            .then(pl.col("_ordered"))
            .otherwise((pl.col("_units") * pl.col("_ordered")).floor().cast(pl.Int64) + 1)
        )
        .with_columns(
            # the units' price less their share of the line discount, rounded in the shop's favour
            subtotal_cents=pl.col("price_cents") * pl.col("quantity")
            + (-pl.col("discount_cents") * pl.col("quantity")) // pl.col("_ordered"),
            restock_type=pl.col("_restock"),
            _at=pl.col("_when"),
        )
        .sort("refund_id", "line_item_id")
    )
    refund_lines = refund_lines.with_columns(
        refund_line_item_id=pl.Series(gapped_ids(rng, refund_lines.height, 10_500_000_000_000))
    ).select(
        "refund_line_item_id",
        "refund_id",
        "line_item_id",
        "quantity",
        "subtotal_cents",
        "restock_type",
        pl.col("_at").map_batches(lambda s: ts(s.to_numpy())),
        "order_id",
    )
    refunds = refunded.select(
        "refund_id",
        "order_id",
        pl.col("_when").map_batches(lambda s: ts(s.to_numpy())).alias("created_at"),
        "note",
    )
    return Refunds(refunds=refunds, lines=refund_lines)
