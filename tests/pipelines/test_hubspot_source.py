"""The HubSpot source against the sandbox's HubSpot emulator (real HTTP, real DuckDB), checked
against the world's parquet files: what lands, what a second or later run asks for and loads,
archived records, the search cap, rate limits, faults, bad credentials and schema drift."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import duckdb
import polars as pl
import pytest
import requests

from pipelines import config
from pipelines.ingest import SOURCES, SourceRun, SourceSpec, run_ingest
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS
from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox
from pipelines.sources.hubspot import settings
from pipelines.sources.hubspot.helpers import HubSpotClient, rate_limit_wait
from pipelines.sources.hubspot.records import RecordShape
from tests.pipelines.conftest import snapshot

Ingest = Callable[..., list[SourceRun]]
TYPES = ("contacts", "companies", "deals", "tickets", "notes", "calls")
# object type -> (world table, id column, engagement kind, modified column)
WORLD: dict[str, tuple[str, str, str | None, str]] = {
    "contacts": ("hubspot_contacts", "contact_id", None, "lastmodifieddate"),
    "companies": ("hubspot_companies", "company_id", None, "hs_lastmodifieddate"),
    "deals": ("hubspot_deals", "deal_id", None, "hs_lastmodifieddate"),
    "tickets": ("hubspot_tickets", "ticket_id", None, "hs_lastmodifieddate"),
    "notes": ("hubspot_engagements", "engagement_id", "note", "hs_lastmodifieddate"),
    "calls": ("hubspot_engagements", "engagement_id", "call", "hs_lastmodifieddate"),
}
# warehouse column -> world column, per type (timestamps compared as epoch ms)
VALUES: dict[str, dict[str, str]] = {
    "contacts": {
        "email": "email",
        "firstname": "firstname",
        "lastname": "lastname",
        "phone": "phone",
        "lifecyclestage": "lifecyclestage",
        "shopify_customer_id": "shopify_customer_id",
        "associatedcompanyid": "company_id",
        "createdate": "createdate",
        "lastmodifieddate": "lastmodifieddate",
    },
    "companies": {"name": "name", "domain": "domain", "hs_lastmodifieddate": "hs_lastmodifieddate"},
    "deals": {
        "dealname": "dealname",
        "amount_cents": "amount_cents",
        "dealstage": "dealstage",
        "closedate": "closedate",
        "hs_lastmodifieddate": "hs_lastmodifieddate",
    },
    "tickets": {
        "subject": "subject",
        "hs_pipeline_stage": "hs_pipeline_stage",
        "order_name": "order_name",
        "closed_date": "closed_date",
        "hs_lastmodifieddate": "hs_lastmodifieddate",
    },
    "notes": {"hs_note_body": "body", "hs_timestamp": "hs_timestamp"},
    "calls": {
        "hs_call_body": "body",
        "hs_call_direction": "call_direction",
        "hs_call_duration": "call_duration_ms",
        "hs_timestamp": "hs_timestamp",
    },
}
# (type, associated type) -> the world foreign key on the type's rows
LINKS = {
    ("contacts", "companies"): "company_id",
    ("deals", "contacts"): "contact_id",
    ("deals", "companies"): "company_id",
    ("tickets", "contacts"): "contact_id",
    ("notes", "contacts"): "contact_id",
    ("notes", "tickets"): "ticket_id",
    ("calls", "contacts"): "contact_id",
    ("calls", "tickets"): "ticket_id",
}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tickets": "ticket"}
SINGULAR |= {"notes": "note", "calls": "call"}
TIMESTAMP = pl.Datetime("us", "UTC")


REAL_SEARCH_RATE = settings.SEARCH_REQUESTS_PER_SECOND


@pytest.fixture(autouse=True)
def _search_rate_of_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's servers here allow 20 times HubSpot's search rate (or have no limit)."""
    monkeypatch.setattr(settings, "SEARCH_REQUESTS_PER_SECOND", 20 * REAL_SEARCH_RATE)


# --- reading the world and the warehouse ---------------------------------------------------


def world(root: Path, object_type: str) -> pl.DataFrame:
    """One object type's world rows (archived ones included), with ``id``."""
    table, key, kind, _ = WORLD[object_type]
    frame = pl.read_parquet(root / "world" / f"{table}.parquet")
    if kind is not None:
        frame = frame.filter(pl.col("kind") == kind)
    return frame.with_columns(id=pl.col(key))


def live(root: Path, object_type: str) -> pl.DataFrame:
    return world(root, object_type).filter(pl.col("archived_at").is_null())


def frame(sql: str) -> pl.DataFrame:
    with duckdb.connect(str(config.paths().warehouse), read_only=True) as con:
        return con.sql(sql).pl()


def tables() -> list[str]:
    found = frame(
        "select table_name from information_schema.tables where table_schema = 'raw_hubspot'"
    )
    return sorted(t for t in found["table_name"].to_list() if not t.startswith("_dlt"))


def assert_matches_world(root: Path) -> None:
    """Ids, values and associations of every object type equal the world's live records."""
    for object_type in TYPES:
        expected_rows = live(root, object_type)
        columns = VALUES[object_type]
        moments = {dst for dst, src in columns.items() if expected_rows.schema[src] == TIMESTAMP}
        selects = ["id"]
        for column in columns:
            if column == "amount_cents":
                selects.append("cast(amount * 100 as bigint) as amount_cents")
            elif column in moments:
                selects.append(f"epoch_ms({column}) as {column}")
            else:
                selects.append(column)
        got = frame(f"select {', '.join(selects)} from raw_hubspot.{object_type}").sort("id")
        expected = expected_rows.select(
            pl.col("id"),
            *[
                (pl.col(src).dt.epoch("ms") if dst in moments else pl.col(src)).alias(dst)
                for dst, src in columns.items()
            ],
        ).sort("id")
        assert got.height > 0, object_type
        assert got["id"].to_list() == expected["id"].to_list(), object_type
        assert got.to_dicts() == expected.cast(got.schema).to_dicts(), object_type
    for (object_type, target), key in LINKS.items():
        alive = set(live(root, target)["id"].to_list())
        pairs = live(root, object_type).select("id", key).drop_nulls().rows()
        expected_pairs = {(i, t) for i, t in pairs if t in alive}
        left, right = f"{SINGULAR[object_type]}_id", f"{SINGULAR[target]}_id"
        got_pairs = frame(
            f"select {left}, {right} from raw_hubspot.{object_type}__associated_{target}"
        ).rows()
        assert sorted(got_pairs) == sorted(expected_pairs), (object_type, target)
        assert expected_pairs, (object_type, target)


def searches(server: SandboxHTTPServer) -> list[dict[str, Any]]:
    return [e for e in server.log.entries("hubspot") if e["path"].endswith("/search")]


def listings(server: SandboxHTTPServer, archived: bool) -> list[dict[str, Any]]:
    flag = "true" if archived else "false"
    return [
        e
        for e in server.log.entries("hubspot")
        if e["method"] == "GET"
        and e["path"].startswith("/crm/v3/objects/")
        and e["query"].get("archived") == [flag]
    ]


def changed_ids(before: pl.DataFrame, after: pl.DataFrame, modified: str) -> set[int]:
    """Live records of ``after`` that are new or modified since ``before``."""
    old = dict(before.select("id", modified).rows())
    return {
        i
        for i, moment, archived in after.select("id", modified, "archived_at").rows()
        if archived is None and old.get(i) != moment
    }


def archived_ids(rows: pl.DataFrame) -> set[int]:
    return set(rows.filter(pl.col("archived_at").is_not_null())["id"].to_list())


def succeeded(runs: list[SourceRun]) -> SourceRun:
    (run,) = [r for r in runs if r.source == "hubspot"]
    assert run.status == "succeeded", run.error
    return run


def hubspot_call(server: SandboxHTTPServer, method: str, path: str, body: Any) -> Any:
    token = SANDBOX_CREDENTIALS["hubspot"]["access_token"]
    response = requests.request(
        method,
        f"{server.base_url('hubspot')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code < 300, response.text
    return response.json()


# --- tests ----------------------------------------------------------------------------------


def test_hubspot_full_load_matches_world(ingest: Ingest, sandbox_root: Path) -> None:
    run = succeeded(ingest("hubspot"))

    assert_matches_world(sandbox_root)
    archived = world(sandbox_root, "contacts").filter(pl.col("archived_at").is_not_null())
    assert archived.height > 0  # the world has archived contacts, and they did not land
    columns = frame("describe raw_hubspot.deals")
    types = dict(zip(columns["column_name"], columns["column_type"], strict=True))
    assert types["amount"].startswith("DECIMAL") and types["closedate"].startswith("TIMESTAMP")
    assert types["hs_object_id"] == "BIGINT"
    assert run.rows["contacts"] == world(sandbox_root, "contacts").height  # live + archived


def test_hubspot_second_run_asks_only_for_changes_and_loads_nothing(
    ingest: Ingest, sandbox_server: SandboxHTTPServer
) -> None:
    succeeded(ingest("hubspot"))
    sandbox_server.log.clear()

    run = succeeded(ingest("hubspot"))

    assert run.rows_total == 0
    assert listings(sandbox_server, archived=False) == []  # no full re-read
    assert len(searches(sandbox_server)) == len(TYPES)  # one search per type, one page each
    assert len(listings(sandbox_server, archived=True)) == len(TYPES)  # the archived sweeps
    paths = Counter(e["path"].split("/")[2] for e in sandbox_server.log.entries("hubspot"))
    assert paths == {"v3": 3 * len(TYPES)}  # properties, search, sweep: no association reads


def test_hubspot_incremental_runs_merge_changes_apply_archives_and_equal_a_full_refresh(
    ingest: Ingest, sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    succeeded(ingest("hubspot"))
    before = {t: world(sandbox_root, t) for t in TYPES}
    advance_world(sandbox_root, 7)  # a week: the small world's CRM changes a few times
    sandbox_server.log.clear()

    run = succeeded(ingest("hubspot"))

    changed = {t: changed_ids(before[t], world(sandbox_root, t), WORLD[t][3]) for t in TYPES}
    assert sum(len(ids) for ids in changed.values()) > 0
    archived = {t: archived_ids(world(sandbox_root, t)) - archived_ids(before[t]) for t in TYPES}
    expected_rows = {t: len(changed[t]) + len(archived[t]) for t in TYPES}
    assert {t: run.rows.get(t, 0) for t in TYPES} == expected_rows
    assert listings(sandbox_server, archived=False) == []
    assert len(searches(sandbox_server)) == len(TYPES)
    assert_matches_world(sandbox_root)

    # far enough for a contact to be archived (which changes nothing search can see)
    archived_before = archived_ids(world(sandbox_root, "contacts"))
    advance_world(sandbox_root, 89)
    newly_archived = archived_ids(world(sandbox_root, "contacts")) - archived_before
    assert newly_archived
    assert set(frame("select id from raw_hubspot.contacts")["id"]) & newly_archived

    succeeded(ingest("hubspot"))

    assert_matches_world(sandbox_root)
    assert not set(frame("select id from raw_hubspot.contacts")["id"]) & newly_archived
    orphans = frame(
        "select count(*) as n from raw_hubspot.contacts__associated_companies a "
        "left join raw_hubspot.contacts c on a._dlt_root_id = c._dlt_id where c.id is null"
    )
    assert orphans["n"][0] == 0
    incremental = snapshot("raw_hubspot")
    succeeded(ingest("hubspot", full_refresh=True))
    assert snapshot("raw_hubspot") == incremental


def test_hubspot_search_slices_past_the_result_cap(
    ingest: Ingest,
    sandbox_root: Path,
    sandbox_server: SandboxHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "INITIAL_LOAD_WITH_LIST", False)  # search from the start
    monkeypatch.setattr(settings, "SEARCH_RESULT_CAP", 25)
    monkeypatch.setattr(settings, "SEARCH_PAGE_SIZE", 10)

    succeeded(ingest("hubspot"))

    assert_matches_world(sandbox_root)
    statuses = Counter(e["status"] for e in searches(sandbox_server))
    assert statuses == {200: statuses[200]}  # never asked past the cap (that is a 400)
    assert statuses[200] > live(sandbox_root, "contacts").height / 10


def test_hubspot_bulk_update_with_one_timestamp_pages_past_the_cap_at_the_search_rate(
    sandbox_root: Path, use_sandbox: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SEARCH_REQUESTS_PER_SECOND", REAL_SEARCH_RATE)
    with running_sandbox(sandbox_root, rate_limits="realistic") as server:
        use_sandbox(server)
        succeeded(run_ingest(["hubspot"]))
        contacts = live(sandbox_root, "contacts")["id"].to_list()[:60]
        inputs = [{"id": str(i), "properties": {"lifecyclestage": "evangelist"}} for i in contacts]
        hubspot_call(server, "POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs})
        monkeypatch.setattr(settings, "SEARCH_RESULT_CAP", 25)  # 60 records share one timestamp
        server.log.clear()

        run = succeeded(run_ingest(["hubspot"]))

        assert run.rows["contacts"] == 60
        assert len(searches(server)) >= len(TYPES) + 60 // 25
        assert [e for e in server.log.entries("hubspot") if e["status"] == 429] == []
        stages = frame("select id, lifecyclestage from raw_hubspot.contacts")
        assert set(stages.filter(pl.col("lifecyclestage") == "evangelist")["id"]) == set(contacts)
        assert stages["id"].sort().to_list() == live(sandbox_root, "contacts")["id"].to_list()


def test_hubspot_rate_limit_answers_set_the_wait(sandbox_root: Path) -> None:
    token = SANDBOX_CREDENTIALS["hubspot"]["access_token"]
    with running_sandbox(sandbox_root, rate_limits="realistic") as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        base = server.base_url("hubspot")

        def first_429(send: Callable[[], requests.Response]) -> requests.Response:
            for _ in range(2000):  # far beyond either limit, however slow this machine is
                response = send()
                if response.status_code == 429:
                    return response
            raise AssertionError("HubSpot's emulator never throttled")

        secondly = first_429(lambda: session.post(f"{base}/crm/v3/objects/deals/search", json={}))
        rolling = first_429(lambda: session.get(f"{base}/crm/v3/objects/deals?limit=1"))

    assert secondly.json()["policyName"] == "SECONDLY"
    assert rate_limit_wait(secondly) == settings.SECONDLY_WAIT_SECONDS
    assert rolling.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert rate_limit_wait(rolling) == 10.0  # the window HubSpot's headers name


def test_hubspot_faults_leave_the_warehouse_as_a_fault_free_run(
    sandbox_root: Path,
    data_dir: Path,
    use_sandbox: Callable[..., None],
    sandbox_server: SandboxHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_sandbox(sandbox_root, faults=0.05, fault_seed=5, slow_seconds=0.05) as faulty:
        use_sandbox(faulty)
        succeeded(run_ingest(["hubspot"]))
        advance_world(sandbox_root, 30)
        succeeded(run_ingest(["hubspot"]))  # incremental, through faults too
        assert [e for e in faulty.log.entries("hubspot") if e["fault"]]
    with_faults = snapshot("raw_hubspot")

    # a fault-free load of the same world (an incremental load equals a full one: tested above)
    monkeypatch.setenv("CDP_DATA_DIR", str(data_dir.parent / "fault-free"))
    use_sandbox(sandbox_server)
    succeeded(run_ingest(["hubspot"]))

    assert snapshot("raw_hubspot") == with_faults


def _other_source() -> Any:
    @dlt.resource(name="things")
    def things() -> Any:
        yield [{"id": 1}]

    return things


class _OtherSpec(SourceSpec):
    def load_factory(self) -> Callable[..., Any]:
        return _other_source


def test_hubspot_wrong_credentials_fail_in_one_line_while_other_sources_load(
    use_sandbox: Callable[..., None],
    sandbox_server: SandboxHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "pat-na1-not-the-right-secret-42"
    use_sandbox(HUBSPOT__ACCESS_TOKEN=secret)
    monkeypatch.setitem(SOURCES, "other", _OtherSpec("other", "unused:unused", lambda _url: {}))

    # workers=1: the "other" spec exists only in this process
    runs = {run.source: run for run in run_ingest(["hubspot", "other"], workers=1)}

    failed = runs["hubspot"]
    assert failed.status == "failed" and failed.error is not None
    assert "SOURCES__HUBSPOT__ACCESS_TOKEN" in failed.error
    assert secret not in failed.error and "\n" not in failed.error
    assert runs["other"].status == "succeeded"
    assert frame("select count(*) as n from raw_other.things")["n"][0] == 1

    use_sandbox(HUBSPOT__BASE_URL=f"{sandbox_server.url}/not-hubspot")
    (wrong_url,) = run_ingest(["hubspot"])
    assert wrong_url.error is not None and "SOURCES__HUBSPOT__BASE_URL" in wrong_url.error


def test_hubspot_new_portal_property_lands_as_a_typed_column(
    ingest: Ingest, sandbox_root: Path, sandbox_server: SandboxHTTPServer
) -> None:
    succeeded(ingest("hubspot"))
    new_properties = (
        ("total_revenue", "number", "number"),
        ("mobilephone", "phone_number", "phonenumber"),
    )
    for name, kind, field in new_properties:
        definition = {"name": name, "label": name, "type": kind, "fieldType": field}
        definition["groupName"] = "contactinformation"
        hubspot_call(sandbox_server, "POST", "/crm/v3/properties/contacts", definition)
    contact = live(sandbox_root, "contacts")["id"][0]
    values = {"total_revenue": "1234.56", "mobilephone": "+1 415 555 0100"}
    upsert = {"inputs": [{"id": str(contact), "properties": values}]}
    hubspot_call(sandbox_server, "POST", "/crm/v3/objects/contacts/batch/upsert", upsert)

    run = succeeded(ingest("hubspot"))

    assert {"contacts.total_revenue", "contacts.mobilephone"} <= set(run.new_columns)
    row = frame(f"select total_revenue, mobilephone from raw_hubspot.contacts where id = {contact}")
    assert str(row["total_revenue"][0]) == "1234.560000000"
    assert row["mobilephone"][0] == "+1 415 555 0100"


def test_hubspot_value_that_breaks_its_type_lands_in_a_variant_column(
    data_dir: Path, sandbox_server: SandboxHTTPServer
) -> None:
    token = SANDBOX_CREDENTIALS["hubspot"]["access_token"]
    client = HubSpotClient(sandbox_server.base_url("hubspot"), token)
    deals = next(t for t in settings.OBJECT_TYPES if t.name == "deals")
    shape = RecordShape.from_definitions(deals, client.properties("deals", deals.scope))
    records = [
        {"id": "1", "properties": {"amount": "1500.5", "closedate": "2026-01-02T03:04:05.000Z"}},
        {"id": "2", "properties": {"amount": "call me", "closedate": "1767323045000"}},
    ]
    rows = [shape.row(record, {}) for record in records]
    pipeline = dlt.pipeline(
        "hubspot_drift",
        destination=dlt.destinations.duckdb(str(data_dir / "drift.duckdb")),
        dataset_name="raw_hubspot",
        pipelines_dir=str(data_dir / "dlt"),
    )

    pipeline.run(dlt.resource(rows, name="deals", columns=shape.columns, primary_key="id"))

    with duckdb.connect(str(data_dir / "drift.duckdb"), read_only=True) as con:
        sql = "select id, amount, amount__v_text, epoch_ms(closedate) from raw_hubspot.deals"
        got = con.sql(f"{sql} order by id").fetchall()
    assert [(i, str(a) if a is not None else None, t, c) for i, a, t, c in got] == [
        (1, "1500.500000000", None, 1767323045000),
        (2, None, "call me", 1767323045000),
    ]
