"""The ShipStation source against the sandbox: labels land as the world holds them (times in UTC),
the look-back window catches late labels, the voids pass applies voids, the rate limit is paced,
faults change nothing, and bad credentials say which setting to fix."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.ingest import SourceRun
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.schema import conform
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox
from pipelines.sources.shipstation.helpers import RateLimitPacer
from tests.pipelines.conftest import FaultyIngest, assert_failed_naming_setting, query, snapshot

PACIFIC = "America/Los_Angeles"
LOOKBACK = timedelta(days=3)


def world(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / "shipstation_shipments.parquet")


def pacific(moment: Any) -> str:
    """A UTC instant as the Pacific wall time ShipStation's filters take."""
    series = pl.Series([moment]).dt.convert_time_zone(PACIFIC)
    return str(series.dt.strftime("%Y-%m-%d %H:%M:%S")[0])


def assert_shipments_match_world(root: Path) -> None:
    expected = world(root)
    rows = query(
        "select shipment_id, epoch_us(create_date), ship_date, voided, epoch_us(void_date), "
        "shipment_cost, customer_email, ship_to__name, tracking_number "
        "from raw_shipstation.shipments"
    )
    columns = ["shipment_id", "create_us", "ship_date", "voided", "void_us", "cost"]
    columns += ["customer_email", "ship_to_name", "tracking_number"]
    landed = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    assert landed.height == expected.height
    assert landed["shipment_id"].n_unique() == landed.height
    # a wall time in the hour repeated when DST ends is ambiguous: ShipStation's format loses
    # which one it was, and it is read as the first (PDT)
    wall = pl.col("create_date").dt.convert_time_zone(PACIFIC).dt.replace_time_zone(None)
    first = wall.dt.replace_time_zone(PACIFIC, ambiguous="earliest").dt.convert_time_zone("UTC")
    joined = expected.with_columns(ambiguous=first != pl.col("create_date")).join(
        landed, on="shipment_id", how="left"
    )
    clear = joined.filter(~pl.col("ambiguous"))
    assert clear.height >= joined.height - 2
    assert clear["create_us"].to_list() == clear["create_date"].dt.epoch("us").to_list()
    assert joined["ship_date_right"].to_list() == joined["ship_date"].to_list()
    assert joined["voided_right"].to_list() == joined["voided"].to_list()
    assert joined["void_us"].to_list() == joined["void_date"].dt.epoch("us").to_list()
    cents = [int(cost * 100) for cost in joined["cost"]]
    assert cents == joined["shipment_cost_cents"].to_list()
    for column in ("customer_email", "ship_to_name", "tracking_number"):
        assert joined[f"{column}_right"].to_list() == joined[column].to_list(), column


def shipment_calls(server: SandboxHTTPServer) -> list[dict[str, Any]]:
    return [e for e in server.log.entries("shipstation") if e["path"] == "/shipments"]


def assert_asked_only_the_windows(server: SandboxHTTPServer, loaded: pl.DataFrame) -> None:
    """One page for labels since the newest createDate loaded - 3 days, one for voids since the
    newest voidDate loaded - 3 days (the small world fits each in a page)."""
    calls = shipment_calls(server)
    assert len(calls) == 2
    created, voided = calls
    create_start = pacific(loaded["create_date"].max() - LOOKBACK)
    assert created["query"]["createDateStart"] == [create_start]
    assert created["query"]["sortBy"] == ["CreateDate"]
    assert voided["query"]["voidDateStart"] == [pacific(loaded["void_date"].max() - LOOKBACK)]


def test_shipstation_full_load_lands_the_world_and_a_second_run_loads_nothing(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    [run] = ingest("shipstation")

    assert run.status == "succeeded", run.error
    assert_shipments_match_world(sandbox_root)
    types = dict(
        query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_shipstation' and table_name = 'shipments'"
        )
    )
    assert types["shipment_cost"] == "DECIMAL(18,2)"
    assert types["create_date"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ship_date"] == "DATE"

    sandbox_server.log.clear()
    [again] = ingest("shipstation")

    assert again.status == "succeeded", again.error
    assert again.rows == {}
    assert_asked_only_the_windows(sandbox_server, world(sandbox_root))


def test_shipstation_picks_up_new_late_and_voided_labels(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    ingest("shipstation")
    new = pl.DataFrame()
    while new.height == 0:  # a day at a time until new labels were bought
        loaded = world(sandbox_root)
        advance_world(sandbox_root, 1)
        sandbox_server.log.clear()

        [run] = ingest("shipstation")

        assert run.status == "succeeded", run.error
        new = world(sandbox_root).join(loaded, on="shipment_id", how="anti")
        assert run.rows.get("shipments", 0) == new.height
        assert_asked_only_the_windows(sandbox_server, loaded)
        assert_shipments_match_world(sandbox_root)

    # ShipStation side: a label bought two days ago shows up only now, and a recent one is voided
    shipments = world(sandbox_root)
    newest = shipments["create_date"].max()
    recent = shipments.filter(~pl.col("voided")).sort("create_date")[-1]["shipment_id"][0]
    late = shipments[-1].with_columns(
        shipment_id=pl.lit(shipments["shipment_id"].max() + 1),
        create_date=pl.lit(newest - timedelta(days=2)).dt.cast_time_unit("us"),
        tracking_number=pl.lit("LATE-LABEL-1"),
    )
    edited = pl.concat([shipments, conform("shipstation_shipments", late)]).with_columns(
        voided=pl.when(pl.col("shipment_id") == recent).then(True).otherwise(pl.col("voided")),
        void_date=pl.when(pl.col("shipment_id") == recent)
        .then(pl.lit(newest + timedelta(hours=1)).dt.cast_time_unit("us"))
        .otherwise(pl.col("void_date")),
    )
    edited.write_parquet(sandbox_root / "world" / "shipstation_shipments.parquet")
    meta = sandbox_root / "world" / "meta.json"
    meta.write_text(json.dumps(json.loads(meta.read_text())))
    os.utime(meta, (time.time() + 5, time.time() + 5))  # the emulator reloads on a new mtime

    [again] = ingest("shipstation")

    assert again.status == "succeeded", again.error
    assert again.rows == {"shipments": 2}
    assert_shipments_match_world(sandbox_root)
    assert query(
        "select voided from raw_shipstation.shipments where shipment_id = ?", [recent]
    ) == [(True,)]

    incremental = snapshot("raw_shipstation")
    [refresh] = ingest("shipstation", full_refresh=True)
    assert refresh.status == "succeeded", refresh.error
    assert snapshot("raw_shipstation") == incremental


def test_shipstation_paces_to_the_rate_limit_and_honours_its_429(
    ingest: Callable[..., list[SourceRun]],
    use_sandbox: Callable[..., None],
    sandbox_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # small pages: about 50 requests, more than one 40-request window ("fast": 3 s windows)
    page_size = max(1, world(sandbox_root).height // 50)
    monkeypatch.setattr("pipelines.sources.shipstation.helpers.PAGE_SIZE", page_size)
    with running_sandbox(sandbox_root, rate_limits="fast") as server:
        use_sandbox(server)
        [paced] = ingest("shipstation")
        statuses = [e["status"] for e in shipment_calls(server)]

    assert paced.status == "succeeded", paced.error
    assert len(statuses) > 40
    assert 429 not in statuses  # X-Rate-Limit-Remaining reached 0: it waited for the reset
    assert_shipments_match_world(sandbox_root)

    # without pacing, the 41st request is refused with a 429 that has no Retry-After: one wait
    # of X-Rate-Limit-Reset seconds is enough (a blind backoff would be refused several times)
    monkeypatch.setattr(RateLimitPacer, "after", lambda self, response: None)
    with running_sandbox(sandbox_root, rate_limits="fast") as server:
        use_sandbox(server)
        [throttled] = ingest("shipstation", full_refresh=True)
        statuses = [e["status"] for e in shipment_calls(server)]

    assert throttled.status == "succeeded", throttled.error
    assert statuses.count(429) == 1
    assert_shipments_match_world(sandbox_root)


def test_shipstation_with_injected_faults_loads_the_same_warehouse(
    ingest: Callable[..., list[SourceRun]],
    ingest_with_faults: FaultyIngest,
    use_sandbox: Callable[..., None],
    sandbox_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page_size = max(1, world(sandbox_root).height // 80)  # about 80 requests
    monkeypatch.setattr("pipelines.sources.shipstation.helpers.PAGE_SIZE", page_size)
    # both servers in "fast" mode: their 3 s rate-limit windows keep the paced runs short
    with running_sandbox(sandbox_root, rate_limits="fast") as server:
        use_sandbox(server)
        [clean] = ingest("shipstation")
    assert clean.status == "succeeded", clean.error
    expected = snapshot("raw_shipstation")

    faulty, faults = ingest_with_faults("shipstation", seed=3)

    assert faulty.status == "succeeded", faulty.error
    assert faults
    assert snapshot("raw_shipstation") == expected


def test_shipstation_wrong_secret_names_the_setting_and_others_still_load(
    ingest: Callable[..., list[SourceRun]], use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(SHIPSTATION__API_SECRET="not-the-secret")

    shipstation, easypost = ingest("shipstation", "easypost")

    assert_failed_naming_setting(shipstation, "SOURCES__SHIPSTATION__API_SECRET", "not-the-secret")
    assert easypost.status == "succeeded", easypost.error
    assert easypost.rows_total > 0
