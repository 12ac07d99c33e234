"""Conformance of the HubSpot CRM v3 emulator: object pages, search, properties, auth, rate limits,
contact batch upsert, lists v3 memberships and GDPR deletion, checked against the world files."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

TOKEN = SANDBOX_CREDENTIALS["hubspot"]["access_token"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OBJECTS = {
    # object type: (world table, id column, engagement kind)
    "contacts": ("hubspot_contacts", "contact_id", None),
    "companies": ("hubspot_companies", "company_id", None),
    "deals": ("hubspot_deals", "deal_id", None),
    "tickets": ("hubspot_tickets", "ticket_id", None),
    "notes": ("hubspot_engagements", "engagement_id", "note"),
    "calls": ("hubspot_engagements", "engagement_id", "call"),
}


# --- helpers --------------------------------------------------------------------------------------


def world(root: Path, object_type: str) -> pl.DataFrame:
    """The world rows behind an object type (the independent truth)."""
    table, _, kind = OBJECTS[object_type]
    frame = pl.read_parquet(root / "world" / f"{table}.parquet")
    return frame.filter(pl.col("kind") == kind) if kind else frame


def ids(frame: pl.DataFrame, object_type: str, archived: bool = False) -> set[str]:
    """Object ids as HubSpot strings, of archived or non-archived rows."""
    column = OBJECTS[object_type][1]
    kept = frame.filter(pl.col("archived_at").is_not_null() == archived)
    return {str(i) for i in kept[column].to_list()}


def iso(moment: datetime | None) -> str | None:
    """HubSpot's timestamp rendering."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clock(root: Path) -> datetime:
    raw = json.loads((root / "world" / "meta.json").read_text())["clock"]
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw / 1_000_000 if raw > 1e14 else raw, UTC)
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def url(server: SandboxHTTPServer, path: str) -> str:
    return f"{server.base_url('hubspot')}{path}"


def walk(server: SandboxHTTPServer, object_type: str, **params: Any) -> list[dict[str, Any]]:
    """Every record of a list endpoint, following ``paging.next.link`` as dlt does."""
    found: list[dict[str, Any]] = []
    with requests.Session() as session:
        response = session.get(
            url(server, f"/crm/v3/objects/{object_type}"),
            params={"limit": 100, **params},
            headers=AUTH,
            timeout=30,
        )
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["results"]) <= 100
            found += body["results"]
            link = body.get("paging", {}).get("next", {}).get("link")
            if not link:
                return found
            assert link.startswith(server.base_url("hubspot"))
            response = session.get(link, headers=AUTH, timeout=30)


def search(server: SandboxHTTPServer, object_type: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        url(server, f"/crm/v3/objects/{object_type}/search"), json=body, headers=AUTH, timeout=30
    )


def search_all(server: SandboxHTTPServer, object_type: str, body: dict[str, Any]) -> list[dict]:
    """Every result of a search, paging with the numeric ``after``."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        response = search(server, object_type, {**body, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            assert len(found) == page["total"]
            return found


def assert_error(response: requests.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"] and body["correlationId"]
    return body


def upsert(server: SandboxHTTPServer, inputs: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        url(server, "/crm/v3/objects/contacts/batch/upsert"),
        json={"inputs": inputs},
        headers=AUTH,
        timeout=30,
    )


def create_property(server: SandboxHTTPServer, name: str) -> None:
    response = requests.post(
        url(server, "/crm/v3/properties/contacts"),
        json={
            "name": name,
            "label": name,
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 201, response.text


def create_list(server: SandboxHTTPServer, name: str, processing: str = "MANUAL") -> str:
    body: dict[str, Any] = {"name": name, "objectTypeId": "0-1", "processingType": processing}
    if processing != "MANUAL":
        body["filterBranch"] = {"filterBranchType": "OR", "filterBranches": [], "filters": []}
    response = requests.post(url(server, "/crm/v3/lists"), json=body, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["list"]["listId"])


def active_contacts(root: Path) -> pl.DataFrame:
    return world(root, "contacts").filter(pl.col("archived_at").is_null())


# --- list endpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize("object_type", list(OBJECTS))
def test_list_walk_returns_every_active_record_once(
    sandbox: SandboxHTTPServer, world_root: Path, object_type: str
) -> None:
    records = walk(sandbox, object_type)
    served = [r["id"] for r in records]
    assert len(served) == len(set(served))
    assert set(served) == ids(world(world_root, object_type), object_type)
    assert served == sorted(served, key=int)
    assert all(r["archived"] is False and "archivedAt" not in r for r in records)


@pytest.mark.parametrize("object_type", list(OBJECTS))
def test_list_archived_true_returns_only_archived(
    sandbox: SandboxHTTPServer, world_root: Path, object_type: str
) -> None:
    frame = world(world_root, object_type)
    records = walk(sandbox, object_type, archived="true")
    assert {r["id"] for r in records} == ids(frame, object_type, archived=True)
    archived_at = dict(
        zip(
            [str(i) for i in frame[OBJECTS[object_type][1]].to_list()],
            frame["archived_at"].to_list(),
            strict=True,
        )
    )
    for record in records:
        assert record["archived"] is True
        assert record["archivedAt"] == iso(archived_at[record["id"]])


def test_list_archived_contacts_exist_in_world(world_root: Path) -> None:
    """The archived sweep is only exercised if the world archives some contacts."""
    assert ids(world(world_root, "contacts"), "contacts", archived=True)


def test_list_contacts_render_world_values_as_strings(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    wanted = "email,firstname,lastname,phone,lifecyclestage,shopify_customer_id,associatedcompanyid"
    records = {r["id"]: r for r in walk(sandbox, "contacts", properties=wanted)}
    for row in active_contacts(world_root).iter_rows(named=True):
        record = records[str(row["contact_id"])]
        props = record["properties"]
        assert props["hs_object_id"] == str(row["contact_id"])
        for name in ("email", "firstname", "lastname", "phone", "lifecyclestage"):
            assert props[name] == row[name], name
        assert props["shopify_customer_id"] == row["shopify_customer_id"]
        company = row["company_id"]
        assert props["associatedcompanyid"] == (str(company) if company is not None else None)
        assert props["createdate"] == record["createdAt"] == iso(row["createdate"])
        assert props["lastmodifieddate"] == record["updatedAt"] == iso(row["lastmodifieddate"])


def test_list_default_properties_per_object_type(sandbox: SandboxHTTPServer) -> None:
    response = requests.get(
        url(sandbox, "/crm/v3/objects/deals"), params={"limit": 1}, headers=AUTH, timeout=10
    )
    props = response.json()["results"][0]["properties"]
    assert set(props) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    assert all(v is None or isinstance(v, str) for v in props.values())


def test_list_deal_amount_is_a_plain_decimal_string(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    amounts = {r["id"]: r["properties"]["amount"] for r in walk(sandbox, "deals")}
    deals = world(world_root, "deals").filter(pl.col("archived_at").is_null())
    assert deals.height > 0
    for deal_id, cents in deals.select("deal_id", "amount_cents").iter_rows():
        served = amounts[str(deal_id)]
        if cents is None:
            assert served is None
        else:
            assert "," not in served and round(float(served) * 100) == cents


def _links(record: dict[str, Any], name: str) -> list[str]:
    return [link["id"] for link in record.get("associations", {}).get(name, {}).get("results", [])]


def test_list_associations_match_world_foreign_keys(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    companies = ids(world(world_root, "companies"), "companies")
    deals = world(world_root, "deals").filter(pl.col("archived_at").is_null())
    tickets = world(world_root, "tickets").filter(pl.col("archived_at").is_null())
    records = walk(sandbox, "contacts", associations="companies,deals,tickets")
    assert any(r.get("associations") for r in records)
    for contact_id, company_id in (
        active_contacts(world_root).select("contact_id", "company_id").iter_rows()
    ):
        record = next(r for r in records if r["id"] == str(contact_id))
        expected = {str(company_id)} & companies if company_id is not None else set()
        assert set(_links(record, "companies")) == expected
        types = {
            link["type"]
            for link in record.get("associations", {}).get("companies", {}).get("results", [])
        }
        assert types <= {"contact_to_company", "contact_to_company_unlabeled"}
        own_deals = deals.filter(pl.col("contact_id") == contact_id)["deal_id"].to_list()
        assert sorted(_links(record, "deals"), key=int) == [str(d) for d in sorted(own_deals)]
        own_tickets = tickets.filter(pl.col("contact_id") == contact_id)["ticket_id"].to_list()
        assert set(_links(record, "tickets")) == {str(t) for t in own_tickets}


def test_list_deal_associations_point_back_to_contacts(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    contacts = ids(world(world_root, "contacts"), "contacts")
    records = {r["id"]: r for r in walk(sandbox, "deals", associations="contacts")}
    deals = world(world_root, "deals").filter(pl.col("archived_at").is_null())
    for deal_id, contact_id in deals.select("deal_id", "contact_id").iter_rows():
        expected = {str(contact_id)} & contacts if contact_id is not None else set()
        assert set(_links(records[str(deal_id)], "contacts")) == expected


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"archived": "maybe"}, "archived"),
        ({"after": "abc"}, "after"),
    ],
)
def test_list_bad_parameters_are_400(
    sandbox: SandboxHTTPServer, params: dict[str, Any], fragment: str
) -> None:
    response = requests.get(
        url(sandbox, "/crm/v3/objects/contacts"), params=params, headers=AUTH, timeout=10
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert fragment in body["message"]


def test_list_unknown_object_type_is_400(sandbox: SandboxHTTPServer) -> None:
    response = requests.get(url(sandbox, "/crm/v3/objects/widgets"), headers=AUTH, timeout=10)
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == "Unable to infer object type from: widgets"


def test_get_object_by_email_is_case_insensitive(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    row = active_contacts(world_root).filter(pl.col("email").is_not_null()).row(0, named=True)
    response = requests.get(
        url(sandbox, f"/crm/v3/objects/contacts/{row['email'].upper()}"),
        params={"idProperty": "email"},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(row["contact_id"])
    missing = requests.get(url(sandbox, "/crm/v3/objects/contacts/1"), headers=AUTH, timeout=10)
    assert_error(missing, 404, "OBJECT_NOT_FOUND")


# --- auth and properties --------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pat-na1-wrong"}])
def test_auth_missing_or_wrong_token_is_401(
    sandbox: SandboxHTTPServer, headers: dict[str, str]
) -> None:
    response = requests.get(url(sandbox, "/crm/v3/objects/contacts"), headers=headers, timeout=10)
    body = assert_error(response, 401, "INVALID_AUTHENTICATION")
    assert body["message"].startswith("Authentication credentials not found.")
    write = requests.post(
        url(sandbox, "/crm/v3/objects/contacts/batch/upsert"), json={"inputs": []}, timeout=10
    )
    assert write.status_code == 401
    assert sandbox.state("hubspot") == {}


def test_properties_define_every_served_property(sandbox: SandboxHTTPServer) -> None:
    for object_type in OBJECTS:
        response = requests.get(
            url(sandbox, f"/crm/v3/properties/{object_type}"), headers=AUTH, timeout=10
        )
        assert response.status_code == 200, response.text
        defined = {p["name"]: p for p in response.json()["results"]}
        record = requests.get(
            url(sandbox, f"/crm/v3/objects/{object_type}"),
            params={"limit": 1, "properties": ",".join(defined)},
            headers=AUTH,
            timeout=10,
        ).json()["results"][0]
        assert set(record["properties"]) == set(defined)
        assert defined["hs_object_id"]["type"] == "number"
        for prop in defined.values():
            assert prop["type"] in {"string", "number", "datetime", "enumeration", "bool"} | {
                "phone_number"
            }
    contacts = requests.get(url(sandbox, "/crm/v3/properties/contacts"), headers=AUTH, timeout=10)
    types = {p["name"]: p["type"] for p in contacts.json()["results"]}
    assert types["lastmodifieddate"] == "datetime"
    assert types["shopify_customer_id"] == "string"


# --- search ---------------------------------------------------------------------------------------


def _threshold(root: Path) -> datetime:
    modified = sorted(active_contacts(root)["lastmodifieddate"].to_list())
    return modified[len(modified) // 2]


def test_search_gte_lastmodifieddate_sorted_walk_is_exact(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    since = _threshold(world_root)
    expected = active_contacts(world_root).filter(pl.col("lastmodifieddate") >= since)
    found = search_all(
        sandbox,
        "contacts",
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": iso(since)}
                    ]
                }
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["email", "lastmodifieddate"],
            "limit": 200,
        },
    )
    served = [r["id"] for r in found]
    assert len(served) == len(set(served))
    assert set(served) == {str(i) for i in expected["contact_id"].to_list()}
    stamps = [r["properties"]["lastmodifieddate"] for r in found]
    assert stamps == sorted(stamps)


def test_search_keyset_walk_with_object_id_tie_break_is_exact(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    """The 10k-safe walk: sort by hs_object_id and restart after the last id, no offsets."""
    since = int(_threshold(world_root).timestamp() * 1000)  # epoch-ms strings work too
    expected = active_contacts(world_root).filter(
        pl.col("lastmodifieddate") >= datetime.fromtimestamp(since / 1000, UTC)
    )
    served: list[str] = []
    last = "0"
    while True:
        response = search(
            sandbox,
            "contacts",
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "lastmodifieddate",
                                "operator": "GTE",
                                "value": str(since),
                            },
                            {"propertyName": "hs_object_id", "operator": "GT", "value": last},
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": 50,
            },
        )
        assert response.status_code == 200, response.text
        page = response.json()["results"]
        if not page:
            break
        served += [r["id"] for r in page]
        last = page[-1]["id"]
    assert served == sorted({str(i) for i in expected["contact_id"].to_list()}, key=int)


def test_search_filters_match_world_exactly(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    contacts = active_contacts(world_root)
    row = contacts.filter(pl.col("email").is_not_null()).row(0, named=True)
    created = sorted(contacts["createdate"].to_list())
    low, high = created[len(created) // 4], created[3 * len(created) // 4]
    stages = sorted({s for s in contacts["lifecyclestage"].to_list() if s})[:2]
    cases = [
        (
            [{"propertyName": "email", "operator": "EQ", "value": row["email"].upper()}],
            contacts.filter(pl.col("email").str.to_lowercase() == row["email"].lower()),
        ),
        (
            [
                {
                    "propertyName": "createdate",
                    "operator": "BETWEEN",
                    "value": iso(low),
                    "highValue": iso(high),
                }
            ],
            contacts.filter(pl.col("createdate").is_between(low, high)),
        ),
        (
            [{"propertyName": "lifecyclestage", "operator": "IN", "values": stages}],
            contacts.filter(pl.col("lifecyclestage").is_in(stages)),
        ),
        (
            [{"propertyName": "lastname", "operator": "NOT_HAS_PROPERTY"}],
            contacts.filter(pl.col("lastname").is_null() | (pl.col("lastname") == "")),
        ),
        (
            [{"propertyName": "associatedcompanyid", "operator": "HAS_PROPERTY"}],
            contacts.filter(pl.col("company_id").is_not_null()),
        ),
    ]
    for filters, expected in cases:
        found = search_all(
            sandbox, "contacts", {"filterGroups": [{"filters": filters}], "limit": 200}
        )
        assert {r["id"] for r in found} == {str(i) for i in expected["contact_id"].to_list()}, (
            filters
        )


def test_search_filter_groups_are_ored(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    contacts = active_contacts(world_root).filter(pl.col("email").is_not_null())
    first, second = contacts.row(0, named=True), contacts.row(1, named=True)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": r["email"]}]}
            for r in (first, second)
        ]
    }
    found = search(sandbox, "contacts", body).json()
    assert {r["id"] for r in found["results"]} >= {
        str(first["contact_id"]),
        str(second["contact_id"]),
    }


def test_search_never_returns_archived(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    archived = ids(world(world_root, "contacts"), "contacts", archived=True)
    found = search_all(sandbox, "contacts", {"limit": 200})
    assert {r["id"] for r in found} == ids(world(world_root, "contacts"), "contacts")
    assert not archived & {r["id"] for r in found}


def test_search_caps_results_at_10000(sandbox: SandboxHTTPServer) -> None:
    at_cap = search(sandbox, "contacts", {"after": "9800", "limit": 200})
    assert at_cap.status_code == 200, at_cap.text
    assert at_cap.json()["results"] == []  # the world is smaller than the cap
    beyond = search(sandbox, "contacts", {"after": "9999", "limit": 2})
    assert_error(beyond, 400, "VALIDATION_ERROR")
    assert_error(
        search(sandbox, "contacts", {"after": "10000", "limit": 1}), 400, "VALIDATION_ERROR"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"filterGroups": [{"filters": []}] * 6},
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 11}
            ]
        },
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 9}
            ]
            * 3
        },
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}
            ]
        },
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "createdate", "operator": "GT", "value": "yesterday"}
                    ]
                }
            ]
        },
        {"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]},
        {"after": "abc"},
        {"unknownField": 1},
    ],
)
def test_search_invalid_requests_are_400(sandbox: SandboxHTTPServer, body: dict) -> None:
    assert_error(search(sandbox, "contacts", body), 400, "VALIDATION_ERROR")


def test_search_rate_limit_is_429_secondly(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        statuses, bodies = [], []
        with requests.Session() as session:
            for _ in range(12):
                response = session.post(
                    url(server, "/crm/v3/objects/contacts/search"),
                    json={"limit": 1},
                    headers=AUTH,
                    timeout=10,
                )
                statuses.append(response.status_code)
                bodies.append(response.json())
        assert statuses.count(200) >= 5
        assert 429 in statuses
        throttled = bodies[statuses.index(429)]
        assert throttled["status"] == "error"
        assert throttled["errorType"] == "RATE_LIMIT"
        assert throttled["policyName"] == "SECONDLY"
        assert throttled["message"] == "You have reached your secondly limit."
        assert throttled["correlationId"] and throttled["requestId"]
        time.sleep(1.1)  # the per-second window refills
        again = requests.post(
            url(server, "/crm/v3/objects/contacts/search"), json={}, headers=AUTH, timeout=10
        )
        assert again.status_code == 200


def test_rate_limit_burst_is_429_with_hubspot_headers(world_root: Path) -> None:
    with running_sandbox(world_root, rate_limits="realistic") as server:
        statuses, remaining = [], []
        for _ in range(1000):  # refills at 19/s: a quick loop outruns it
            response = requests.get(
                url(server, "/crm/v3/objects/companies"),
                params={"limit": 1},
                headers=AUTH,
                timeout=10,
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                body = response.json()
                break
            assert response.headers["X-HubSpot-RateLimit-Max"] == "190"
            assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
            remaining.append(int(response.headers["X-HubSpot-RateLimit-Remaining"]))
            assert int(response.headers["X-HubSpot-RateLimit-Daily-Remaining"]) < 650_000
        assert statuses[-1] == 429, "190 requests in 10 s must be throttled"
        assert len(remaining) >= 190
        assert remaining[0] > remaining[-1]
        assert body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"


# --- batch upsert ---------------------------------------------------------------------------------


def test_upsert_more_than_100_inputs_is_400(sandbox: SandboxHTTPServer) -> None:
    inputs = [
        {"id": f"bulk{i}@example.com", "idProperty": "email", "properties": {"firstname": "A"}}
        for i in range(101)
    ]
    body = assert_error(upsert(sandbox, inputs), 400, "VALIDATION_ERROR")
    assert "100" in body["message"]
    assert sandbox.state("hubspot").get("contacts", {}) == {}
    assert upsert(sandbox, inputs[:100]).status_code == 200


def test_upsert_creates_and_updates_and_state_matches(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    create_property(sandbox, "cdp_segment")
    existing = active_contacts(world_root).filter(pl.col("email").is_not_null()).row(0, named=True)
    sent = [
        {
            "id": existing["email"].upper(),  # HubSpot matches emails case-insensitively
            "idProperty": "email",
            "properties": {"cdp_segment": "vip", "firstname": "Annie"},
        },
        {
            "id": "brand.new@example.com",
            "idProperty": "email",
            "properties": {"cdp_segment": "vip", "lifecyclestage": "lead"},
        },
    ]
    response = upsert(sandbox, sent)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    first, second = body["results"]
    assert (first["id"], first["new"]) == (str(existing["contact_id"]), False)
    assert second["new"] is True and second["properties"]["email"] == "brand.new@example.com"
    assert all(isinstance(v, str | None) for r in body["results"] for v in r["properties"].values())

    state = sandbox.state("hubspot")["contacts"]
    assert set(state) == {first["id"], second["id"]}
    for item, result in zip(sent, body["results"], strict=True):
        recorded = state[result["id"]]
        assert recorded["properties"] == item["properties"]
        assert recorded["email"].lower() == item["id"].lower()

    again = upsert(sandbox, sent[1:])  # a retry converges on the same contact
    assert again.json()["results"][0]["id"] == second["id"]
    assert again.json()["results"][0]["new"] is False
    assert len(sandbox.state("hubspot")["contacts"]) == 2

    read = requests.get(
        url(sandbox, f"/crm/v3/objects/contacts/{first['id']}"),
        params={"properties": "cdp_segment,firstname"},
        headers=AUTH,
        timeout=10,
    ).json()
    assert read["properties"]["cdp_segment"] == "vip"
    assert read["properties"]["firstname"] == "Annie"
    assert second["id"] in {r["id"] for r in walk(sandbox, "contacts")}


@pytest.mark.parametrize(
    "item",
    [
        {"id": "not-an-email", "idProperty": "email", "properties": {"firstname": "A"}},
        {"id": "a@example.com", "idProperty": "email", "properties": {"no_such_prop": "x"}},
        {"id": "a@example.com", "idProperty": "email", "properties": {"lifecyclestage": "vip"}},
        {"id": "a@example.com", "idProperty": "email", "properties": {"hs_object_id": "1"}},
    ],
)
def test_upsert_invalid_input_rejects_whole_batch(
    sandbox: SandboxHTTPServer, item: dict[str, Any]
) -> None:
    good = {"id": "good@example.com", "idProperty": "email", "properties": {"firstname": "G"}}
    body = assert_error(upsert(sandbox, [good, item]), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Property values were not valid")
    assert sandbox.state("hubspot").get("contacts", {}) == {}


def test_upsert_duplicate_ids_in_one_batch_is_400(sandbox: SandboxHTTPServer) -> None:
    item = {"id": "twice@example.com", "idProperty": "email", "properties": {}}
    twin = {**item, "id": "TWICE@example.com"}
    body = assert_error(upsert(sandbox, [item, twin]), 400, "VALIDATION_ERROR")
    assert "Duplicate IDs" in body["message"]


def test_upsert_concurrent_retries_create_one_contact(sandbox: SandboxHTTPServer) -> None:
    item = {"id": "racer@example.com", "idProperty": "email", "properties": {"firstname": "R"}}
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: upsert(sandbox, [item]), range(8)))
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json()["results"][0]["id"] for r in responses}) == 1
    assert [r.json()["results"][0]["new"] for r in responses].count(True) == 1
    assert len(sandbox.state("hubspot")["contacts"]) == 1


def test_create_property_twice_is_409(sandbox: SandboxHTTPServer) -> None:
    create_property(sandbox, "cdp_tier")
    response = requests.post(
        url(sandbox, "/crm/v3/properties/contacts"),
        json={
            "name": "cdp_tier",
            "label": "x",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
        headers=AUTH,
        timeout=10,
    )
    assert_error(response, 409, "OBJECT_ALREADY_EXISTS")
    listed = requests.get(url(sandbox, "/crm/v3/properties/contacts"), headers=AUTH, timeout=10)
    assert "cdp_tier" in {p["name"] for p in listed.json()["results"]}


# --- lists ----------------------------------------------------------------------------------------


def test_list_create_lookup_and_duplicate_name(sandbox: SandboxHTTPServer) -> None:
    list_id = create_list(sandbox, "VIP customers")
    by_id = requests.get(url(sandbox, f"/crm/v3/lists/{list_id}"), headers=AUTH, timeout=10)
    assert by_id.json()["list"]["processingType"] == "MANUAL"
    by_name = requests.get(
        url(sandbox, "/crm/v3/lists/object-type-id/0-1/name/VIP%20customers"),
        headers=AUTH,
        timeout=10,
    )
    assert by_name.status_code == 200 and by_name.json()["list"]["listId"] == list_id
    duplicate = requests.post(
        url(sandbox, "/crm/v3/lists"),
        json={"name": "VIP customers", "objectTypeId": "0-1", "processingType": "MANUAL"},
        headers=AUTH,
        timeout=10,
    )
    assert_error(duplicate, 400, "VALIDATION_ERROR")
    unknown = requests.get(
        url(sandbox, "/crm/v3/lists/object-type-id/0-1/name/nope"), headers=AUTH, timeout=10
    )
    assert_error(unknown, 404, "OBJECT_NOT_FOUND")


def test_list_add_and_remove_semantics(sandbox: SandboxHTTPServer, world_root: Path) -> None:
    list_id = create_list(sandbox, "Winback")
    members = [str(i) for i in active_contacts(world_root)["contact_id"].to_list()[:5]]
    base = url(sandbox, f"/crm/v3/lists/{list_id}/memberships")
    first = requests.put(f"{base}/add", json=[*members[:3], "999999999"], headers=AUTH, timeout=10)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "recordIdsMissing": ["999999999"],
        "recordIdsRemoved": [],
        "recordsIdsAdded": members[:3],
    }
    repeat = requests.put(f"{base}/add", json=members[:3], headers=AUTH, timeout=10).json()
    assert repeat["recordsIdsAdded"] == [] and repeat["recordIdsMissing"] == []
    both = requests.put(
        f"{base}/add-and-remove",
        json={"recordIdsToAdd": members[3:5], "recordIdsToRemove": [members[0], members[4]]},
        headers=AUTH,
        timeout=10,
    ).json()
    assert both["recordsIdsAdded"] == members[3:5]
    assert sorted(both["recordIdsRemoved"]) == sorted([members[0], members[4]])
    removed = requests.put(f"{base}/remove", json=[members[0]], headers=AUTH, timeout=10).json()
    assert removed["recordIdsRemoved"] == []  # not a member any more: ignored
    expected = {members[1], members[2], members[3]}
    assert set(sandbox.state("hubspot")["lists"][list_id]["members"]) == expected
    paged: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = requests.get(base, params=params, headers=AUTH, timeout=10).json()
        paged += [m["recordId"] for m in page["results"]]
        if "paging" not in page:
            break
        params["after"] = page["paging"]["next"]["after"]
    assert paged == sorted(expected, key=int)


def test_list_memberships_only_on_manual_or_snapshot(sandbox: SandboxHTTPServer) -> None:
    list_id = create_list(sandbox, "Dynamic one", processing="DYNAMIC")
    response = requests.put(
        url(sandbox, f"/crm/v3/lists/{list_id}/memberships/add"),
        json=["1"],
        headers=AUTH,
        timeout=10,
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    missing = requests.put(
        url(sandbox, "/crm/v3/lists/424242/memberships/add"), json=["1"], headers=AUTH, timeout=10
    )
    assert_error(missing, 404, "OBJECT_NOT_FOUND")


def test_list_membership_batch_limit_is_enforced(sandbox: SandboxHTTPServer) -> None:
    list_id = create_list(sandbox, "Huge")
    too_many = [str(i) for i in range(100_001)]
    response = requests.put(
        url(sandbox, f"/crm/v3/lists/{list_id}/memberships/add"),
        json=too_many,
        headers=AUTH,
        timeout=30,
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    assert sandbox.state("hubspot")["lists"][list_id]["members"] == {}


# --- GDPR deletion --------------------------------------------------------------------------------


def test_gdpr_delete_removes_contact_everywhere(
    sandbox: SandboxHTTPServer, world_root: Path
) -> None:
    row = active_contacts(world_root).filter(pl.col("email").is_not_null()).row(0, named=True)
    contact_id = str(row["contact_id"])
    list_id = create_list(sandbox, "Before deletion")
    requests.put(
        url(sandbox, f"/crm/v3/lists/{list_id}/memberships/add"),
        json=[contact_id],
        headers=AUTH,
        timeout=10,
    )
    response = requests.post(
        url(sandbox, "/crm/v3/objects/contacts/gdpr-delete"),
        json={"objectId": row["email"], "idProperty": "email"},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 204 and response.content == b""
    gone = requests.get(
        url(sandbox, f"/crm/v3/objects/contacts/{contact_id}"), headers=AUTH, timeout=10
    )
    assert_error(gone, 404, "OBJECT_NOT_FOUND")
    assert contact_id not in {r["id"] for r in walk(sandbox, "contacts")}
    found = search(
        sandbox,
        "contacts",
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_object_id", "operator": "EQ", "value": contact_id}
                    ]
                }
            ]
        },
    ).json()
    assert found["total"] == 0
    state = sandbox.state("hubspot")
    assert [d["contactId"] for d in state["gdpr_deletions"]] == [contact_id]
    assert state["lists"][list_id]["members"] == {}
    retry = requests.post(
        url(sandbox, "/crm/v3/objects/contacts/gdpr-delete"),
        json={"objectId": contact_id},
        headers=AUTH,
        timeout=10,
    )
    assert_error(retry, 404, "OBJECT_NOT_FOUND")


# --- incremental after the world moves on ---------------------------------------------------------


def test_advance_world_search_and_archived_sweep_see_changes(fresh_world: Path) -> None:
    before = clock(fresh_world)
    with running_sandbox(fresh_world, rate_limits="off") as server:
        server.ctx.state.reset()  # the copied sandbox may carry another test's write state
        walk(server, "contacts")  # warm the views of the old world
        archived_before = {r["id"] for r in walk(server, "contacts", archived="true")}
        advance_world(fresh_world, 7)
        contacts = world(fresh_world, "contacts")
        changed = contacts.filter(
            pl.col("archived_at").is_null() & (pl.col("lastmodifieddate") >= before)
        )
        assert changed.height > 0, "advancing a week must change some contacts"
        found = search_all(
            server,
            "contacts",
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "lastmodifieddate",
                                "operator": "GTE",
                                "value": iso(before),
                            }
                        ]
                    }
                ],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "limit": 200,
            },
        )
        assert {r["id"] for r in found} == {str(i) for i in changed["contact_id"].to_list()}
        archived_now = {r["id"] for r in walk(server, "contacts", archived="true")}
        assert archived_now == ids(contacts, "contacts", archived=True)
        newly = {
            str(i) for i in contacts.filter(pl.col("archived_at") >= before)["contact_id"].to_list()
        }
        assert newly <= archived_now
        assert newly.isdisjoint(archived_before)
