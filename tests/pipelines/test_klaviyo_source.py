"""The Klaviyo source against the sandbox's Klaviyo emulator (real HTTP, real DuckDB), checked
against the world's parquet files: what lands, what a second or later run asks for and loads,
late events, list removals, faults, rate limits, bad credentials, a retired revision and drift."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
import requests

from pipelines.ingest import SourceRun
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox
from pipelines.sources.klaviyo import settings
from pipelines.sources.klaviyo.helpers import KlaviyoClient, RateLimitPacer, reset_seconds
from pipelines.sources.klaviyo.records import events_table
from tests.pipelines.conftest import FaultyIngest, assert_failed_naming_setting, query, snapshot

Ingest = Callable[..., list[SourceRun]]
LOOKBACK = timedelta(seconds=settings.EVENTS_LOOKBACK_SECONDS)


def world(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"klaviyo_{table}.parquet")


def landed(sql: str, columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(query(sql), schema=columns, orient="row", infer_schema_length=None)


def micros(frame: pl.DataFrame, column: str) -> list[int | None]:
    return frame[column].dt.epoch("us").to_list()


def iso(moment: Any) -> str:
    return str(moment.isoformat())


def newest(frame: pl.DataFrame, column: str) -> datetime:
    """The latest value of a datetime column."""
    value = frame[column].max()
    assert isinstance(value, datetime)
    return value


def assert_profiles_match_world(root: Path) -> None:
    expected = world(root, "profiles")
    columns = ["profile_id", "email", "phone_number", "external_id", "first_name", "last_name"]
    columns += ["city", "region", "zip", "consent", "consent_us", "can_receive"]
    columns += ["created_us", "updated_us"]
    rows = landed(
        "select id, email, phone_number, external_id, first_name, last_name, location__city, "
        "location__region, location__zip, email_marketing_consent, "
        "epoch_us(email_marketing_consent_timestamp), can_receive_email_marketing, "
        "epoch_us(created), epoch_us(updated) from raw_klaviyo.profiles",
        columns,
    )
    assert rows.height == expected.height == rows["profile_id"].n_unique()
    joined = expected.join(rows, on="profile_id", how="left")
    for column in ("email", "phone_number", "external_id", "first_name", "last_name", "city"):
        assert joined[f"{column}_right"].to_list() == joined[column].to_list(), column
    for column in ("region", "zip"):
        assert joined[f"{column}_right"].to_list() == joined[column].to_list(), column
    assert joined["consent"].to_list() == joined["email_consent"].to_list()
    assert joined["consent_us"].to_list() == micros(joined, "email_consent_at")
    assert joined["can_receive"].to_list() == (joined["email_consent"] != "UNSUBSCRIBED").to_list()
    assert joined["created_us"].to_list() == micros(joined, "created")
    assert joined["updated_us"].to_list() == micros(joined, "updated")


def assert_events_match_world(root: Path) -> None:
    expected = world(root, "events")
    columns = ["event_id", "metric_id", "profile_id", "datetime_us", "message_id", "flow_id"]
    columns += ["value", "checkout_id", "campaign_message"]
    rows = landed(
        "select events.id, events.metric_id, events.profile_id, epoch_us(events.datetime), "
        "events.message_id, events.flow_id, events.value, events.checkout_id, "
        "events.event_properties::json->>'$.\"$message\"' from raw_klaviyo.events",
        columns,
    )
    assert rows.height == expected.height == rows["event_id"].n_unique()
    joined = expected.join(rows, on="event_id", how="left")
    for column in ("metric_id", "profile_id", "message_id", "flow_id"):
        assert joined[f"{column}_right"].to_list() == joined[column].to_list(), column
    assert joined["datetime_us"].to_list() == micros(joined, "datetime")
    assert joined["campaign_message"].to_list() == joined["message_id"].to_list()
    checkouts = joined.filter(pl.col("checkout_id").is_not_null())
    assert checkouts.height > 0
    assert checkouts["checkout_id_right"].to_list() == checkouts["checkout_id"].cast(str).to_list()
    cents = [round(value * 100) for value in checkouts["value"]]
    assert cents == checkouts["value_cents"].to_list()
    # an email event's $message is its campaign's message: the attribution join staging makes
    sent = joined.filter(pl.col("campaign_id").is_not_null())
    messages = dict(query("select id, message_id from raw_klaviyo.campaigns"))
    assert [messages[c] for c in sent["campaign_id"]] == sent["message_id_right"].to_list()


def assert_matches_world(root: Path) -> None:
    assert_profiles_match_world(root)
    assert_events_match_world(root)
    members = world(root, "list_members")
    pairs = query(
        "select list_id, profile_id, epoch_us(joined_group_at) from raw_klaviyo.list_memberships"
    )
    expected_pairs = zip(
        members["list_id"], members["profile_id"], micros(members, "joined_at"), strict=True
    )
    assert sorted(pairs) == sorted(expected_pairs)
    for table, key, values in (
        ("lists", "list_id", ["name", "opt_in_process"]),
        ("metrics", "metric_id", ["name"]),
        ("flows", "flow_id", ["name", "status", "trigger_type"]),
        ("campaigns", "campaign_id", ["name", "status"]),
    ):
        expected = world(root, table).select(key, *values).sort(key).rows()
        names = ", ".join(values)
        assert sorted(query(f"select id, {names} from raw_klaviyo.{table}")) == expected, table
    campaigns = world(root, "campaigns").sort("campaign_id")
    times = query("select epoch_us(updated_at), epoch_us(send_time) from raw_klaviyo.campaigns")
    assert sorted(times, key=repr) == sorted(
        zip(micros(campaigns, "updated_at"), micros(campaigns, "send_time"), strict=True),
        key=repr,
    )


def calls(server: SandboxHTTPServer, path: str) -> list[dict[str, Any]]:
    return [e for e in server.log.entries("klaviyo") if e["path"] == path]


def before(root: Path) -> dict[str, pl.DataFrame]:
    """The world tables whose high-water marks the next run starts from."""
    return {
        table: world(root, table) for table in ("events", "profiles", "campaigns", "list_members")
    }


def assert_asked_only_since(server: SandboxHTTPServer, loaded: dict[str, pl.DataFrame]) -> None:
    """Each collection once, filtered from the last run's high-water marks (events: newest
    minus the look-back window; profiles: one second before the newest update)."""
    [events_call] = calls(server, "/api/events")
    since = iso(newest(loaded["events"], "datetime") - LOOKBACK)
    assert events_call["query"]["filter"] == [f"greater-or-equal(datetime,{since})"]
    assert events_call["query"]["page[size]"] == [str(settings.EVENTS_PAGE_SIZE)]
    [profiles_call] = calls(server, "/api/profiles")
    updated = iso(newest(loaded["profiles"], "updated") - timedelta(seconds=1))
    assert profiles_call["query"]["filter"] == [f"greater-than(updated,{updated})"]
    assert profiles_call["query"]["additional-fields[profile]"] == ["subscriptions"]
    [campaigns_call] = calls(server, "/api/campaigns")
    campaigns_since = iso(newest(loaded["campaigns"], "updated_at"))
    assert campaigns_call["query"]["filter"] == [
        f"equals(messages.channel,'email'),greater-or-equal(updated_at,{campaigns_since})"
    ]
    # lists that fit a page are read whole (no filter, no count); the others from their cursor
    lists = loaded["list_members"].group_by("list_id").agg(pl.col("joined_at").max(), pl.len())
    for list_id, moment, size in lists.rows():
        [member_call] = calls(server, f"/api/lists/{list_id}/profiles")
        counts = calls(server, f"/api/lists/{list_id}")
        if size < settings.LIST_MEMBERS_PAGE_SIZE:
            assert "filter" not in member_call["query"] and not counts
        else:
            since = iso(moment)
            assert member_call["query"]["filter"] == [f"greater-or-equal(joined_group_at,{since})"]
            assert counts[0]["query"]["additional-fields[list]"] == ["profile_count"]
    big = lists.filter(pl.col("len") >= settings.LIST_MEMBERS_PAGE_SIZE).height
    # + one request each for metrics, flows and lists
    assert len(server.log.entries("klaviyo")) == 6 + lists.height + big


def test_klaviyo_full_load_lands_the_world_and_a_second_run_loads_nothing(
    ingest: Ingest, sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    [run] = ingest("klaviyo")

    assert run.status == "succeeded", run.error
    assert_matches_world(sandbox_root)
    types = dict(
        query(
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_klaviyo'"
        )
    )
    assert types["events.datetime"] == types["profiles.updated"] == "TIMESTAMP WITH TIME ZONE"
    assert types["events.value"] == "DOUBLE"
    assert types["profiles.properties"] == "JSON"

    sandbox_server.log.clear()
    [again] = ingest("klaviyo")

    assert again.status == "succeeded", again.error
    assert again.rows == {}
    assert_asked_only_since(sandbox_server, before(sandbox_root))


def add_late_event(root: Path) -> str:
    """Klaviyo side: an event that happened half an hour before the newest one arrives only now."""
    events = world(root, "events")
    late = events.sort("datetime")[-1].with_columns(
        event_id=pl.lit("01LATEEVENT0000000000000000"),
        datetime=pl.col("datetime") - timedelta(minutes=30),
    )
    pl.concat([events, late]).write_parquet(root / "world" / "klaviyo_events.parquet")
    meta = root / "world" / "meta.json"
    meta.write_text(json.dumps(json.loads(meta.read_text())))
    os.utime(meta, (time.time() + 5, time.time() + 5))  # the emulator reloads on a new mtime
    return "01LATEEVENT0000000000000000"


def klaviyo_write(server: SandboxHTTPServer, method: str, path: str, body: Any) -> None:
    key = SANDBOX_CREDENTIALS["klaviyo"]["api_key"]
    response = requests.request(
        method,
        f"{server.base_url('klaviyo')}{path}",
        data=orjson.dumps(body),
        headers={
            "Authorization": f"Klaviyo-API-Key {key}",
            "revision": settings.REVISION,
            "content-type": "application/vnd.api+json",
        },
        timeout=10,
    )
    assert response.status_code < 300, response.text


def test_klaviyo_later_runs_merge_changes_late_events_and_list_removals_like_a_full_refresh(
    ingest: Ingest, sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    ingest("klaviyo")
    loaded = before(sandbox_root)
    events, profiles = loaded["events"], loaded["profiles"]
    advance_world(sandbox_root, 7)
    sandbox_server.log.clear()

    [run] = ingest("klaviyo")

    assert run.status == "succeeded", run.error
    new_events = world(sandbox_root, "events").join(events, on="event_id", how="anti")
    changed = world(sandbox_root, "profiles").filter(pl.col("updated") > profiles["updated"].max())
    assert new_events.height > 0 and changed.height > 0
    assert run.rows["events"] == new_events.height
    assert run.rows["profiles"] == changed.height
    assert_asked_only_since(sandbox_server, loaded)
    assert_matches_world(sandbox_root)

    # Klaviyo side: a late event; someone leaves the biggest list (found by its member count),
    # someone joins and someone leaves the smallest (read whole); a profile is edited
    late = add_late_event(sandbox_root)
    members = world(sandbox_root, "list_members")
    sizes = members.group_by("list_id").len().sort("len")
    small, big = sizes["list_id"][0], sizes["list_id"][-1]
    assert sizes["len"][0] < settings.LIST_MEMBERS_PAGE_SIZE <= sizes["len"][-1]
    on_small = set(members.filter(pl.col("list_id") == small)["profile_id"])
    leaving_big = members.filter(pl.col("list_id") == big)["profile_id"][0]
    leaving_small = sorted(on_small)[0]
    joining = next(p for p in world(sandbox_root, "profiles")["profile_id"] if p not in on_small)
    for list_id, method, profile_id in (
        (big, "DELETE", leaving_big),
        (small, "DELETE", leaving_small),
        (small, "POST", joining),
    ):
        path = f"/api/lists/{list_id}/relationships/profiles"
        klaviyo_write(
            sandbox_server, method, path, {"data": [{"type": "profile", "id": profile_id}]}
        )
    with_email = profiles.filter(pl.col("email").is_not_null())
    edited, email = with_email.select("profile_id", "email").row(0)
    attributes = {"email": email, "first_name": "Renamed"}
    profile = {"type": "profile", "attributes": attributes}
    klaviyo_write(sandbox_server, "POST", "/api/profile-import", {"data": profile})

    [again] = ingest("klaviyo")

    assert again.status == "succeeded", again.error
    assert again.rows == {"events": 1, "list_memberships": 3, "profiles": 1}
    assert query("select count(*) from raw_klaviyo.events where id = ?", [late]) == [(1,)]
    pairs = set(query("select list_id, profile_id from raw_klaviyo.list_memberships"))
    assert (big, leaving_big) not in pairs and (small, leaving_small) not in pairs
    assert (small, joining) in pairs
    assert query("select first_name from raw_klaviyo.profiles where id = ?", [edited]) == [
        ("Renamed",)
    ]

    incremental = snapshot("raw_klaviyo")
    [refresh] = ingest("klaviyo", full_refresh=True)
    assert refresh.status == "succeeded", refresh.error
    assert snapshot("raw_klaviyo") == incremental


def test_klaviyo_with_injected_faults_loads_the_same_warehouse(
    ingest: Ingest, ingest_with_faults: FaultyIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, size in (("EVENTS_PAGE_SIZE", 250), ("PROFILES_PAGE_SIZE", 40)):
        monkeypatch.setattr(settings, name, size)  # more requests, more faults
    monkeypatch.setattr(settings, "LIST_MEMBERS_PAGE_SIZE", 40)
    [clean] = ingest("klaviyo")
    assert clean.status == "succeeded", clean.error
    expected = snapshot("raw_klaviyo")

    faulty, faults = ingest_with_faults("klaviyo", seed=11)

    assert faulty.status == "succeeded", faulty.error
    assert len(faults) >= 2
    assert snapshot("raw_klaviyo") == expected


def test_klaviyo_waits_out_a_429_and_paces_to_the_rate_limit_headers(sandbox_root: Path) -> None:
    # realistic limits: /api/flows allows 3 requests a second, so 7 in a row meet 429s
    with running_sandbox(sandbox_root, rate_limits="realistic") as server:
        client = KlaviyoClient(
            server.base_url("klaviyo"), SANDBOX_CREDENTIALS["klaviyo"]["api_key"], settings.REVISION
        )
        started = time.monotonic()
        names = [client.get("/api/flows", {}, window="flows")["data"][0]["id"] for _ in range(7)]
        elapsed = time.monotonic() - started
        statuses = [e["status"] for e in calls(server, "/api/flows")]

    assert len(names) == 7 and len(set(names)) == 1
    assert statuses.count(200) == 7 and 429 in statuses
    assert elapsed >= 1.0  # waited the Retry-After second rather than failing

    # the pacer spreads the seconds until RateLimit-Reset over the requests left
    waits: list[float] = []
    pacer = RateLimitPacer(sleep=waits.append, clock=lambda: 100.0)
    response = requests.Response()
    response.headers.update({"RateLimit-Remaining": "50", "RateLimit-Reset": "30"})
    pacer.after("events", response)
    pacer.before("events")
    response.headers.update({"RateLimit-Remaining": "1"})
    pacer.after("events", response)
    pacer.before("profiles")
    pacer.before("events")
    assert waits == [15.0]
    assert reset_seconds(response) == 30.0


def test_klaviyo_wrong_key_names_the_setting_and_others_still_load(
    ingest: Ingest, use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(KLAVIYO__API_KEY="pk_not_the_key")

    klaviyo, easypost = ingest("klaviyo", "easypost")

    assert_failed_naming_setting(klaviyo, "SOURCES__KLAVIYO__API_KEY", "pk_not_the_key")
    assert easypost.status == "succeeded", easypost.error
    assert easypost.rows_total > 0


def test_klaviyo_retired_revision_names_the_revision_setting(
    ingest: Ingest, use_sandbox: Callable[..., None]
) -> None:
    use_sandbox(KLAVIYO__REVISION="2023-02-22")

    [run] = ingest("klaviyo")

    assert run.status == "failed"
    assert run.error is not None
    assert "SOURCES__KLAVIYO__REVISION" in run.error and "2023-02-22" in run.error
    assert "HTTP 410" in run.error
    assert "\n" not in run.error


def test_klaviyo_event_with_a_new_field_or_a_changed_type_still_loads() -> None:
    def event(eid: str, value: Any, **extra: Any) -> dict[str, Any]:
        return {
            "type": "event",
            "id": eid,
            "attributes": {
                "timestamp": 1730840965,
                "datetime": "2024-11-05T21:09:25+00:00",
                "uuid": "u",
                "event_properties": {"$value": value, "$message": "m1", **extra},
            },
            "relationships": {"metric": {"data": {"type": "metric", "id": "M1"}}},
        }

    table = events_table(
        [event("a", 12.5), event("b", "13.75", Coupon={"code": "X"}), event("c", "n/a")]
    )

    assert table.column("value").to_pylist() == [12.5, 13.75, None]
    assert table.column("profile_id").to_pylist() == [None, None, None]
    properties = [orjson.loads(p) for p in table.column("event_properties").to_pylist()]
    assert properties[1]["Coupon"] == {"code": "X"} and properties[2]["$value"] == "n/a"
    assert table.column("datetime").to_pylist()[0].isoformat() == "2024-11-05T21:09:25+00:00"
