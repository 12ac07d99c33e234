"""Identity resolution against the sandbox's truth: sandbox -> ingest -> `dbt build` of the
identity models (and what they read) on the small world, then again after the world's clock
moved 7 days; pairs of records are compared with `truth/identity.parquet` (never with the models'
own output), and customer ids must survive the second run unless their customer merged.

Population of the quality figures: the records present both in the truth file and in
`marts.customer_identities` (archived HubSpot contacts are hard-deleted by the source, so they
are in the truth but not in the warehouse). The thresholds apply to the records that carry at
least one identifier as the vendor serves it (a non-empty email or phone, or a cross-reference:
a Shopify customer or order id, a Klaviyo profile that started the checkout; junk values count
as identifiers), computed here from the world tables; the figures for all records are printed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.sandbox.generate import advance_world
from pipelines.sandbox.sim.noise import JUNK_EMAILS, JUNK_PHONES
from pipelines.transform import run_dbt
from tests.dbt.conftest import ingest_everything, ingested_copy

PRECISION_TARGET = 0.99
RECALL_TARGET = 0.97
ADVANCE_DAYS = 7
# the identity models and everything they read, with the identity tests (staging's own tests
# are test_staging's business)
IDENTITY_BUILD = [
    "build",
    "--select",
    "+customer_merges",
    "+identity_skipped_identifiers",
    "--exclude",
    "path:models/staging,resource_type:test",
    "test_type:singular",
    "--indirect-selection",
    "cautious",
]

# Per (source, record_type): the world table, its id as the truth writes it, and whether the
# vendor serves an identifier for the record (junk included). Checkouts: the Shopify customer, or
# the Klaviyo profile of its Started Checkout event.
CARRIES_IDENTIFIER = """
    select 'shopify' as source, 'customer' as record_type,
        'gid://shopify/Customer/' || customer_id as record_id,
        nullif(trim(email), '') is not null or nullif(trim(phone), '') is not null as has_identifier
    from {shopify_customers}
    union all
    select 'shopify', 'order', 'gid://shopify/Order/' || order_id,
        nullif(trim(email), '') is not null or nullif(trim(phone), '') is not null
        or customer_id is not null
    from {shopify_orders}
    union all
    select 'shopify', 'abandoned_checkout', 'gid://shopify/AbandonedCheckout/' || checkout_id,
        customer_id is not null
        or checkout_id in (select checkout_id from {klaviyo_events} where checkout_id is not null)
    from {shopify_abandoned_checkouts}
    union all
    select 'amazon', 'order', amazon_order_id,
        nullif(trim(buyer_email), '') is not null or nullif(trim(ship_phone), '') is not null
    from {amazon_orders}
    union all
    select 'pos', 'transaction', transaction_id,
        nullif(trim(email), '') is not null or nullif(trim(phone), '') is not null
    from {pos_transactions}
    union all
    select 'hubspot', 'contact', cast(contact_id as varchar),
        nullif(trim(email), '') is not null or nullif(trim(phone), '') is not null
        or nullif(trim(shopify_customer_id), '') is not null
    from {hubspot_contacts}
    union all
    select 'klaviyo', 'profile', profile_id,
        nullif(trim(email), '') is not null or nullif(trim(phone_number), '') is not null
        or nullif(trim(external_id), '') is not null
    from {klaviyo_profiles}
    union all
    select 'shipstation', 'shipment', cast(shipment_id as varchar),
        true
    from {shipstation_shipments}
"""
WORLD_TABLES = (
    "shopify_customers",
    "shopify_orders",
    "shopify_abandoned_checkouts",
    "klaviyo_events",
    "amazon_orders",
    "pos_transactions",
    "hubspot_contacts",
    "klaviyo_profiles",
    "shipstation_shipments",
)
KEY = ["source", "record_type", "record_id"]


@dataclass
class Run:
    """One build's outcome and what the tests compare, read into memory."""

    success: bool
    failures: list[str]
    seconds: float
    truth: pl.DataFrame  # source, record_type, record_id, person_id, has_identifier, is_live
    identities: pl.DataFrame  # customer_identities
    merges: pl.DataFrame  # customer_merges
    skipped: pl.DataFrame  # identity_skipped_identifiers


@dataclass
class Build:
    """The build on the small world, and the one after its clock moved ADVANCE_DAYS."""

    first: Run
    second: Run


def _read_run(root: Path, success: bool, failures: list[str], seconds: float) -> Run:
    world = root / "sandbox" / "world"
    tables = {name: f"read_parquet('{world / f'{name}.parquet'}')" for name in WORLD_TABLES}
    with duckdb.connect() as con:
        truth = con.execute(
            f"""
            select truth.*, served.has_identifier,
                not (truth.source = 'hubspot' and truth.record_id in (
                    select cast(contact_id as varchar) from {tables["hubspot_contacts"]}
                    where archived_at is not null)) as is_live
            from read_parquet('{root / "sandbox" / "truth" / "identity.parquet"}') as truth
            left join ({CARRIES_IDENTIFIER.format(**tables)}) as served
                using (source, record_type, record_id)
            """
        ).pl()
    # read-write like dbt and dlt in this process: DuckDB refuses a second configuration
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        identities = con.execute("select * from marts.customer_identities").pl()
        merges = con.execute("select * from marts.customer_merges").pl()
        skipped = con.execute("select * from marts.identity_skipped_identifiers").pl()
    return Run(success, failures, seconds, truth, identities, merges, skipped)


def _build() -> tuple[bool, list[str], float]:
    started = time.perf_counter()
    success, failures, _ = run_dbt(IDENTITY_BUILD)
    return success, failures, time.perf_counter() - started


@pytest.fixture(scope="module")
def built(ingested_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """The small world ingested and resolved, then advanced 7 days, ingested and resolved again."""
    root = tmp_path_factory.mktemp("identity") / "data"
    with ingested_copy(ingested_root, root) as paths:
        first = _read_run(root, *_build())
        advance_world(paths.sandbox, ADVANCE_DAYS)
        ingest_everything(paths)  # incremental, from the copied dlt state
        second = _read_run(root, *_build())
        yield Build(first, second)


def pairwise(frame: pl.DataFrame) -> tuple[float, float, int]:
    """Pairwise precision and recall of customer_id against person_id, and the record count."""

    def pairs(*by: str) -> int:
        sizes = frame.group_by(*by).len().get_column("len")
        return int((sizes * (sizes - 1) // 2).sum())

    together = pairs("person_id", "customer_id")
    predicted = pairs("customer_id")
    true = pairs("person_id")
    precision = together / predicted if predicted else 1.0
    recall = together / true if true else 1.0
    return precision, recall, frame.height


def quality(run: Run) -> dict[str, tuple[float, float, int]]:
    joined = run.truth.join(run.identities.select(*KEY, "customer_id"), on=KEY, how="inner")
    return {
        "with an identifier": pairwise(joined.filter(pl.col("has_identifier"))),
        "all records": pairwise(joined),
    }


@pytest.mark.parametrize("which", ["first", "second"])
def test_identity_builds_and_its_tests_pass(built: Build, which: str) -> None:
    run: Run = getattr(built, which)
    assert run.success, run.failures


@pytest.mark.parametrize("which", ["first", "second"])
def test_identity_has_every_live_record_once(built: Build, which: str) -> None:
    run: Run = getattr(built, which)
    assert run.identities.select(KEY).is_duplicated().sum() == 0
    live = run.truth.filter(pl.col("is_live")).select(KEY)
    assert live.join(run.identities.select(KEY), on=KEY, how="anti").height == 0
    assert run.identities.select(KEY).join(run.truth.select(KEY), on=KEY, how="anti").height == 0


@pytest.mark.parametrize("which", ["first", "second"])
def test_identity_pairwise_precision_and_recall(
    built: Build, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run: Run = getattr(built, which)
    figures = quality(run)
    with capsys.disabled():
        for population, (precision, recall, records) in figures.items():
            print(
                f"\nidentity ({which} build, {run.seconds:.1f} s) {population}: "
                f"{records} records, precision {precision:.4f}, recall {recall:.4f}"
            )
    precision, recall, records = figures["with an identifier"]
    assert records > 1000, "too few records for the figures to mean anything"
    assert precision >= PRECISION_TARGET
    assert recall >= RECALL_TARGET


def test_identity_skips_the_junk_values_the_world_holds(built: Build) -> None:
    run = built.first
    blocked = run.skipped.filter(pl.col("skip_reason") == "blocklist")
    emails = set(blocked.filter(pl.col("identifier_type") == "email")["identifier_value"])
    phones = set(blocked.filter(pl.col("identifier_type") == "phone")["identifier_value"])
    typed = run.identities.select("email_normalized", "phone_e164")
    junk_emails = set(typed["email_normalized"].drop_nulls()) & set(JUNK_EMAILS)
    junk_phones = set(typed["phone_e164"].drop_nulls()) & {f"+1{phone}" for phone in JUNK_PHONES}
    assert junk_emails and junk_phones, "the world holds no junk: the check would prove nothing"
    assert junk_emails <= emails
    assert junk_phones <= phones


def test_identity_never_links_through_a_skipped_identifier(built: Build) -> None:
    """Records sharing only a skipped value are not put together by it: each junk email's
    records belong to as many customers as they have true people (or more)."""
    run = built.first
    joined = run.truth.join(run.identities, on=KEY, how="inner")
    junk = joined.filter(pl.col("email_normalized").is_in(list(JUNK_EMAILS)))
    per_value = junk.group_by("email_normalized").agg(
        pl.col("person_id").n_unique().alias("people"),
        pl.col("customer_id").n_unique().alias("customers"),
    )
    assert per_value.height > 0
    assert (per_value["customers"] >= per_value["people"]).all()


def test_identity_keeps_customer_ids_unless_merged(built: Build) -> None:
    before = built.first.identities.select(*KEY, pl.col("customer_id").alias("before"))
    after = built.second.identities.select(*KEY, pl.col("customer_id").alias("after"))
    both = before.join(after, on=KEY, how="inner")
    assert both.height > 0.9 * before.height, "most records should still be there"
    assert after.height > before.height, "the week added no records: nothing was tested"
    changed = both.filter(pl.col("before") != pl.col("after"))
    merges = built.second.merges.select(
        pl.col("merged_customer_id").alias("before"),
        pl.col("surviving_customer_id").alias("after"),
    )
    unexplained = changed.join(merges, on=["before", "after"], how="anti")
    assert unexplained.height == 0, unexplained.head(10)
    # a merged customer id is retired, and the survivor is the older customer
    assert merges["before"].is_in(after["after"].implode()).sum() == 0
    first_seen = built.first.identities.group_by("customer_id").agg(pl.col("first_seen_at").min())
    ages = merges.join(
        first_seen.rename({"customer_id": "before", "first_seen_at": "merged_first_seen"}),
        on="before",
    ).join(
        first_seen.rename({"customer_id": "after", "first_seen_at": "surviving_first_seen"}),
        on="after",
    )
    assert (ages["surviving_first_seen"] <= ages["merged_first_seen"]).all()


def test_identity_first_build_mints_ids_from_the_earliest_record(built: Build) -> None:
    """`cus_` + md5 of the earliest record key of the customer: a rebuild from nothing gives the
    same ids (checked here against an md5 computed outside the models)."""
    frame = built.first.identities.sort("first_seen_at", "record_key", nulls_last=True)
    earliest = frame.group_by("customer_id", maintain_order=True).first()
    expected = earliest["record_key"].map_elements(
        lambda key: "cus_" + hashlib.md5(key.encode()).hexdigest()[:16], return_dtype=pl.String
    )
    assert earliest.height > 100
    assert (earliest["customer_id"] == expected).all()
