"""Conformance of the Mailchimp emulator: audiences, member upserts, batch limits and errors."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

AUTH = ("anystring", "sandboxkey-us1")
AUDIENCE = {
    "name": "Archipelago VIPs",
    "contact": {
        "company": "Tidewater Supply Co.",
        "address1": "1 Harbor Way",
        "city": "Portland",
        "state": "ME",
        "zip": "04101",
        "country": "US",
    },
    "permission_reminder": "You bought from our shop.",
    "campaign_defaults": {
        "from_name": "Tidewater",
        "from_email": "hello@tidewatersupply.com",
        "subject": "News",
        "language": "en",
    },
    "email_type_option": False,
}


def url(server: SandboxHTTPServer, path: str) -> str:
    return f"{server.base_url('mailchimp')}/3.0{path}"


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def new_audience(server: SandboxHTTPServer) -> str:
    response = requests.post(url(server, "/lists"), auth=AUTH, json=AUDIENCE, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def problem(response: requests.Response, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://mailchimp.com/developer/marketing/docs/errors/"
    assert (body["status"], body["title"]) == (status, title)
    assert body["detail"] and body["instance"]
    return body


def members_of(server: SandboxHTTPServer, list_id: str) -> dict[str, dict[str, Any]]:
    """The recorded members of an audience, by subscriber hash."""
    return server.state("mailchimp")["lists"][list_id]["members"]  # type: ignore[no-any-return]


def test_auth_errors_use_mailchimp_bodies(sandbox: SandboxHTTPServer) -> None:
    problem(requests.get(url(sandbox, "/lists"), timeout=30), 401, "API Key Missing")
    wrong = requests.get(url(sandbox, "/lists"), auth=("user", "bad-us1"), timeout=30)
    problem(wrong, 401, "API Key Invalid")
    bearer = {"Authorization": "Bearer sandboxkey-us1"}
    assert requests.get(url(sandbox, "/ping"), headers=bearer, timeout=30).status_code == 200


def test_audience_create_validates_and_is_listed(sandbox: SandboxHTTPServer) -> None:
    body = problem(
        requests.post(url(sandbox, "/lists"), auth=AUTH, json={"name": "x"}, timeout=30),
        400,
        "Invalid Resource",
    )
    assert {e["field"] for e in body["errors"]} >= {"contact", "permission_reminder"}
    list_id = new_audience(sandbox)
    listed = requests.get(url(sandbox, "/lists"), auth=AUTH, timeout=30).json()
    assert listed["total_items"] == 1 and listed["lists"][0]["id"] == list_id
    one = requests.get(url(sandbox, f"/lists/{list_id}"), auth=AUTH, timeout=30).json()
    assert one["name"] == AUDIENCE["name"] and one["stats"]["member_count"] == 0
    problem(
        requests.get(url(sandbox, "/lists/nope"), auth=AUTH, timeout=30), 404, "Resource Not Found"
    )


def test_put_member_upserts_by_hash_and_rejects_a_mismatch(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    email = "Jane.Doe@Gmail.com"
    member_url = url(sandbox, f"/lists/{list_id}/members/{md5(email)}")
    body = {
        "email_address": email,
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Jane"},
    }
    first = requests.put(member_url, auth=AUTH, json=body, timeout=30)
    assert first.status_code == 200 and first.json()["status"] == "subscribed"
    again = requests.put(member_url, auth=AUTH, json=body, timeout=30)  # idempotent
    assert again.json()["id"] == first.json()["id"] == md5(email)
    assert list(members_of(sandbox, list_id)) == [md5(email)]
    assert members_of(sandbox, list_id)[md5(email)]["merge_fields"]["FNAME"] == "Jane"

    wrong = url(sandbox, f"/lists/{list_id}/members/{md5('someone@else.org')}")
    problem(requests.put(wrong, auth=AUTH, json=body, timeout=30), 400, "Invalid Resource")
    assert list(members_of(sandbox, list_id)) == [md5(email)]


def test_status_if_new_does_not_resubscribe_an_unsubscribed_member(
    sandbox: SandboxHTTPServer,
) -> None:
    list_id = new_audience(sandbox)
    email = "leaver@gmail.com"
    member_url = url(sandbox, f"/lists/{list_id}/members/{md5(email)}")
    requests.put(
        member_url,
        auth=AUTH,
        json={"email_address": email, "status_if_new": "unsubscribed"},
        timeout=30,
    )
    upsert = {"email_address": email, "status_if_new": "subscribed"}
    response = requests.put(member_url, auth=AUTH, json=upsert, timeout=30)
    assert response.json()["status"] == "unsubscribed"
    forced = {"email_address": email, "status": "subscribed"}
    problem(
        requests.put(member_url, auth=AUTH, json=forced, timeout=30),
        400,
        "Member In Compliance State",
    )
    reconfirm = {"email_address": email, "status": "pending"}
    assert (
        requests.put(member_url, auth=AUTH, json=reconfirm, timeout=30).json()["status"]
        == "pending"
    )


def test_batch_of_501_members_is_rejected(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    members = [{"email_address": f"p{i}@gmail.com", "status": "subscribed"} for i in range(501)]
    response = requests.post(
        url(sandbox, f"/lists/{list_id}"), auth=AUTH, json={"members": members}, timeout=30
    )
    problem(response, 400, "Invalid Resource")
    assert members_of(sandbox, list_id) == {}


def test_batch_reports_bad_members_and_applies_the_rest(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    good = [
        {
            "email_address": f"Buyer{i}@Gmail.com",
            "status": "subscribed",
            "merge_fields": {"FNAME": f"B{i}"},
        }
        for i in range(499)
    ]
    bad = {"email_address": "not-an-address", "status": "subscribed"}
    response = requests.post(
        url(sandbox, f"/lists/{list_id}"),
        auth=AUTH,
        json={"members": [*good[:200], bad, *good[200:]], "update_existing": True},
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total_created"] == 499 and body["error_count"] == 1
    assert body["errors"][0]["email_address"] == "not-an-address"
    assert body["errors"][0]["error_code"] == "ERROR_GENERIC"
    stored = members_of(sandbox, list_id)
    assert {m["email_address"] for m in stored.values()} == {g["email_address"] for g in good}
    assert set(stored) == {md5(g["email_address"]) for g in good}
    assert all(m["status"] == "subscribed" for m in stored.values())
    assert stored[md5("buyer7@gmail.com")]["merge_fields"]["FNAME"] == "B7"

    fake = {"email_address": "someone@example.com", "status": "subscribed"}
    again = requests.post(
        url(sandbox, f"/lists/{list_id}"),
        auth=AUTH,
        json={"members": [good[0], fake]},
        timeout=30,
    ).json()
    codes = {e["email_address"]: e["error_code"] for e in again["errors"]}
    assert codes == {
        good[0]["email_address"]: "ERROR_CONTACT_EXISTS",
        "someone@example.com": "ERROR_GENERIC",
    }
    assert "looks fake or invalid" in again["errors"][1]["error"]


def test_batch_update_never_resubscribes_an_unsubscribed_member(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    batch_url = url(sandbox, f"/lists/{list_id}")
    out = {"email_address": "gone@gmail.com", "status": "unsubscribed"}
    requests.post(batch_url, auth=AUTH, json={"members": [out]}, timeout=30)
    back = {"email_address": "gone@gmail.com", "status": "subscribed"}
    body = requests.post(
        batch_url, auth=AUTH, json={"members": [back], "update_existing": True}, timeout=30
    ).json()
    assert body["error_count"] == 1 and "compliance state" in body["errors"][0]["error"]
    assert members_of(sandbox, list_id)[md5("gone@gmail.com")]["status"] == "unsubscribed"


def test_members_page_with_count_offset_and_status(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    members = [
        {"email_address": f"m{i}@gmail.com", "status": "subscribed" if i % 3 else "unsubscribed"}
        for i in range(25)
    ]
    requests.post(
        url(sandbox, f"/lists/{list_id}"), auth=AUTH, json={"members": members}, timeout=30
    )
    seen: list[str] = []
    offset = 0
    while True:
        page = requests.get(
            url(sandbox, f"/lists/{list_id}/members"),
            auth=AUTH,
            params={"count": 10, "offset": offset, "status": "subscribed"},
            timeout=30,
        ).json()
        assert page["total_items"] == 16
        seen += [m["email_address"] for m in page["members"]]
        offset += 10
        if offset >= page["total_items"]:
            break
    expected = [m["email_address"] for m in members if m["status"] == "subscribed"]
    assert sorted(seen) == sorted(expected)
    too_many = requests.get(
        url(sandbox, f"/lists/{list_id}/members"), auth=AUTH, params={"count": 1001}, timeout=30
    )
    problem(too_many, 400, "Invalid Resource")
    fields = requests.get(
        url(sandbox, f"/lists/{list_id}/members"),
        auth=AUTH,
        params={"fields": "members.email_address,total_items", "count": 1},
        timeout=30,
    ).json()
    assert fields == {"members": [{"email_address": "m0@gmail.com"}], "total_items": 25}


def test_archive_and_permanent_delete(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    email = "forget.me@gmail.com"
    member_url = url(sandbox, f"/lists/{list_id}/members/{md5(email)}")
    put = {"email_address": email, "status_if_new": "subscribed"}
    requests.put(member_url, auth=AUTH, json=put, timeout=30)
    assert requests.delete(member_url, auth=AUTH, timeout=30).status_code == 204
    assert members_of(sandbox, list_id)[md5(email)]["status"] == "archived"
    listed = requests.get(url(sandbox, f"/lists/{list_id}/members"), auth=AUTH, timeout=30).json()
    assert listed["total_items"] == 0
    erase = url(sandbox, f"/lists/{list_id}/members/{md5(email)}/actions/delete-permanent")
    assert requests.post(erase, auth=AUTH, timeout=30).status_code == 204
    assert members_of(sandbox, list_id) == {}
    again = requests.put(member_url, auth=AUTH, json=put, timeout=30)
    problem(again, 400, "Forgotten Email Not Subscribed")


def test_tags_are_added_and_removed(sandbox: SandboxHTTPServer) -> None:
    list_id = new_audience(sandbox)
    email = "tagged@gmail.com"
    member_url = url(sandbox, f"/lists/{list_id}/members/{md5(email)}")
    requests.put(
        member_url,
        auth=AUTH,
        json={"email_address": email, "status_if_new": "subscribed"},
        timeout=30,
    )
    tags = {"tags": [{"name": "vip", "status": "active"}, {"name": "winback", "status": "active"}]}
    assert requests.post(f"{member_url}/tags", auth=AUTH, json=tags, timeout=30).status_code == 204
    off = {"tags": [{"name": "winback", "status": "inactive"}]}
    requests.post(f"{member_url}/tags", auth=AUTH, json=off, timeout=30)
    assert members_of(sandbox, list_id)[md5(email)]["tags"] == ["vip"]
    rendered = requests.get(member_url, auth=AUTH, timeout=30).json()
    assert [t["name"] for t in rendered["tags"]] == ["vip"] and rendered["tags_count"] == 1


def test_more_than_ten_simultaneous_requests_get_429(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        emulator = server.emulators["mailchimp"]
        with ExitStack() as held:  # ten requests in flight
            slots = [held.enter_context(emulator.connection()) for _ in range(10)]  # type: ignore[attr-defined]
            assert all(slots)
            busy = requests.get(url(server, "/ping"), auth=AUTH, timeout=30)
        problem(busy, 429, "Too Many Requests")
        assert requests.get(url(server, "/ping"), auth=AUTH, timeout=30).status_code == 200
