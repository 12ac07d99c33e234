"""Shipping web orders: Shopify fulfillments, ShipStation labels (a few voided), EasyPost tracks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.context import DAY, HOUR, MINUTE, SECOND, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import (
    DIGITS,
    HEX,
    UPPER_ALNUM,
    digits_of,
    gapped_ids,
    random_codes,
    strings,
)

WAREHOUSE_ID = 501_234  # ShipStation's id of the Reno warehouse
NEVER = np.iinfo(np.int64).max
VOID_RATE = 0.01
LOST_RATE = 0.01
RETURNED_RATE = 0.01
LATE_RATE = 0.11
# (carrier code, service code, EasyPost carrier, transit days lo..hi, label cost cents lo..hi)
SERVICES = [
    ("usps", "usps_priority_mail", "USPS", 2, 3, 800, 1_400),
    ("usps", "usps_ground_advantage", "USPS", 3, 5, 450, 900),
    ("ups", "ups_ground", "UPS", 3, 5, 900, 1_600),
    ("fedex", "fedex_home_delivery", "FedEx", 3, 5, 950, 1_700),
    ("ups", "ups_2nd_day_air", "UPS", 2, 2, 1_800, 3_200),
]
STANDARD_SHARES = [0.32, 0.2, 0.36, 0.12, 0.0]
EXPRESS_SHARES = [0.2, 0.0, 0.0, 0.0, 0.8]
MESSAGES = {
    "pre_transit": "Shipping label created, awaiting item",
    "in_transit": "Arrived at carrier facility",
    "in_transit_2": "Departed facility, in transit to next facility",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered, front door/porch",
    "failure": "Delivery exception: package lost in transit",
    "return_to_sender": "Returned to sender: insufficient address",
}
STEPS = list(MESSAGES)  # the steps of a tracking history, in the order they can happen


@dataclass(frozen=True)
class Shipping:
    """Timeline tables of shipping, and per-order outcomes for refunds and stock."""

    fulfillments: pl.DataFrame
    shipments: pl.DataFrame
    trackers: pl.DataFrame
    details: pl.DataFrame
    outcomes: pl.DataFrame  # order_id, _shipped (label time), _outcome, _outcome_at


def _tracking_numbers(rng: np.random.Generator, carrier: np.ndarray) -> pl.Series:
    """Carrier-shaped tracking numbers: UPS 1Z..., USPS 9400..., FedEx 12 digits."""
    n = len(carrier)
    ups = strings(random_codes(rng, n, 6, UPPER_ALNUM)) + strings(random_codes(rng, n, 10, DIGITS))
    usps = strings(random_codes(rng, n, 18, DIGITS))
    fedex = strings(random_codes(rng, n, 12, DIGITS))
    frame = pl.DataFrame({"c": carrier, "ups": ups, "usps": usps, "fedex": fedex})
    return frame.select(
        pl.when(pl.col("c") == "ups")
        .then("1Z" + pl.col("ups"))
        .when(pl.col("c") == "usps")
        .then("9400" + pl.col("usps"))
        .otherwise(pl.col("fedex"))
    ).to_series()


def ship_orders(ctx: Context, orders: pl.DataFrame, lines: pl.DataFrame) -> Shipping:
    """Label, ship and track every real web order that is not cancelled."""
    rng = ctx.rng("fulfilment")
    shipped = orders.filter(~pl.col("is_test") & pl.col("cancelled_at").is_null())
    n = shipped.height
    created = shipped.get_column("created_at").dt.epoch("us").to_numpy()
    express = shipped.get_column("_express").to_numpy()
    units = (
        lines.group_by("order_id")
        .agg(pl.col("quantity").sum())
        .join(shipped.select("order_id"), on="order_id", how="right")
        .get_column("quantity")
        .fill_null(1)
        .to_numpy()
    )
    order_day = created // DAY * DAY
    # ship 0-3 days after the order date; a voided label is replaced within hours (so its first
    # label is printed by day 2)
    voided = rng.random(n) < VOID_RATE
    lag = rng.choice(4, n, p=[0.35, 0.4, 0.18, 0.07])
    lag = np.where(voided, np.minimum(lag, 2), lag)
    label = order_day + lag * DAY + rng.integers(15 * HOUR, 23 * HOUR, n)
    label = np.where(
        label <= created + 30 * MINUTE, created + rng.integers(30, 120, n) * MINUTE, label
    )
    void_at = label + rng.integers(20 * MINUTE, 6 * HOUR, n)
    final_label = np.where(voided, void_at + rng.integers(10 * MINUTE, 2 * HOUR, n), label)

    service = np.where(
        express,
        rng.choice(len(SERVICES), n, p=EXPRESS_SHARES),
        rng.choice(len(SERVICES), n, p=STANDARD_SHARES),
    )
    table = np.array(SERVICES, dtype=object)
    transit_lo = table[service, 3].astype(np.int64)
    transit_hi = table[service, 4].astype(np.int64)
    transit = rng.integers(transit_lo, transit_hi + 1)
    ship_day = final_label // DAY * DAY
    est_day = ship_day + transit * DAY
    outcome = rng.random(n)
    lost = outcome < LOST_RATE
    returned = (outcome >= LOST_RATE) & (outcome < LOST_RATE + RETURNED_RATE)
    late = (outcome >= LOST_RATE + RETURNED_RATE) & (
        outcome < LOST_RATE + RETURNED_RATE + LATE_RATE
    )
    early = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    delivered_day = np.where(late, est_day + rng.integers(1, 5, n) * DAY, est_day - early * DAY)
    delivered_day = np.maximum(delivered_day, ship_day + 2 * DAY)
    t1 = ship_day + DAY + rng.integers(1 * HOUR, 5 * HOUR, n)
    ofd = delivered_day + rng.integers(12 * HOUR, 15 * HOUR, n)
    final = np.where(
        lost,
        est_day + 3 * DAY + rng.integers(14 * HOUR, 22 * HOUR, n),
        np.where(
            returned,
            est_day + 2 * DAY + rng.integers(14 * HOUR, 22 * HOUR, n),
            delivered_day + rng.integers(16 * HOUR, 23 * HOUR, n),
        ),
    )
    ofd = np.where(lost, NEVER, np.where(returned, est_day + 13 * HOUR, ofd))
    t2_present = (np.where(lost, final, ofd) - t1) > DAY
    t2 = t1 + (np.where(lost, final, ofd) - t1) // 2
    final_status = np.where(lost, "failure", np.where(returned, "return_to_sender", "delivered"))

    # shipments: the voided first labels, then every final label
    s_order = np.concatenate([np.flatnonzero(voided), np.arange(n)])
    s_label = np.concatenate([label[voided], final_label])
    s_void = np.concatenate([void_at[voided], np.full(n, NEVER)])
    s_service = np.concatenate(
        [rng.choice(len(SERVICES), int(voided.sum()), p=STANDARD_SHARES), service]
    )
    s_final = np.concatenate([np.full(int(voided.sum()), -1), np.arange(n)])
    sort = np.argsort(s_label, kind="stable")
    s_order, s_label, s_void = s_order[sort], s_label[sort], s_void[sort]
    s_service, s_final = s_service[sort], s_final[sort]
    m = len(s_order)
    shipment_ids = gapped_ids(rng, m, 180_000_000, 50)
    carrier_code = table[s_service, 0].astype(str)
    tracking = _tracking_numbers(rng, carrier_code)
    cost = rng.integers(table[s_service, 5].astype(np.int64), table[s_service, 6].astype(np.int64))
    insured = rng.random(m) < 0.1
    weight = units[s_order] * rng.integers(6, 21, m)
    sel = shipped.select(
        pl.col("order_id"),
        pl.col("name"),
        pl.col("email"),
        (pl.col("ship_first_name") + " " + pl.col("ship_last_name")).alias("ship_to_name"),
        pl.col("phone"),
        pl.col("ship_city"),
        pl.col("ship_province_code"),
        pl.col("ship_zip"),
        pl.col("ship_country_code"),
    )[s_order]
    s_voided = s_void < NEVER
    shipments = pl.DataFrame(
        {
            "shipment_id": shipment_ids,
            "order_id": sel.get_column("order_id"),
            "order_number": sel.get_column("name"),
            "customer_email": sel.get_column("email"),
            "ship_to_name": sel.get_column("ship_to_name"),
            "ship_to_phone": sel.get_column("phone"),
            "ship_to_city": sel.get_column("ship_city"),
            "ship_to_state": sel.get_column("ship_province_code"),
            "ship_to_postal_code": sel.get_column("ship_zip"),
            "ship_to_country": sel.get_column("ship_country_code"),
            "create_date": ts(s_label),
            "ship_date": ts(s_label).dt.date(),
            "carrier_code": pl.Series(carrier_code),
            "service_code": pl.Series(table[s_service, 1].astype(str)),
            "tracking_number": tracking,
            "shipment_cost_cents": cost,
            "insurance_cost_cents": np.where(insured, rng.integers(100, 300, m), 0),
            "weight_oz": weight,
            "warehouse_id": WAREHOUSE_ID,
            "voided": False,
            "void_date": ts_or_null(s_void, s_voided),
            "_person_id": shipped.get_column("person_id").to_numpy()[s_order],
        }
    )
    fulfillments = pl.DataFrame(
        {
            "fulfillment_id": gapped_ids(rng, m, 5_200_000_000_000),
            "order_id": sel.get_column("order_id"),
            "location_id": 71_245_000_017,
            "status": "SUCCESS",
            "tracking_company": pl.Series(table[s_service, 2].astype(str)),
            "tracking_number": tracking,
            "created_at": ts(s_label),
            "updated_at": ts(s_label),
            "_cancelled_at": ts_or_null(s_void, s_voided),
        }
    )

    # EasyPost trackers for the labels that were not voided, in tracker id order
    high = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64)
    low = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64)
    rows = np.flatnonzero(s_final >= 0)
    rows = rows[np.lexsort((low[rows], high[rows]))]
    k = s_final[rows]
    t_count = len(rows)
    tracker_ids = "trk_" + strings(
        np.hstack([digits_of(high[rows], 16, HEX), digits_of(low[rows], 16, HEX)])
    )
    trackers = pl.DataFrame(
        {
            "tracker_id": tracker_ids,
            "tracking_code": tracking.gather(rows),
            "carrier": pl.Series(table[s_service[rows], 2].astype(str)),
            "shipment_id": shipment_ids[rows],
            "status": "pre_transit",
            "est_delivery_date": ts(est_day[k] + DAY - SECOND),
            "delivered_at": pl.Series([None] * t_count, dtype=pl.Datetime("us", "UTC")),
            "created_at": ts(s_label[rows]),
            "updated_at": ts(s_label[rows]),
            "_t1": ts(t1[k]),
            "_t2": ts_or_null(t2[k], t2_present[k]),
            "_ofd": ts_or_null(ofd[k], ofd[k] < NEVER),
            "_final": ts(final[k]),
            "_final_status": pl.Series(final_status[k]),
        }
    )
    # tracking details: up to five slots per tracker, flattened tracker by tracker
    final_code = np.where(lost[k], 5, np.where(returned[k], 6, 4))
    when = np.column_stack([s_label[rows], t1[k], t2[k], ofd[k], final[k]])
    present = np.column_stack(
        [
            np.ones(t_count, bool),
            np.ones(t_count, bool),
            t2_present[k],
            ofd[k] < NEVER,
            np.ones(t_count, bool),
        ]
    )
    step = np.column_stack(
        [np.zeros(t_count), np.ones(t_count), np.full(t_count, 2), np.full(t_count, 3), final_code]
    ).astype(np.uint32)
    tracker, slot = np.nonzero(present)
    step = step[tracker, slot]
    statuses = pl.Series(
        [
            "pre_transit",
            "in_transit",
            "in_transit",
            "out_for_delivery",
            "delivered",
            "failure",
            "return_to_sender",
        ]
    )
    messages = pl.Series([MESSAGES[key] for key in STEPS])
    places = pl.DataFrame(
        {
            "slot": slot,
            "city": sel.get_column("ship_city").gather(rows).gather(tracker),
            "state": sel.get_column("ship_province_code").gather(rows).gather(tracker),
        }
    ).select(
        pl.when(pl.col("slot") < 2)
        .then(pl.lit("Reno"))
        .when(pl.col("slot") == 2)
        .then(pl.lit("Salt Lake City"))
        .otherwise(pl.col("city"))
        .cast(pl.Categorical)
        .alias("city"),
        pl.when(pl.col("slot") < 2)
        .then(pl.lit("NV"))
        .when(pl.col("slot") == 2)
        .then(pl.lit("UT"))
        .otherwise(pl.col("state"))
        .cast(pl.Categorical)
        .alias("state"),
    )
    details = pl.DataFrame(
        {
            "tracker_id": tracker_ids.gather(tracker),
            "seq": np.cumsum(present, axis=1)[tracker, slot].astype(np.int64),
            "datetime": ts(when[tracker, slot]),
            "status": statuses.gather(step).cast(pl.Categorical),
            "message": messages.gather(step).cast(pl.Categorical),
            "city": places.get_column("city"),
            "state": places.get_column("state"),
        }
    )
    outcomes = pl.DataFrame(
        {
            "order_id": shipped.get_column("order_id"),
            "_shipped": final_label,
            "_outcome": pl.Series(final_status),
            "_outcome_at": final,
        }
    )
    return Shipping(
        fulfillments=fulfillments,
        shipments=shipments,
        trackers=trackers,
        details=details,
        outcomes=outcomes,
    )
