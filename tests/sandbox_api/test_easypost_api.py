"""Conformance of the EasyPost emulator: /v2/trackers paging (before_id), filters, auth, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

KEY = SANDBOX_CREDENTIALS["easypost"]["api_key"]
AUTH = (KEY, "")


def trackers(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / "easypost_trackers.parquet")


def clock(root: Path) -> datetime:
    raw = json.loads((root / "world" / "meta.json").read_text())["clock"]
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw / 1_000_000, UTC)
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def url(server: SandboxHTTPServer) -> str:
    return f"{server.base_url('easypost')}/v2/trackers"


def walk(server: SandboxHTTPServer, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tracker of a listing, following before_id while has_more."""
    found: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        response = requests.get(url(server), params=query, auth=AUTH, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["trackers"]
        if not body["has_more"]:
            return found
        query = {**params, "before_id": body["trackers"][-1]["id"]}


def test_easypost_walk_returns_every_tracker_once_newest_first(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    found = walk(sandbox, {"page_size": 100})
    expected = trackers(world_root).sort(["created_at", "tracker_id"], descending=[True, True])
    ids = [t["id"] for t in found]
    assert len(ids) == len(set(ids)) == expected.height > 100
    assert ids == expected["tracker_id"].to_list()


def test_easypost_tracker_objects_match_the_world(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    details = pl.read_parquet(world_root / "world" / "easypost_tracking_details.parquet")
    expected = trackers(world_root).sort("tracker_id").head(40)
    for row in expected.iter_rows(named=True):
        response = requests.get(f"{url(sandbox)}/{row['tracker_id']}", auth=AUTH, timeout=10)
        assert response.status_code == 200
        tracker = response.json()
        assert tracker["object"] == "Tracker"
        assert tracker["tracking_code"] == row["tracking_code"]
        assert tracker["carrier"] == row["carrier"]
        assert tracker["status"] == row["status"]
        assert tracker["created_at"] == iso(row["created_at"])
        assert tracker["updated_at"] == iso(row["updated_at"])
        events = details.filter(pl.col("tracker_id") == row["tracker_id"]).sort("seq")
        got = tracker["tracking_details"]
        assert [d["message"] for d in got] == events["message"].to_list()
        assert [d["datetime"] for d in got] == [iso(t) for t in events["datetime"]]
        assert all(d["object"] == "TrackingDetail" for d in got)


def test_easypost_filters_by_code_carrier_and_creation_window(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    expected = trackers(world_root)
    code = expected["tracking_code"][0]
    by_code = walk(sandbox, {"tracking_code": code})
    assert {t["id"] for t in by_code} == set(
        expected.filter(pl.col("tracking_code") == code)["tracker_id"]
    )
    carrier = expected["carrier"][0]
    by_carrier = walk(sandbox, {"carrier": carrier.lower(), "page_size": 100})
    assert {t["id"] for t in by_carrier} == set(
        expected.filter(pl.col("carrier") == carrier)["tracker_id"]
    )
    dates = expected["created_at"].dt.truncate("1s").sort()
    start, end = dates[len(dates) // 3], dates[len(dates) // 2]
    window = walk(sandbox, {"start_datetime": iso(start), "end_datetime": iso(end)})
    assert {t["id"] for t in window} == set(
        expected.filter(pl.col("created_at").dt.truncate("1s").is_between(start, end))["tracker_id"]
    )


def test_easypost_after_id_returns_the_newer_page(sandbox: SandboxHTTPServer) -> None:
    first = requests.get(url(sandbox), params={"page_size": 10}, auth=AUTH, timeout=10).json()
    second = requests.get(
        url(sandbox),
        params={"page_size": 10, "before_id": first["trackers"][-1]["id"]},
        auth=AUTH,
        timeout=10,
    ).json()
    back = requests.get(
        url(sandbox),
        params={"page_size": 10, "after_id": second["trackers"][0]["id"]},
        auth=AUTH,
        timeout=10,
    ).json()
    assert [t["id"] for t in back["trackers"]] == [t["id"] for t in first["trackers"]]
    assert back["has_more"] is False


def test_easypost_authentication_errors(sandbox: SandboxHTTPServer) -> None:
    missing = requests.get(url(sandbox), timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "APIKEY.REQUIRED"
    wrong = requests.get(url(sandbox), auth=("EZTKnope", ""), timeout=10)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "APIKEY.INACTIVE"
    assert set(wrong.json()["error"]) == {"code", "message", "errors"}
    bearer = requests.get(url(sandbox), headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"start_datetime": "soon"}, "start_datetime"),
        ({"before_id": "trk_00000000000000000000000000000000"}, "before_id"),
        ({"status": "delivered"}, "status"),
    ],
)
def test_easypost_rejects_bad_parameters(
    sandbox: SandboxHTTPServer, params: dict[str, str], field: str
) -> None:
    response = requests.get(url(sandbox), params=params, auth=AUTH, timeout=10)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "PARAMETER.INVALID"
    assert error["errors"][0]["field"] == field


def test_easypost_unknown_tracker_is_404(sandbox: SandboxHTTPServer) -> None:
    response = requests.get(f"{url(sandbox)}/trk_{'0' * 32}", auth=AUTH, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_easypost_throttles_with_retry_after(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        served = 0
        for _ in range(200):  # the bucket refills at 10/s while the burst of 50 drains
            response = requests.get(url(server), params={"page_size": 1}, auth=AUTH, timeout=10)
            if response.status_code != 200:
                break
            served += 1
        assert response.status_code == 429
        assert 50 <= served < 200
        assert response.json()["error"]["code"] == "RATE_LIMITED"
        assert int(response.headers["Retry-After"]) >= 1


def test_easypost_new_trackers_after_advance(fresh_world: Path) -> None:
    before = clock(fresh_world)
    with running_sandbox(fresh_world, rate_limits="off") as server:
        advance_world(fresh_world, 2)
        found = walk(server, {"start_datetime": iso(before), "page_size": 100})
    expected = trackers(fresh_world).filter(
        pl.col("created_at").dt.truncate("1s") >= before.replace(microsecond=0)
    )
    assert expected.height > 0
    assert {t["id"] for t in found} == set(expected["tracker_id"])
    assert all(t["created_at"] <= iso(clock(fresh_world) + timedelta(seconds=1)) for t in found)
