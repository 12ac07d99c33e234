"""The EasyPost source against the sandbox: trackers and their tracking details land as the world
holds them, later runs list only new trackers and re-read only the open ones (a tracker delivered
after the world moves on is updated), faults change nothing, and a bad key names its setting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.ingest import SourceRun
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer
from pipelines.sources.easypost.helpers import details_table, split_details
from tests.pipelines.conftest import FaultyIngest, assert_failed_naming_setting, query, snapshot

FINAL = ("delivered", "return_to_sender", "failure", "cancelled")
LIST_PATH = "/v2/trackers"


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def open_ids(root: Path) -> set[str]:
    trackers = world(root, "easypost_trackers")
    return set(trackers.filter(~pl.col("status").is_in(FINAL))["tracker_id"])


def assert_trackers_match_world(root: Path) -> None:
    expected = world(root, "easypost_trackers").sort("tracker_id")
    rows = query(
        "select id, tracking_code, carrier, status, epoch(created_at)::bigint, "
        "epoch(updated_at)::bigint, epoch(est_delivery_date)::bigint "
        "from raw_easypost.trackers order by id"
    )
    assert [row[0] for row in rows] == expected["tracker_id"].to_list()
    wanted = expected.select(
        "tracker_id",
        "tracking_code",
        "carrier",
        "status",
        pl.col("created_at").dt.epoch("s"),
        pl.col("updated_at").dt.epoch("s"),
        pl.col("est_delivery_date").dt.epoch("s"),
    )
    assert rows == list(wanted.iter_rows())

    details = world(root, "easypost_tracking_details").sort("tracker_id", "seq")
    landed = query(
        "select tracker_id, position, epoch(datetime)::bigint, status, message, "
        "tracking_location__city from raw_easypost.tracking_details order by tracker_id, position"
    )
    wanted_details = details.select(
        "tracker_id",
        (pl.int_range(pl.len()).over("tracker_id")).cast(pl.Int64),
        pl.col("datetime").dt.epoch("s"),
        "status",
        "message",
        "city",
    )
    assert landed == list(wanted_details.iter_rows())


def calls(server: SandboxHTTPServer) -> tuple[list[dict[str, Any]], set[str]]:
    """The list calls, and the ids read one by one."""
    entries = [e for e in server.log.entries("easypost") if e["status"] == 200]
    listed = [e for e in entries if e["path"] == LIST_PATH]
    read = {e["path"].rsplit("/", 1)[1] for e in entries if e["path"].startswith(LIST_PATH + "/")}
    return listed, read


def newest_created(root: Path) -> str:
    newest = world(root, "easypost_trackers")["created_at"].max()
    return newest.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


def test_easypost_full_load_lands_the_world_and_a_second_run_reads_only_open_trackers(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    [run] = ingest("easypost")

    assert run.status == "succeeded", run.error
    assert run.rows["trackers"] == world(sandbox_root, "easypost_trackers").height
    assert_trackers_match_world(sandbox_root)
    still_open = open_ids(sandbox_root)
    assert still_open

    sandbox_server.log.clear()
    [again] = ingest("easypost")

    assert again.status == "succeeded", again.error
    assert again.rows == {}
    listed, read = calls(sandbox_server)
    assert len(listed) == 1
    assert listed[0]["query"]["start_datetime"] == [newest_created(sandbox_root)]
    assert read == still_open


def test_easypost_tracker_delivered_after_the_world_moves_on_is_updated(
    ingest: Callable[..., list[SourceRun]], sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    ingest("easypost")
    # move on a day at a time until a tracker that was open when loaded has been delivered
    delivered = pl.DataFrame()
    for _ in range(10):
        before = world(sandbox_root, "easypost_trackers")
        was_open = open_ids(sandbox_root)
        cursor = newest_created(sandbox_root)
        advance_world(sandbox_root, 1)
        sandbox_server.log.clear()

        [run] = ingest("easypost")

        assert run.status == "succeeded", run.error
        listed, read = calls(sandbox_server)
        assert [call["query"]["start_datetime"] for call in listed] == [[cursor]]
        assert read == was_open
        after = world(sandbox_root, "easypost_trackers")
        new = after.join(before, on="tracker_id", how="anti")
        moved = after.join(before, on=["tracker_id", "updated_at"], how="anti").filter(
            pl.col("tracker_id").is_in(list(was_open))
        )
        assert run.rows.get("trackers", 0) == new.height + moved.height
        assert_trackers_match_world(sandbox_root)
        delivered = after.filter(
            pl.col("tracker_id").is_in(list(was_open)) & (pl.col("status") == "delivered")
        )
        if delivered.height:
            break
    assert delivered.height > 0
    statuses = dict(query("select id, status from raw_easypost.trackers"))
    assert {statuses[i] for i in delivered["tracker_id"]} == {"delivered"}

    sandbox_server.log.clear()
    [settled] = ingest("easypost")
    assert settled.rows == {}
    assert calls(sandbox_server)[1] == open_ids(sandbox_root)  # the delivered are not re-read

    incremental = snapshot("raw_easypost")
    [refresh] = ingest("easypost", full_refresh=True)
    assert refresh.status == "succeeded", refresh.error
    assert snapshot("raw_easypost") == incremental


def test_easypost_with_injected_faults_loads_the_same_warehouse(
    ingest: Callable[..., list[SourceRun]],
    ingest_with_faults: FaultyIngest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("pipelines.sources.easypost.helpers.PAGE_SIZE", 8)  # more requests
    [clean] = ingest("easypost")
    assert clean.status == "succeeded", clean.error
    expected = snapshot("raw_easypost")

    faulty, faults = ingest_with_faults("easypost", seed=5)

    assert faulty.status == "succeeded", faulty.error
    assert faults
    assert snapshot("raw_easypost") == expected


def test_easypost_wrong_key_names_the_setting_and_others_still_load(
    ingest: Callable[..., list[SourceRun]], use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(EASYPOST__API_KEY="EZTKnot-the-key")

    easypost, shipstation = ingest("easypost", "shipstation")

    assert_failed_naming_setting(easypost, "SOURCES__EASYPOST__API_KEY", "not-the-key")
    assert shipstation.status == "succeeded", shipstation.error
    assert shipstation.rows_total > 0


def test_easypost_details_with_drifted_types_become_variant_columns_not_a_crash() -> None:
    def tracker(number: int, **detail: Any) -> dict[str, Any]:
        base = {"message": "In transit", "datetime": f"2026-10-0{number}T12:00:00Z"}
        location = {"city": "RENO", "state": "NV"}
        later = {**base, "tracking_location": location}
        return {"id": f"trk_{number}", "tracking_details": [{**base, **detail}, later]}

    trackers = [tracker(1), tracker(2, message=5, weight=1.5), tracker(3, datetime="soon")]
    table = details_table(split_details(trackers))

    assert all("tracking_details" not in t for t in trackers)
    rows = table.to_pylist()
    assert [(r["tracker_id"], r["position"]) for r in rows] == [
        (f"trk_{n}", p) for n in (1, 2, 3) for p in (0, 1)
    ]
    assert rows[2]["message"] is None and rows[2]["message__v_text"] == "5"
    assert rows[2]["weight"] == 1.5
    assert rows[4]["datetime"] is None and rows[4]["datetime__v_text"] == "soon"
    assert rows[0]["datetime"].isoformat() == "2026-10-01T12:00:00+00:00"
    assert rows[1]["tracking_location__city"] == "RENO"
    assert not table.schema.field("tracker_id").nullable
