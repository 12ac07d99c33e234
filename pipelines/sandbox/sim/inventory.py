"""Stock movements per SKU x location: receipts ahead of demand, sales, returns, shrinkage."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.sandbox.sim.catalog import Catalog
from pipelines.sandbox.sim.context import DAY, HOUR, Context, ts
from pipelines.sandbox.sim.ids import gapped_ids

PERIOD = 28 * DAY  # stock is received at the start of every period
BASELINE = 5  # units kept on top of the period's demand for every live SKU
SHRINKAGE_RATE = 0.03  # (SKU, location, period) with a negative adjustment
NEVER = np.iinfo(np.int64).max


def stock_movements(
    ctx: Context,
    cat: Catalog,
    sales: pl.DataFrame,
    returns: pl.DataFrame,
) -> pl.DataFrame:
    """Every change of on-hand stock, sorted by time.

    ``sales`` and ``returns`` have columns ``_variant``, ``location_id``, ``_at`` (us), ``units``.
    """
    rng = ctx.rng("inventory")
    origin = ctx.start_us - DAY
    periods = int((ctx.horizon_us - origin) // PERIOD) + 2
    carried = {
        cat.location_id["warehouse"]: np.ones(len(cat.price), bool),
        cat.location_id["amazon_fba"]: cat.variants.get_column("_on_amazon").to_numpy(),
        cat.location_id["popup"]: cat.variants.get_column("_at_popup").to_numpy(),
    }
    opened = dict(
        zip(
            cat.locations.get_column("location_id").to_list(),
            cat.locations.get_column("created_at").dt.epoch("us").to_list(),
            strict=True,
        )
    )
    demand = (
        sales.with_columns(_period=(pl.col("_at") - origin) // PERIOD)
        .group_by("_variant", "location_id", "_period")
        .agg(pl.col("units").sum().alias("demand"))
    )
    grid = []
    for location_id, mask in carried.items():
        variants = np.flatnonzero(mask)
        grid.append(
            pl.DataFrame(
                {
                    "_variant": np.repeat(variants, periods),
                    "location_id": np.full(len(variants) * periods, location_id, dtype=np.int64),
                    "_period": np.tile(np.arange(periods), len(variants)),
                }
            )
        )
    plan = (
        pl.concat(grid)
        .join(demand, on=["_variant", "location_id", "_period"], how="left")
        .with_columns(pl.col("demand").fill_null(0))
    )
    variant = plan.get_column("_variant").to_numpy()
    location = plan.get_column("location_id").to_numpy()
    period_start = origin + plan.get_column("_period").to_numpy() * PERIOD
    loc_open = np.zeros(len(location), dtype=np.int64)
    for loc, at in opened.items():
        loc_open[location == loc] = at
    starts = np.maximum.reduce([period_start, cat.created[variant], loc_open])
    ends = period_start + PERIOD
    live = (starts < ends) & (cat.retired[variant] > starts)
    demand_units = plan.get_column("demand").to_numpy()
    extra = np.ceil(demand_units * rng.uniform(0.1, 0.4, len(variant))).astype(np.int64)
    received = demand_units + extra + np.where(live, BASELINE, 0)
    receipt_at = starts + 8 * HOUR
    has_receipt = (received > 0) & (starts < ends)
    shrink = live & (rng.random(len(variant)) < SHRINKAGE_RATE)
    shrink_at = receipt_at + rng.integers(DAY, PERIOD - DAY, len(variant))
    shrink_at = np.minimum(shrink_at, ends - HOUR)
    shrink_ok = shrink & (shrink_at > receipt_at)

    parts = [
        pl.DataFrame(
            {
                "_variant": variant[has_receipt],
                "location_id": location[has_receipt],
                "_at": receipt_at[has_receipt],
                "delta": received[has_receipt],
                "reason": "received",
            }
        ),
        pl.DataFrame(
            {
                "_variant": variant[shrink_ok],
                "location_id": location[shrink_ok],
                "_at": shrink_at[shrink_ok],
                "delta": -rng.integers(1, 3, int(shrink_ok.sum())),
                "reason": "adjustment",
            }
        ),
        sales.select(
            "_variant",
            "location_id",
            "_at",
            (-pl.col("units")).alias("delta"),
            pl.lit("sold").alias("reason"),
        ),
        returns.select(
            "_variant",
            "location_id",
            "_at",
            pl.col("units").alias("delta"),
            pl.lit("returned").alias("reason"),
        ),
    ]
    moves = (
        pl.concat(parts, how="vertical_relaxed")
        .with_columns(pl.col("_variant").cast(pl.Int64), pl.col("location_id").cast(pl.Int64))
        .sort("_at", "location_id", "_variant", "reason")
    )
    v = moves.get_column("_variant").to_numpy()
    return pl.DataFrame(
        {
            "movement_id": gapped_ids(rng, moves.height, 0, 3),
            "inventory_item_id": cat.variants.get_column("inventory_item_id").to_numpy()[v],
            "location_id": moves.get_column("location_id"),
            "sku": pl.Series(cat.sku[v].astype(str)),
            "occurred_at": ts(moves.get_column("_at").to_numpy()),
            "delta": moves.get_column("delta"),
            "reason": moves.get_column("reason"),
        }
    )
