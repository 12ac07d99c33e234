"""The simulated retailer: schema, determinism, invariants, truth, summary, advancing the clock."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.sandbox import schema
from pipelines.sandbox.generate import WorldError, advance_world, generate_world
from pipelines.sandbox.sim.cut import PRIMARY_KEYS

SMALL = 1_500  # people in the world most tests share
BUSY = 12_000  # people in the world of the realism and clock tests


def read(root: Path, table: str) -> pl.DataFrame:
    """A world table."""
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def clock_of(root: Path) -> datetime:
    """The served world's clock."""
    text = json.loads((root / "world" / "meta.json").read_text())["clock"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small")
    generate_world(root, people=SMALL, seed=7)
    return root


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default-seed world big enough that three days bring refunds and archivals for sure."""
    root = tmp_path_factory.mktemp("standard")
    generate_world(root, people=BUSY)
    return root


# --- structure -------------------------------------------------------------------------------


def test_every_world_table_is_written_with_its_schema(small: Path) -> None:
    for table, columns in schema.WORLD.items():
        frame = read(small, table)
        assert dict(frame.schema) == columns, table
        assert frame.height > 0, table
    truth = pl.read_parquet(small / "truth" / "identity.parquet")
    assert dict(truth.schema) == schema.TRUTH_IDENTITY


def test_meta_names_the_world_and_counts_its_rows(small: Path) -> None:
    meta = json.loads((small / "world" / "meta.json").read_text())
    assert meta["seed"] == 7 and meta["scale"] == "S" and meta["people"] == SMALL
    for key in ("start", "horizon", "clock"):
        assert meta[key].endswith("Z")
    assert meta["rows"] == {table: read(small, table).height for table in schema.WORLD}
    assert meta["rows"]["people"] == SMALL


def test_ids_are_unique_and_rows_sorted_by_them(small: Path) -> None:
    for table, keys in PRIMARY_KEYS.items():
        ids = read(small, table).select(keys)
        assert ids.is_duplicated().sum() == 0, table
        assert ids.equals(ids.sort(keys)), table


def test_same_parameters_give_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate_world(first, people=300, seed=3)
    generate_world(second, people=300, seed=3)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    # world tables + meta, timeline tables (inventory levels are derived at the cut) + meta, truth
    assert len(files) == (len(schema.WORLD) + 1) + len(schema.WORLD) + 2
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_another_seed_gives_another_world(tmp_path: Path, small: Path) -> None:
    generate_world(tmp_path, people=SMALL, seed=8)
    assert read(tmp_path, "people")["email"].to_list() != read(small, "people")["email"].to_list()


# --- invariants ------------------------------------------------------------------------------


def test_web_order_totals_add_up(small: Path) -> None:
    lines = (
        read(small, "shopify_order_lines")
        .group_by("order_id")
        .agg(
            (pl.col("price_cents") * pl.col("quantity")).sum().alias("gross"),
            pl.col("discount_cents").sum().alias("discounts"),
        )
    )
    orders = read(small, "shopify_orders").join(lines, on="order_id", how="left")
    assert orders["gross"].null_count() == 0
    assert (orders["subtotal_cents"] == orders["gross"]).all()
    assert (orders["total_discounts_cents"] == orders["discounts"]).all()
    total = (
        orders["subtotal_cents"]
        - orders["total_discounts_cents"]
        + orders["total_tax_cents"]
        + orders["total_shipping_cents"]
    )
    assert (orders["total_price_cents"] == total).all()
    # taxes 7-9% of the discounted subtotal
    taxed = orders.filter(pl.col("subtotal_cents") > 5_000)
    rate = taxed["total_tax_cents"] / (taxed["subtotal_cents"] - taxed["total_discounts_cents"])
    assert rate.min() >= 0.069 and rate.max() <= 0.091


def test_refunds_never_exceed_what_was_paid(small: Path) -> None:
    lines = read(small, "shopify_order_lines")
    refunded = (
        read(small, "shopify_refund_lines")
        .group_by("line_item_id")
        .agg(
            pl.col("subtotal_cents").sum().alias("refunded"),
            pl.col("quantity").sum().alias("units"),
        )
    )
    joined = refunded.join(lines, on="line_item_id", how="left")
    assert joined["order_id"].null_count() == 0
    paid = joined["price_cents"] * joined["quantity"] - joined["discount_cents"]
    assert (joined["refunded"] <= paid).all()
    assert (joined["units"] <= joined["quantity"]).all()
    assert (joined["refunded"] > 0).all()
    per_order = joined.group_by("order_id").agg(pl.col("refunded").sum())
    orders = read(small, "shopify_orders").join(per_order, on="order_id", how="left")
    assert (orders["total_refunded_cents"] == orders["refunded"].fill_null(0)).all()
    refunds = read(small, "shopify_refunds").join(
        orders.select("order_id", "created_at", "cancelled_at", "is_test"), on="order_id"
    )
    assert (refunds["created_at"] > refunds["created_at_right"]).all()
    assert refunds["cancelled_at"].null_count() == refunds.height
    assert not refunds["is_test"].any()


def test_shipments_follow_their_orders(small: Path) -> None:
    orders = read(small, "shopify_orders").select(
        "order_id", "name", pl.col("created_at").alias("ordered_at"), "is_test", "cancelled_at"
    )
    shipments = read(small, "shipstation_shipments").join(orders, on="order_id", how="left")
    assert shipments["ordered_at"].null_count() == 0
    assert (shipments["order_number"] == shipments["name"]).all()
    lag = (shipments["ship_date"] - shipments["ordered_at"].dt.date()).dt.total_days()
    assert lag.min() >= 0 and lag.max() <= 3
    assert (shipments["create_date"] >= shipments["ordered_at"]).all()
    assert not shipments["is_test"].any()
    voided = shipments.filter(pl.col("voided"))
    assert voided.height > 0 and (voided["void_date"] >= voided["create_date"]).all()
    assert shipments.filter(~pl.col("voided"))["void_date"].null_count() == (
        shipments.height - voided.height
    )
    trackers = read(small, "easypost_trackers").join(
        shipments.select("shipment_id", "ship_date", "voided"), on="shipment_id", how="left"
    )
    assert trackers["ship_date"].null_count() == 0 and not trackers["voided"].any()
    delivered = trackers.filter(pl.col("delivered_at").is_not_null())
    assert (delivered["delivered_at"].dt.date() >= delivered["ship_date"]).all()
    assert (trackers["est_delivery_date"].dt.date() > trackers["ship_date"]).all()


def test_tracker_status_is_its_last_detail(small: Path) -> None:
    details = read(small, "easypost_tracking_details")
    assert (details["datetime"] <= clock_of(small)).all()
    last = (
        details.sort("tracker_id", "seq")
        .group_by("tracker_id")
        .agg(
            pl.col("status").last().alias("last_status"),
            pl.col("datetime").last().alias("last_at"),
            pl.col("datetime").is_sorted().alias("ordered"),
        )
    )
    trackers = read(small, "easypost_trackers").join(last, on="tracker_id", how="left")
    assert trackers["last_status"].null_count() == 0
    assert (trackers["status"] == trackers["last_status"]).all()
    assert (trackers["updated_at"] == trackers["last_at"]).all()
    assert trackers["ordered"].all()
    assert ((trackers["status"] == "delivered") == trackers["delivered_at"].is_not_null()).all()
    counts = trackers["status"].value_counts()
    assert {"delivered", "failure", "return_to_sender"} <= set(counts["status"])


def test_statuses_follow_their_events(small: Path) -> None:
    orders = read(small, "shopify_orders")
    voided = orders.filter(pl.col("financial_status") == "VOIDED")
    assert (voided["cancelled_at"].is_not_null()).all()
    partially = orders.filter(pl.col("financial_status") == "PARTIALLY_REFUNDED")
    assert (partially["total_refunded_cents"] > 0).all()
    fulfilled = read(small, "shopify_fulfillments").filter(pl.col("status") == "SUCCESS")
    is_fulfilled = orders["order_id"].is_in(fulfilled["order_id"].implode())
    assert ((orders["fulfillment_status"] == "FULFILLED") == is_fulfilled).all()
    amazon = read(small, "amazon_orders")
    shipped = amazon.filter(pl.col("order_status") == "Shipped")
    assert (shipped["number_of_items_unshipped"] == 0).all()
    assert (shipped["number_of_items_shipped"] > 0).all()
    levels = read(small, "inventory_levels")
    assert (levels["on_hand"] >= 0).all()
    assert (levels["available"] == levels["on_hand"] - levels["committed"]).all()
    moves = (
        read(small, "inventory_movements")
        .group_by("inventory_item_id", "location_id")
        .agg(pl.col("delta").sum())
    )
    check = levels.join(moves, on=["inventory_item_id", "location_id"], how="left")
    assert (check["on_hand"] == check["delta"]).all()
    assert read(small, "locations")["kind"].sort().to_list() == ["amazon_fba", "popup", "warehouse"]


def test_recovered_checkouts_precede_their_order(small: Path) -> None:
    checkouts = read(small, "shopify_abandoned_checkouts")
    assert checkouts["completed_at"].null_count() == checkouts.height
    orders = read(small, "shopify_orders").filter(pl.col("checkout_id").is_not_null())
    joined = orders.join(checkouts, on="checkout_id", how="left", suffix="_checkout")
    assert joined["person_id_checkout"].null_count() == 0
    assert (joined["person_id"] == joined["person_id_checkout"]).all()
    gap = joined["created_at"] - joined["created_at_checkout"]
    assert (gap > timedelta(0)).all() and (gap <= timedelta(days=7)).all()


def test_truth_covers_every_person_record_once(small: Path) -> None:
    truth = pl.read_parquet(small / "truth" / "identity.parquet")
    assert truth.select("source", "record_type", "record_id").is_duplicated().sum() == 0
    orders = read(small, "shopify_orders").select("order_id", "person_id")
    expected = []
    for (source, record_type), (table, column) in schema.TRUTH_RECORD_TYPES.items():
        frame = read(small, table)
        if "person_id" not in frame.columns:
            frame = frame.join(orders, on="order_id", how="left")
        if source == "shopify":
            kind = schema.SHOPIFY_GID_TYPES[record_type]
            ids = [schema.shopify_gid(kind, v) for v in frame[column].to_list()]
        else:
            ids = [str(v) for v in frame[column].to_list()]
        expected.append(
            pl.DataFrame(
                {
                    "source": source,
                    "record_type": record_type,
                    "record_id": ids,
                    "person_id": frame["person_id"],
                }
            )
        )
    world = pl.concat(expected)
    assert world["person_id"].null_count() == 0
    joined = world.join(truth, on=["source", "record_type", "record_id"], how="full", coalesce=True)
    assert joined.height == world.height == truth.height
    assert (joined["person_id"] == joined["person_id_right"]).all()
    people = read(small, "people")["person_id"]
    assert truth["person_id"].is_in(people.implode()).all()
    assert set(truth["source"]) == {"shopify", "amazon", "pos", "hubspot", "klaviyo", "shipstation"}


def test_world_holds_nothing_after_the_clock(small: Path) -> None:
    clock = clock_of(small)
    created = {
        "people": "joined_at",
        "shopify_orders": "created_at",
        "shopify_refunds": "created_at",
        "amazon_orders": "purchase_date",
        "pos_transactions": "occurred_at",
        "hubspot_contacts": "createdate",
        "klaviyo_events": "datetime",
        "shipstation_shipments": "create_date",
        "inventory_movements": "occurred_at",
    }
    for table, column in created.items():
        assert read(small, table)[column].max() <= clock, table
    assert read(small, "shopify_orders")["cancelled_at"].max() <= clock
    assert read(small, "hubspot_contacts")["archived_at"].max() <= clock


# --- summary ---------------------------------------------------------------------------------


def _expected_summary(root: Path) -> dict:
    """summary.json's figures, computed here from the world files (in cents and counts)."""
    orders = read(root, "shopify_orders").filter(
        ~pl.col("is_test") & pl.col("cancelled_at").is_null()
    )
    lines = read(root, "shopify_order_lines").filter(
        pl.col("order_id").is_in(orders["order_id"].implode())
    )
    refunds = read(root, "shopify_refund_lines").join(
        lines.select("line_item_id"), on="line_item_id", how="semi"
    )
    amazon = read(root, "amazon_orders").filter(pl.col("order_status") != "Canceled")
    items = read(root, "amazon_order_items").filter(
        pl.col("amazon_order_id").is_in(amazon["amazon_order_id"].implode())
    )
    pos = read(root, "pos_transactions")
    pos_lines = read(root, "pos_lines")
    channels = {
        "web": (
            orders.height,
            int((lines["price_cents"] * lines["quantity"]).sum()),
            int(lines["discount_cents"].sum()),
            int(refunds["subtotal_cents"].sum()),
        ),
        "amazon": (
            amazon.height,
            int(items["item_price_cents"].sum()),
            int(items["promotion_discount_cents"].sum()),
            0,
        ),
        "pos": (
            pos.height,
            int(pos_lines["gross_cents"].sum()),
            int(pos_lines["discount_cents"].sum()),
            0,
        ),
    }
    channels["total"] = tuple(sum(v[i] for v in channels.values()) for i in range(4))
    counted = pl.concat(
        [
            orders.select("person_id", pl.col("created_at").alias("at")),
            amazon.select("person_id", pl.col("purchase_date").alias("at")),
            pos.select("person_id", pl.col("occurred_at").alias("at")),
        ]
    )
    per_person = counted["person_id"].value_counts()
    trackers = read(root, "easypost_trackers").filter(pl.col("delivered_at").is_not_null())
    live = read(root, "shipstation_shipments").filter(~pl.col("voided"))["shipment_id"]
    delivered = trackers.filter(pl.col("shipment_id").is_in(live.implode()))
    on_time = delivered.filter(
        pl.col("delivered_at").dt.date() <= pl.col("est_delivery_date").dt.date()
    )
    checkouts = read(root, "shopify_abandoned_checkouts")
    pairs = checkouts.join(counted, on="person_id").filter(
        (pl.col("at") > pl.col("created_at"))
        & (pl.col("at") <= pl.col("created_at") + timedelta(days=7))
    )
    return {
        "channels": channels,
        "buyers": per_person.height,
        "repeaters": per_person.filter(pl.col("count") >= 2).height,
        "delivered": delivered.height,
        "on_time": on_time.height,
        "abandoned": checkouts.height,
        "recovered": pairs["checkout_id"].n_unique(),
    }


def test_summary_matches_the_world_to_the_cent(small: Path) -> None:
    summary = json.loads((small / "truth" / "summary.json").read_text())
    expected = _expected_summary(small)
    for name, (orders, gross, discounts, refunds) in expected["channels"].items():
        block = summary["total"] if name == "total" else summary["channels"][name]
        net = gross - discounts - refunds
        assert block["orders"] == orders, name
        cents = {
            key: round(block[key] * 100)
            for key in ("gross_revenue", "discounts", "refunds", "net_revenue", "aov")
        }
        assert cents["gross_revenue"] == gross, name
        assert cents["discounts"] == discounts, name
        assert cents["refunds"] == refunds, name
        assert cents["net_revenue"] == net, name
        assert abs(cents["aov"] - net / orders) <= 0.5, name
    assert summary["people_who_ordered"] == expected["buyers"]
    assert summary["repeat_purchase_rate"] == round(expected["repeaters"] / expected["buyers"], 4)
    assert summary["on_time_delivery_rate"] == round(expected["on_time"] / expected["delivered"], 4)
    assert summary["abandoned_checkouts"] == expected["abandoned"]
    assert summary["recovered_checkouts"] == expected["recovered"]
    assert summary["seed"] == 7 and summary["scale"] == "S"
    assert summary["clock"] == json.loads((small / "world" / "meta.json").read_text())["clock"]


def test_the_business_looks_like_a_retailer(standard: Path) -> None:
    summary = json.loads((standard / "truth" / "summary.json").read_text())
    orders = read(standard, "shopify_orders").filter(~pl.col("is_test"))
    assert 0.03 <= orders["cancelled_at"].is_not_null().mean() <= 0.05
    counted = orders.filter(pl.col("cancelled_at").is_null())
    assert 0.08 <= (counted["total_refunded_cents"] > 0).mean() <= 0.12
    assert {"PARTIALLY_REFUNDED", "REFUNDED"} <= set(counted["financial_status"])
    assert counted["discount_code"].n_unique() >= 5
    assert read(standard, "shopify_orders")["is_test"].sum() >= 5
    assert 0.15 <= summary["repeat_purchase_rate"] <= 0.45
    assert 0.85 <= summary["on_time_delivery_rate"] <= 0.92
    web_orders = summary["channels"]["web"]["orders"]
    assert 2 <= summary["abandoned_checkouts"] / web_orders <= 3
    assert 0.10 <= summary["recovered_checkouts"] / summary["abandoned_checkouts"] <= 0.15
    assert all(summary["channels"][c]["orders"] > 0 for c in ("web", "amazon", "pos"))
    monthly = counted.group_by(pl.col("created_at").dt.month().alias("m")).len()
    by_month = dict(zip(monthly["m"], monthly["len"], strict=True))
    assert by_month[12] > 1.3 * by_month[2]  # the holiday peak
    products, variants = read(standard, "products"), read(standard, "variants")
    assert 40 <= products.height <= 80 and 150 <= variants.height <= 300
    profiles = read(standard, "klaviyo_profiles")
    events = read(standard, "klaviyo_events")
    assert 5 <= events.height / profiles.height <= 15
    metrics = dict(
        zip(
            read(standard, "klaviyo_metrics")["metric_id"],
            read(standard, "klaviyo_metrics")["name"],
            strict=True,
        )
    )
    sent = (
        events.filter(pl.col("campaign_id").is_not_null())["metric_id"]
        .replace_strict(metrics)
        .value_counts()
    )
    rate = dict(zip(sent["metric_id"], sent["count"], strict=True))
    received = rate["Received Email"]
    assert 0.2 <= rate["Opened Email"] / received <= 0.4
    assert 0.02 <= rate["Clicked Email"] / received <= 0.05
    assert 0.001 <= rate["Unsubscribed"] / received <= 0.006
    assert set(profiles["email_consent"]) == {"SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED"}


def test_opening_the_reminder_makes_recovery_likelier(standard: Path) -> None:
    flows = read(standard, "klaviyo_flows")
    assert {"Welcome Series", "Abandoned Checkout"} <= set(flows["name"])
    reminder = flows.filter(pl.col("name") == "Abandoned Checkout")["flow_id"][0]
    metrics = read(standard, "klaviyo_metrics")
    names = dict(zip(metrics["metric_id"], metrics["name"], strict=True))
    emails = (
        read(standard, "klaviyo_events")
        .filter(pl.col("flow_id") == reminder)
        .with_columns(metric=pl.col("metric_id").replace_strict(names))
        .join(read(standard, "klaviyo_profiles").select("profile_id", "person_id"), on="profile_id")
        .select("person_id", "metric", "datetime")
    )
    checkouts = read(standard, "shopify_abandoned_checkouts").select(
        "checkout_id", "person_id", "created_at"
    )
    orders = read(standard, "shopify_orders").filter(
        ~pl.col("is_test") & pl.col("cancelled_at").is_null()
    )
    recovered = (
        checkouts.join(orders.select("person_id", pl.col("created_at").alias("at")), on="person_id")
        .filter(
            (pl.col("at") > pl.col("created_at"))
            & (pl.col("at") <= pl.col("created_at") + timedelta(days=7))
        )["checkout_id"]
        .unique()
    )
    reminded = (
        checkouts.join(emails, on="person_id")
        .filter(
            (pl.col("datetime") > pl.col("created_at"))
            & (pl.col("datetime") <= pl.col("created_at") + timedelta(hours=30))
        )
        .group_by("checkout_id")
        .agg((pl.col("metric") == "Opened Email").any().alias("opened"))
        .with_columns(recovered=pl.col("checkout_id").is_in(recovered.implode()))
    )
    rates = dict(reminded.group_by("opened").agg(pl.col("recovered").mean()).iter_rows())
    assert rates[True] > 1.3 * rates[False]


# --- advancing the clock ---------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, pl.DataFrame]:
    return {table: read(root, table).select(keys) for table, keys in PRIMARY_KEYS.items()}


def test_advance_moves_the_world_forward(standard: Path, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    shutil.copytree(standard, root)
    before = _snapshot(root)
    clock = clock_of(root)
    refunds = read(root, "shopify_refunds")
    delivered = read(root, "easypost_trackers")["delivered_at"].is_not_null().sum()
    archived = read(root, "hubspot_contacts")["archived_at"].is_not_null().sum()

    info = advance_world(root, 3)

    assert info.clock == clock + timedelta(days=3) == clock_of(root)
    after = _snapshot(root)
    for table, keys in PRIMARY_KEYS.items():
        kept = before[table].join(after[table], on=keys, how="anti")
        assert kept.height == 0, f"{table} lost rows"
    assert after["shopify_orders"].height > before["shopify_orders"].height
    assert after["people"].height > before["people"].height
    new_refunds = read(root, "shopify_refunds").join(refunds, on="refund_id", how="anti")
    old_orders = before["shopify_orders"]["order_id"].implode()
    assert new_refunds.filter(pl.col("order_id").is_in(old_orders)).height > 0
    assert read(root, "easypost_trackers")["delivered_at"].is_not_null().sum() > delivered
    assert read(root, "hubspot_contacts")["archived_at"].is_not_null().sum() > archived
    summary = json.loads((root / "truth" / "summary.json").read_text())
    assert summary["clock"] == json.loads((root / "world" / "meta.json").read_text())["clock"]
    truth = pl.read_parquet(root / "truth" / "identity.parquet")
    assert truth.height > pl.read_parquet(standard / "truth" / "identity.parquet").height


def test_advance_past_the_horizon_is_refused(standard: Path, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    shutil.copytree(standard, root)
    with pytest.raises(WorldError, match="timeline ends"):
        advance_world(root, 400)
    assert clock_of(root) == clock_of(standard)


def test_advance_without_a_world_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="no sandbox world"):
        advance_world(tmp_path / "nothing", 1)


def test_unknown_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sandbox scale"):
        generate_world(tmp_path, scale="XL")
