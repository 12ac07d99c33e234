"""Conformance of the Klaviyo emulator: JSON:API walks, filters, revisions, limits, writes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

KEY = "pk_sandbox_private_key"
REVISION = "2026-07-15"
HEADERS = {
    "Authorization": f"Klaviyo-API-Key {KEY}",
    "revision": REVISION,
    "accept": "application/vnd.api+json",
}


def world(root: Path, table: str) -> pl.DataFrame:
    """A world table read straight from the parquet file (the independent truth)."""
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def api(server: SandboxHTTPServer, path: str) -> str:
    return f"{server.base_url('klaviyo')}{path}"


def walk(url: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every record of a collection, following links.next."""
    records: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = requests.get(next_url, headers=HEADERS, params=params, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["data"]
        next_url = body["links"]["next"]
        params = None
    return records


def stamp(moment: datetime) -> str:
    """A datetime as a filter value (ISO, unquoted)."""
    return moment.isoformat()


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert {"id", "status", "code", "title", "detail", "source"} <= set(error)
    assert error["status"] == response.status_code
    return error  # type: ignore[no-any-return]


def post(server: SandboxHTTPServer, path: str, payload: dict[str, Any]) -> requests.Response:
    headers = {**HEADERS, "content-type": "application/vnd.api+json"}
    return requests.post(api(server, path), headers=headers, json=payload, timeout=30)


# --- read side -------------------------------------------------------------------------------


def test_profiles_walk_returns_every_world_profile_once(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    records = walk(api(sandbox, "/api/profiles"), {"page[size]": 100})
    ids = [r["id"] for r in records]
    truth = world(world_root, "klaviyo_profiles")
    assert len(ids) == len(set(ids)) == truth.height
    assert set(ids) == set(truth["profile_id"])
    assert all(r["type"] == "profile" for r in records)
    by_id = {r["id"]: r["attributes"] for r in records}
    for row in truth.head(50).iter_rows(named=True):
        assert by_id[row["profile_id"]]["email"] == row["email"]
        assert by_id[row["profile_id"]]["external_id"] == row["external_id"]


def test_profiles_descending_updated_walk_is_ordered_and_complete(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    records = walk(api(sandbox, "/api/profiles"), {"page[size]": 7, "sort": "-updated"})
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == world(world_root, "klaviyo_profiles").height
    updated = [datetime.fromisoformat(r["attributes"]["updated"]) for r in records]
    assert updated == sorted(updated, reverse=True)


def test_events_walk_returns_every_world_event_once(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    records = walk(api(sandbox, "/api/events"), {"page[size]": 1000})
    ids = [r["id"] for r in records]
    truth = world(world_root, "klaviyo_events")
    assert len(ids) == len(set(ids)) == truth.height
    assert set(ids) == set(truth["event_id"])
    moments = [r["attributes"]["datetime"] for r in records]
    assert moments == sorted(moments)
    sample = records[0]
    row = truth.filter(pl.col("event_id") == sample["id"]).row(0, named=True)
    assert sample["relationships"]["metric"]["data"]["id"] == row["metric_id"]
    assert sample["attributes"]["timestamp"] == int(row["datetime"].timestamp())


def test_events_filter_by_metric_and_datetime_matches_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    truth = world(world_root, "klaviyo_events")
    metric_id = truth["metric_id"].mode()[0]
    since = truth["datetime"].sort()[truth.height // 2]
    expected = truth.filter((pl.col("metric_id") == metric_id) & (pl.col("datetime") >= since))[
        "event_id"
    ]
    records = walk(
        api(sandbox, "/api/events"),
        {
            "filter": f"equals(metric_id,'{metric_id}'),greater-or-equal(datetime,{stamp(since)})",
            "page[size]": 200,
        },
    )
    assert sorted(r["id"] for r in records) == sorted(expected)
    assert expected.len() > 0


def test_events_include_metric_and_profile(sandbox: SandboxHTTPServer) -> None:
    response = requests.get(
        api(sandbox, "/api/events"),
        headers=HEADERS,
        params={"page[size]": 5, "include": "metric,profile"},
        timeout=30,
    )
    body = response.json()
    included = {(r["type"], r["id"]) for r in body["included"]}
    for event in body["data"]:
        assert ("metric", event["relationships"]["metric"]["data"]["id"]) in included


def test_profiles_filters_match_world_rows(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    truth = world(world_root, "klaviyo_profiles")
    cut = truth["updated"].sort()[truth.height // 3]
    records = walk(
        api(sandbox, "/api/profiles"),
        {"filter": f"greater-than(updated,{stamp(cut)})", "page[size]": 100},
    )
    expected = truth.filter(pl.col("updated") > cut)["profile_id"]
    assert sorted(r["id"] for r in records) == sorted(expected)

    email = truth.filter(pl.col("email").is_not_null())["email"][0]
    records = walk(api(sandbox, "/api/profiles"), {"filter": f"equals(email,'{email.upper()}')"})
    expected = truth.filter(pl.col("email").str.to_lowercase() == email.lower())["profile_id"]
    assert sorted(r["id"] for r in records) == sorted(expected)

    externals = truth.filter(pl.col("external_id").is_not_null())["external_id"].head(3).to_list()
    quoted = ",".join(f"'{value}'" for value in externals)
    records = walk(api(sandbox, "/api/profiles"), {"filter": f"any(external_id,[{quoted}])"})
    expected = truth.filter(pl.col("external_id").is_in(externals))["profile_id"]
    assert sorted(r["id"] for r in records) == sorted(expected)


def test_profiles_subscriptions_reflect_world_consent(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    records = walk(
        api(sandbox, "/api/profiles"),
        {"page[size]": 100, "additional-fields[profile]": "subscriptions"},
    )
    consent = dict(
        world(world_root, "klaviyo_profiles").select("profile_id", "email_consent").rows()
    )
    for record in records:
        marketing = record["attributes"]["subscriptions"]["email"]["marketing"]
        assert marketing["consent"] == consent[record["id"]]
        assert marketing["can_receive_email_marketing"] == (marketing["consent"] != "UNSUBSCRIBED")
    plain = requests.get(api(sandbox, "/api/profiles"), headers=HEADERS, timeout=30).json()
    assert "subscriptions" not in plain["data"][0]["attributes"]
    assert len(plain["data"]) == 20


def test_profiles_sparse_fieldset_returns_only_requested_attributes(
    sandbox: SandboxHTTPServer,
) -> None:
    response = requests.get(
        api(sandbox, "/api/profiles"),
        headers=HEADERS,
        params={"fields[profile]": "email,location.city"},
        timeout=30,
    )
    attributes = response.json()["data"][0]["attributes"]
    assert set(attributes) == {"email", "location"}
    assert set(attributes["location"]) == {"city"}


def test_lists_walk_equals_world_and_page_size_is_capped_at_ten(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    records = walk(api(sandbox, "/api/lists"))
    assert sorted(r["id"] for r in records) == sorted(world(world_root, "klaviyo_lists")["list_id"])
    response = requests.get(
        api(sandbox, "/api/lists"), headers=HEADERS, params={"page[size]": 11}, timeout=30
    )
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": "page[size]"}


def test_list_profiles_walk_equals_world_members(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    members = world(world_root, "klaviyo_list_members")
    list_id = members["list_id"].mode()[0]
    records = walk(api(sandbox, f"/api/lists/{list_id}/profiles"), {"page[size]": 100})
    expected = members.filter(pl.col("list_id") == list_id)["profile_id"]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)
    joined = [r["attributes"]["joined_group_at"] for r in records]
    assert joined == sorted(joined)


def test_metrics_flows_and_campaigns_walks_equal_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    metrics = walk(api(sandbox, "/api/metrics"))
    assert sorted(r["id"] for r in metrics) == sorted(
        world(world_root, "klaviyo_metrics")["metric_id"]
    )
    flows = walk(api(sandbox, "/api/flows"), {"page[size]": 2})
    assert sorted(r["id"] for r in flows) == sorted(world(world_root, "klaviyo_flows")["flow_id"])
    campaigns = walk(
        api(sandbox, "/api/campaigns"),
        {"filter": "equals(messages.channel,'email')", "page[size]": 7},
    )
    truth = world(world_root, "klaviyo_campaigns")
    assert sorted(r["id"] for r in campaigns) == sorted(truth["campaign_id"])


def test_campaigns_updated_at_filter_matches_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    truth = world(world_root, "klaviyo_campaigns")
    cut = truth["updated_at"].sort()[truth.height // 2]
    records = walk(
        api(sandbox, "/api/campaigns"),
        {"filter": f"and(equals(messages.channel,'email'),greater-than(updated_at,{stamp(cut)}))"},
    )
    expected = truth.filter(pl.col("updated_at") > cut)["campaign_id"]
    assert sorted(r["id"] for r in records) == sorted(expected)


def test_campaigns_without_channel_filter_are_rejected(sandbox: SandboxHTTPServer) -> None:
    for params in ({}, {"filter": "equals(status,'Sent')"}):
        response = requests.get(
            api(sandbox, "/api/campaigns"), headers=HEADERS, params=params, timeout=30
        )
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid"
        assert "channel filter is required" in error["detail"]


def test_prev_link_returns_the_previous_page(sandbox: SandboxHTTPServer) -> None:
    first = requests.get(
        api(sandbox, "/api/profiles"), headers=HEADERS, params={"page[size]": 5}, timeout=30
    ).json()
    assert first["links"]["prev"] is None
    second = requests.get(first["links"]["next"], headers=HEADERS, timeout=30).json()
    back = requests.get(second["links"]["prev"], headers=HEADERS, timeout=30).json()
    assert [r["id"] for r in back["data"]] == [r["id"] for r in first["data"]]


@pytest.mark.parametrize(
    ("revision", "status"),
    [(None, 400), ("15-07-2026", 400), ("2026-07-32", 400), ("2023-02-22", 410),
     ("2024-10-15", 410), ("2027-01-15", 400), ("2025-01-15", 200)],
)  # fmt: skip
def test_revision_header_is_required_and_checked(
    sandbox: SandboxHTTPServer, revision: str | None, status: int
) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "revision"}
    if revision is not None:
        headers["revision"] = revision
    response = requests.get(api(sandbox, "/api/metrics"), headers=headers, timeout=30)
    assert response.status_code == status
    if status != 200:
        assert error_of(response)["source"] == {"parameter": "revision"}


def test_auth_errors_use_klaviyo_bodies(sandbox: SandboxHTTPServer) -> None:
    missing = requests.get(
        api(sandbox, "/api/profiles"), headers={"revision": REVISION}, timeout=30
    )
    assert missing.status_code == 401
    assert error_of(missing)["code"] == "not_authenticated"
    assert error_of(missing)["title"] == "Authentication credentials were not provided."
    wrong = requests.get(
        api(sandbox, "/api/profiles"),
        headers={**HEADERS, "Authorization": "Klaviyo-API-Key pk_wrong"},
        timeout=30,
    )
    assert wrong.status_code == 401
    assert error_of(wrong)["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "expression",
    [
        "greater-than(updated,'2025-01-01T00:00:00Z')",  # quoted datetime
        "greater-than(updated,2025-01-01T00:00:00Z",  # unbalanced
        "equals(nickname,'x')",  # unknown field
        "less-or-equal(updated,2025-01-01T00:00:00Z)",  # operator not allowed on the field
        "equals(email,unquoted)",
        "or(equals(email,'a@b.co'),equals(email,'c@d.co'))",
    ],
)
def test_bad_filters_are_400_on_the_filter_parameter(
    sandbox: SandboxHTTPServer, expression: str
) -> None:
    response = requests.get(
        api(sandbox, "/api/profiles"), headers=HEADERS, params={"filter": expression}, timeout=30
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["source"] == {"parameter": "filter"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page[size]": "101"}, "page[size]"),
        ({"page[size]": "ten"}, "page[size]"),
        ({"sort": "first_name"}, "sort"),
        ({"page[offset]": "10"}, "page[offset]"),
        ({"additional-fields[profile]": "everything"}, "additional-fields[profile]"),
    ],
)
def test_bad_parameters_are_400(
    sandbox: SandboxHTTPServer, params: dict[str, str], parameter: str
) -> None:
    response = requests.get(
        api(sandbox, "/api/profiles"), headers=HEADERS, params=params, timeout=30
    )
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": parameter}


def test_invalid_cursor_is_400(sandbox: SandboxHTTPServer) -> None:
    response = requests.get(
        api(sandbox, "/api/events"),
        headers=HEADERS,
        params={"page[cursor]": "garbage!"},
        timeout=30,
    )
    assert response.status_code == 400
    assert error_of(response)["detail"] == "Invalid cursor provided."


def test_throttling_headers_then_429_with_retry_after(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        url = api(server, "/api/flows")  # 3/s burst, 60/m steady
        responses = []
        while len(responses) < 50 and (not responses or responses[-1].status_code != 429):
            responses.append(requests.get(url, headers=HEADERS, timeout=30))
    *allowed, throttled = responses
    assert 3 <= len(allowed) <= 10 and all(r.status_code == 200 for r in allowed)
    assert allowed[0].headers["RateLimit-Limit"] == "60"
    assert int(allowed[-1].headers["RateLimit-Remaining"]) < 60
    assert int(allowed[0].headers["RateLimit-Reset"]) >= 1
    assert throttled.status_code == 429
    assert "RateLimit-Limit" not in throttled.headers
    assert int(throttled.headers["Retry-After"]) >= 1
    error = error_of(throttled)
    assert error["code"] == "throttled"
    assert error["detail"].startswith("Request was throttled. Expected available in")


def test_incremental_filters_return_changes_after_advance(fresh_world: Path) -> None:
    before = world(fresh_world, "klaviyo_profiles")
    since = before["updated"].max()
    event_since = world(fresh_world, "klaviyo_events")["datetime"].max()
    advance_world(fresh_world, 7)  # long enough for new profiles in the small world
    profiles = world(fresh_world, "klaviyo_profiles")
    events = world(fresh_world, "klaviyo_events")
    with running_sandbox(fresh_world, rate_limits="off") as server:
        changed = walk(
            api(server, "/api/profiles"),
            {"filter": f"greater-than(updated,{stamp(since)})", "page[size]": 100},
        )
        new_events = walk(
            api(server, "/api/events"),
            {"filter": f"greater-than(datetime,{stamp(event_since)})", "page[size]": 1000},
        )
    expected = profiles.filter(pl.col("updated") > since)["profile_id"]
    assert expected.len() > 0
    assert sorted(r["id"] for r in changed) == sorted(expected)
    expected_events = events.filter(pl.col("datetime") > event_since)["event_id"]
    assert expected_events.len() > 0
    assert sorted(r["id"] for r in new_events) == sorted(expected_events)


# --- write side ------------------------------------------------------------------------------


def import_job(profiles: list[dict[str, Any]], list_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "profile-bulk-import-job",
        "attributes": {
            "profiles": {"data": [{"type": "profile", "attributes": p} for p in profiles]}
        },
    }
    if list_ids:
        data["relationships"] = {"lists": {"data": [{"type": "list", "id": i} for i in list_ids]}}
    return {"data": data}


def create_list(server: SandboxHTTPServer, name: str) -> str:
    response = post(server, "/api/lists", {"data": {"type": "list", "attributes": {"name": name}}})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def poll(server: SandboxHTTPServer, job_id: str) -> dict[str, Any]:
    for _ in range(10):
        response = requests.get(
            api(server, f"/api/profile-bulk-import-jobs/{job_id}"), headers=HEADERS, timeout=30
        )
        attributes: dict[str, Any] = response.json()["data"]["attributes"]
        if attributes["status"] == "complete":
            return attributes
    raise AssertionError("the job never completed")


def test_bulk_import_over_ten_thousand_profiles_is_rejected(sandbox: SandboxHTTPServer) -> None:
    profiles = [{"email": f"p{i}@shop-test.io"} for i in range(10_001)]
    response = post(sandbox, "/api/profile-bulk-import-jobs", import_job(profiles))
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert sandbox.state("klaviyo").get("profiles", {}) == {}


def test_bulk_import_job_completes_and_state_holds_exactly_the_profiles_sent(
    sandbox: SandboxHTTPServer,
) -> None:
    list_id = create_list(sandbox, "VIP sync")
    sent = [
        {"email": f"buyer{i}@shop-test.io", "first_name": f"B{i}", "properties": {"ltv": i}}
        for i in range(9_999)
    ]
    invalid = {"email": "not-an-email", "first_name": "Broken"}  # 10,000 profiles in all
    response = post(
        sandbox, "/api/profile-bulk-import-jobs", import_job([*sent, invalid], (list_id,))
    )
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["attributes"]["status"] == "queued"
    assert job["attributes"]["total_count"] == 10_000
    done = poll(sandbox, job["id"])
    assert done["completed_count"] == 10_000 and done["failed_count"] == 1

    state = sandbox.state("klaviyo")
    stored = {r["attributes"]["email"]: r["attributes"] for r in state["profiles"].values()}
    assert set(stored) == {p["email"] for p in sent}
    assert all(stored[p["email"]]["properties"] == p["properties"] for p in sent)
    members = state["memberships"][list_id]["added"]
    assert set(members) == set(state["profiles"])

    errors = requests.get(
        api(sandbox, f"/api/profile-bulk-import-jobs/{job['id']}/import-errors"),
        headers=HEADERS,
        timeout=30,
    ).json()["data"]
    assert [e["attributes"]["original_payload"]["attributes"] for e in errors] == [invalid]
    listed = walk(api(sandbox, f"/api/lists/{list_id}/profiles"), {"page[size]": 100})
    assert len(listed) == 9_999


def test_bulk_import_updates_the_matching_world_profile(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    truth = world(world_root, "klaviyo_profiles").filter(pl.col("email").is_not_null())
    row = truth.row(0, named=True)
    response = post(
        sandbox,
        "/api/profile-bulk-import-jobs",
        import_job([{"email": row["email"].upper(), "first_name": "Renamed"}]),
    )
    poll(sandbox, response.json()["data"]["id"])
    state = sandbox.state("klaviyo")
    assert list(state["profiles"]) == [row["profile_id"]]
    profile = requests.get(
        api(sandbox, f"/api/profiles/{row['profile_id']}"), headers=HEADERS, timeout=30
    ).json()["data"]
    assert profile["attributes"]["first_name"] == "Renamed"
    assert profile["attributes"]["last_name"] == row["last_name"]
    total = walk(api(sandbox, "/api/profiles"), {"page[size]": 100})
    assert len(total) == world(world_root, "klaviyo_profiles").height


def test_profile_import_creates_then_updates(sandbox: SandboxHTTPServer) -> None:
    body = {"data": {"type": "profile", "attributes": {"email": "new@shop-test.io", "title": "Dr"}}}
    created = post(sandbox, "/api/profile-import", body)
    assert created.status_code == 201
    body["data"]["attributes"]["title"] = None  # null clears
    updated = post(sandbox, "/api/profile-import", body)
    assert updated.status_code == 200
    assert updated.json()["data"]["id"] == created.json()["data"]["id"]
    assert updated.json()["data"]["attributes"]["title"] is None
    bad = post(
        sandbox, "/api/profile-import", {"data": {"type": "profile", "attributes": {"email": "x"}}}
    )
    assert bad.status_code == 400
    assert error_of(bad)["source"] == {"pointer": "/data/attributes/email"}


def test_list_membership_changes_are_limited_and_recorded(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    list_id = create_list(sandbox, "Winback")
    assert requests.get(api(sandbox, f"/api/lists/{list_id}"), headers=HEADERS, timeout=30).ok
    ids = world(world_root, "klaviyo_profiles")["profile_id"].head(5).to_list()
    refs = {"data": [{"type": "profile", "id": pid} for pid in ids]}
    url = api(sandbox, f"/api/lists/{list_id}/relationships/profiles")
    headers = {**HEADERS, "content-type": "application/vnd.api+json"}
    assert requests.post(url, headers=headers, json=refs, timeout=30).status_code == 204
    assert requests.post(url, headers=headers, json=refs, timeout=30).status_code == 204  # retry
    removed = {"data": refs["data"][:2]}
    assert requests.delete(url, headers=headers, json=removed, timeout=30).status_code == 204
    members = walk(api(sandbox, f"/api/lists/{list_id}/profiles"))
    assert sorted(r["id"] for r in members) == sorted(ids[2:])
    assert set(sandbox.state("klaviyo")["memberships"][list_id]["added"]) == set(ids[2:])

    too_many = {"data": [{"type": "profile", "id": ids[0]}] * 1_001}
    response = requests.post(url, headers=headers, json=too_many, timeout=30)
    assert response.status_code == 400
    unknown = {"data": [{"type": "profile", "id": "01NOSUCHPROFILE0000000000"}]}
    assert requests.post(url, headers=headers, json=unknown, timeout=30).status_code == 400


def subscription_job(
    kind: str, emails: list[str], consent: str, list_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": kind,
        "attributes": {
            "profiles": {
                "data": [
                    {
                        "type": "profile",
                        "attributes": {
                            "email": email,
                            "subscriptions": {"email": {"marketing": {"consent": consent}}},
                        },
                    }
                    for email in emails
                ]
            }
        },
    }
    if list_id:
        data["relationships"] = {"list": {"data": {"type": "list", "id": list_id}}}
    return {"data": data}


def test_subscribe_and_unsubscribe_jobs_record_consent(sandbox: SandboxHTTPServer) -> None:
    list_id = create_list(sandbox, "Newsletter")
    emails = ["ann@shop-test.io", "bob@shop-test.io"]
    kind = "profile-subscription-bulk-create-job"
    response = post(
        sandbox,
        "/api/profile-subscription-bulk-create-jobs",
        subscription_job(kind, emails, "SUBSCRIBED", list_id),
    )
    assert response.status_code == 202
    gone = subscription_job(
        "profile-subscription-bulk-delete-job", ["bob@shop-test.io"], "UNSUBSCRIBED"
    )
    assert post(sandbox, "/api/profile-subscription-bulk-delete-jobs", gone).status_code == 202
    state = sandbox.state("klaviyo")
    consent = {
        r["attributes"]["email"]: r["subscriptions"]["email"]["marketing"]["consent"]
        for r in state["profiles"].values()
    }
    assert consent == {"ann@shop-test.io": "SUBSCRIBED", "bob@shop-test.io": "UNSUBSCRIBED"}
    assert len(state["memberships"][list_id]["added"]) == 2
    profiles = walk(
        api(sandbox, "/api/profiles"),
        {
            "filter": "equals(email,'bob@shop-test.io')",
            "additional-fields[profile]": "subscriptions",
        },
    )
    assert (
        profiles[0]["attributes"]["subscriptions"]["email"]["marketing"]["consent"]
        == "UNSUBSCRIBED"
    )

    many = [f"p{i}@shop-test.io" for i in range(1_001)]
    response = post(
        sandbox,
        "/api/profile-subscription-bulk-create-jobs",
        subscription_job(kind, many, "SUBSCRIBED"),
    )
    assert response.status_code == 400
    response = post(
        sandbox,
        "/api/profile-subscription-bulk-delete-jobs",
        subscription_job("profile-subscription-bulk-delete-job", many[:101], "UNSUBSCRIBED"),
    )
    assert response.status_code == 400


def test_data_privacy_deletion_removes_the_profile(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    row = (
        world(world_root, "klaviyo_profiles")
        .filter(pl.col("email").is_not_null())
        .row(0, named=True)
    )
    body = {
        "data": {
            "type": "data-privacy-deletion-job",
            "attributes": {
                "profile": {"data": {"type": "profile", "attributes": {"email": row["email"]}}}
            },
        }
    }
    assert post(sandbox, "/api/data-privacy-deletion-jobs", body).status_code == 202
    state = sandbox.state("klaviyo")
    (request,) = state["deletion_requests"]
    assert row["profile_id"] in request["profile_ids"]
    response = requests.get(
        api(sandbox, f"/api/profiles/{row['profile_id']}"), headers=HEADERS, timeout=30
    )
    assert response.status_code == 404


EVENT_FIELDS = "timestamp,event_properties,datetime,uuid"
PROFILE_FIELDS = (
    "email,phone_number,external_id,first_name,last_name,organization,locale,title,image,"
    "created,updated,last_event_date,location,properties,subscriptions"
)


def test_fast_pages_equal_the_reference_rendering(sandbox: SandboxHTTPServer) -> None:
    """Full pages (vectorised JSON) and sparse-fieldset pages (per-record dicts) agree."""
    fast = walk(api(sandbox, "/api/events"), {"page[size]": 1000})
    slow = walk(api(sandbox, "/api/events"), {"page[size]": 1000, "fields[event]": EVENT_FIELDS})
    assert fast == slow
    subs = {"page[size]": 100, "additional-fields[profile]": "subscriptions"}
    fast = walk(api(sandbox, "/api/profiles"), subs)
    slow = walk(api(sandbox, "/api/profiles"), {**subs, "fields[profile]": PROFILE_FIELDS})
    assert fast == slow
