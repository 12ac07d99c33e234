"""The staging layer against the sandbox's own world: sandbox -> ingest -> `dbt build --select
staging` once per module, then row counts, amounts, ids and normalised identifiers compared with
the world Parquet files and the identity truth (never with the models' own output); the two
identity macros checked against `phonenumbers` and hand-written email cases; and a warehouse
holding only some sources must still build."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import phonenumbers
import polars as pl
import pytest

from pipelines import config
from pipelines.sandbox.sim.noise import JUNK_EMAILS, JUNK_PHONES, RELAY_DOMAIN, type_phones
from pipelines.transform import DBT_PROJECT, dbt_environment, run_dbt
from tests.dbt.conftest import ingested_copy

# staging's models and the tests on them alone (not other parts' tests that read staging)
BUILD_STAGING = ["build", "--select", "staging", "--indirect-selection", "cautious"]


@dataclass
class Build:
    root: Path
    success: bool
    failures: list[str]
    counts: dict[str, int]
    partial: dict[str, Any] = field(default_factory=dict)  # what the partial build showed

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def world(self, table: str) -> str:
        """A world table as a DuckDB table expression."""
        return f"read_parquet('{self.root / 'sandbox' / 'world' / f'{table}.parquet'}')"

    @property
    def truth(self) -> str:
        return f"read_parquet('{self.root / 'sandbox' / 'truth' / 'identity.parquet'}')"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # same configuration as dbt's in-process connection, which stays open
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]


# A warehouse holding only some sources: no POS file ever dropped, Klaviyo and EasyPost never
# run, no refund yet (dlt creates a child table with its first row) and a column dlt has not
# created yet (it does so with the first non-null value).
ABSENT_SCHEMAS = ("raw_pos", "raw_klaviyo", "raw_easypost")
ABSENT_TABLES = ("raw_shopify.orders__refunds", "raw_shopify.orders__refunds__refund_line_items")
ABSENT_COLUMN = ("raw_shopify.orders", "cancelled_at")


def hide_some_sources(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for (schema,) in con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()"
        ).fetchall():
            if schema.startswith(ABSENT_SCHEMAS):
                con.execute(f"drop schema {schema} cascade")
        for table in ABSENT_TABLES:
            con.execute(f"drop table {table}")
        con.execute(f"alter table {ABSENT_COLUMN[0]} drop column {ABSENT_COLUMN[1]}")


def restore_every_source(warehouse: Path, copy: Path) -> None:
    """Put back what hide_some_sources removed, from a copy of the warehouse. (In place: dbt's
    in-process DuckDB keeps the file open, so it cannot be swapped.)"""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"attach '{copy}' as full_copy (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'full_copy'"
        ).fetchall()
        restored = {*ABSENT_TABLES, ABSENT_COLUMN[0]}
        for schema, table in tables:
            if schema.startswith(ABSENT_SCHEMAS) or f"{schema}.{table}" in restored:
                con.execute(f"create schema if not exists {schema}")
                con.execute(
                    f"create or replace table {schema}.{table} as"
                    f" select * from full_copy.{schema}.{table}"
                )
        con.execute("detach full_copy")


@pytest.fixture(scope="module")
def built(ingested_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """The small world served by the sandbox and every source ingested; staging built (with its
    data tests) first on the warehouse with only some sources, then on the whole warehouse."""
    root = tmp_path_factory.mktemp("staging") / "data"
    with ingested_copy(ingested_root, root) as paths:
        copy = root / "full_copy.duckdb"
        shutil.copy(paths.warehouse, copy)
        hide_some_sources(paths.warehouse)
        success, failures, _ = run_dbt(BUILD_STAGING)
        partial = Build(root, success, failures, {})
        facts: dict[str, Any] = {"success": success, "failures": failures}
        if success:
            facts["rows"] = {
                model: partial.scalar(f"select count(*) from staging.{model}")
                for model in PARTIAL_MODELS
            }
            facts["cancelled"] = partial.scalar(
                "select count(*) from staging.stg_shopify__orders where is_cancelled"
            )
            facts["columns"] = dict(
                partial.query(
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = 'staging' and table_name = 'stg_pos__sales_lines'"
                )
            )
        restore_every_source(paths.warehouse, copy)

        success, failures, counts = run_dbt(BUILD_STAGING)
        yield Build(root, success, failures, counts, facts)


PARTIAL_MODELS = (
    "stg_pos__transactions",
    "stg_klaviyo__events",
    "stg_easypost__trackers",
    "stg_shopify__refund_lines",
    "stg_shopify__orders",
)


def test_staging_builds_and_its_data_tests_pass(built: Build) -> None:
    assert built.success, built.failures
    assert built.counts.get("error", 0) == 0 and built.counts.get("fail", 0) == 0


# --- row counts: one staging row per world record (as the vendor still shows it) ---------------

LIVE = "archived_at is null"  # HubSpot hard-deletes archived records
ROW_COUNTS = {
    "stg_shopify__customers": ("shopify_customers", None),
    "stg_shopify__orders": ("shopify_orders", None),
    "stg_shopify__order_lines": ("shopify_order_lines", None),
    "stg_shopify__refunds": ("shopify_refunds", None),
    "stg_shopify__refund_lines": ("shopify_refund_lines", None),
    "stg_shopify__fulfillments": ("shopify_fulfillments", None),
    "stg_shopify__products": ("products", None),
    "stg_shopify__variants": ("variants", None),
    "stg_shopify__locations": ("locations", "is_shopify_location"),
    "stg_shopify__abandoned_checkouts": ("shopify_abandoned_checkouts", None),
    "stg_shopify__abandoned_checkout_lines": ("shopify_checkout_lines", None),
    "stg_amazon__orders": ("amazon_orders", None),
    "stg_amazon__order_items": ("amazon_order_items", None),
    "stg_pos__transactions": ("pos_transactions", None),
    "stg_pos__sales_lines": ("pos_lines", None),
    "stg_hubspot__contacts": ("hubspot_contacts", LIVE),
    "stg_hubspot__companies": ("hubspot_companies", LIVE),
    "stg_hubspot__deals": ("hubspot_deals", LIVE),
    "stg_hubspot__tickets": ("hubspot_tickets", LIVE),
    "stg_hubspot__engagements": ("hubspot_engagements", LIVE),
    "stg_klaviyo__profiles": ("klaviyo_profiles", None),
    "stg_klaviyo__events": ("klaviyo_events", None),
    "stg_klaviyo__metrics": ("klaviyo_metrics", None),
    "stg_klaviyo__campaigns": ("klaviyo_campaigns", None),
    "stg_klaviyo__flows": ("klaviyo_flows", None),
    "stg_klaviyo__lists": ("klaviyo_lists", None),
    "stg_klaviyo__list_members": ("klaviyo_list_members", None),
    "stg_shipstation__shipments": ("shipstation_shipments", None),
    "stg_easypost__trackers": ("easypost_trackers", None),
    "stg_easypost__tracking_details": ("easypost_tracking_details", None),
}


@pytest.mark.parametrize("model", sorted(ROW_COUNTS))
def test_staging_model_has_one_row_per_world_record(built: Build, model: str) -> None:
    table, where = ROW_COUNTS[model]
    expected = built.scalar(
        f"select count(*) from {built.world(table)} {'where ' + where if where else ''}"
    )
    assert expected > 0, f"the world has no {table}: the check would prove nothing"
    assert built.scalar(f"select count(*) from staging.{model}") == expected


def test_inventory_levels_are_the_shopify_locations_stock(built: Build) -> None:
    mismatches = built.scalar(
        f"""
        select count(*)
        from {built.world("inventory_levels")} as world
        inner join {built.world("locations")} as locations using (location_id)
        full join staging.stg_shopify__inventory_levels as stg
            on stg.inventory_item_id = world.inventory_item_id
            and stg.location_id = world.location_id
        where (locations.is_shopify_location or world.location_id is null)
            and (stg.on_hand is distinct from world.on_hand
                or stg.committed is distinct from world.committed
                or stg.available is distinct from world.available
                or stg.sku is distinct from world.sku)
        """
    )
    assert mismatches == 0


# --- values: money, flags and keys per record, against the world ------------------------------

# (model, world table, join condition, [(staging expression, world expression)], rows compared)
VALUE_CHECKS: list[tuple[str, str, str, list[tuple[str, str]], str]] = [
    (
        "stg_shopify__orders",
        "shopify_orders",
        "stg.order_id = world.order_id",
        [
            ("stg.gross_revenue * 100", "world.subtotal_cents"),
            ("stg.discounts * 100", "world.total_discounts_cents"),
            ("stg.tax * 100", "world.total_tax_cents"),
            ("stg.shipping * 100", "world.total_shipping_cents"),
            ("stg.total_price * 100", "world.total_price_cents"),
            ("stg.is_cancelled", "world.cancelled_at is not null"),
            ("stg.is_test", "world.is_test"),
            ("stg.customer_id", "world.customer_id"),
            ("stg.record_id", "'gid://shopify/Order/' || world.order_id"),
            ("stg.order_name", "world.name"),
            ("stg.discount_code", "world.discount_code"),
            ("stg.created_at", "world.created_at"),
        ],
        "true",
    ),
    (
        "stg_shopify__order_lines",
        "shopify_order_lines",
        "stg.order_line_id = world.line_item_id",
        [
            ("stg.order_id", "world.order_id"),
            ("stg.variant_id", "world.variant_id"),
            ("stg.quantity", "world.quantity"),
            ("stg.unit_price * 100", "world.price_cents"),
            ("stg.gross_amount * 100", "world.price_cents * world.quantity"),
            ("stg.discount_amount * 100", "world.discount_cents"),
        ],
        "true",
    ),
    (
        "stg_shopify__refund_lines",
        "shopify_refund_lines",
        "stg.refund_line_id = world.refund_line_item_id",
        [
            ("stg.refund_id", "world.refund_id"),
            ("stg.order_line_id", "world.line_item_id"),
            ("stg.quantity", "world.quantity"),
            ("stg.refund_amount * 100", "world.subtotal_cents"),
            ("stg.restock_type", "world.restock_type"),
        ],
        "true",
    ),
    (
        "stg_shopify__customers",
        "shopify_customers",
        "stg.customer_id = world.customer_id",
        [
            ("stg.record_id", "'gid://shopify/Customer/' || world.customer_id"),
            ("stg.is_guest", "world.state = 'DISABLED'"),
            ("stg.email_marketing_state", "world.email_marketing_state"),
            ("stg.email_consent_updated_at", "world.email_consent_updated_at"),
            ("coalesce(stg.tags, '')", "coalesce(world.tags, '')"),
        ],
        "true",
    ),
    (
        "stg_shopify__abandoned_checkouts",
        "shopify_abandoned_checkouts",
        "stg.checkout_id = world.checkout_id",
        [
            ("stg.customer_id", "world.customer_id"),
            ("stg.subtotal * 100", "world.subtotal_cents"),
            ("stg.total_price * 100", "world.total_price_cents"),
            ("stg.created_at", "world.created_at"),
        ],
        "true",
    ),
    (
        "stg_shopify__variants",
        "variants",
        "stg.variant_id = world.variant_id",
        [
            ("stg.product_id", "world.product_id"),
            ("stg.inventory_item_id", "world.inventory_item_id"),
            ("stg.sku", "world.sku"),
            ("stg.price * 100", "world.price_cents"),
            ("stg.unit_cost * 100", "world.unit_cost_cents"),
        ],
        "true",
    ),
    (
        "stg_amazon__orders",
        "amazon_orders",
        "stg.amazon_order_id = world.amazon_order_id",
        [
            ("stg.order_total * 100", "world.order_total_cents"),
            ("stg.is_cancelled", "world.order_status = 'Canceled'"),
            ("stg.purchased_at", "world.purchase_date"),
            ("stg.buyer_email", "world.buyer_email"),
        ],
        "not stg.is_pending",  # Amazon shows no order total on Pending orders
    ),
    (
        "stg_amazon__order_items",
        "amazon_order_items",
        "stg.order_item_id = world.order_item_id",
        [
            ("stg.amazon_order_id", "world.amazon_order_id"),
            ("stg.sku", "world.seller_sku"),
            ("stg.quantity", "world.quantity_ordered"),
            ("stg.gross_amount * 100", "world.item_price_cents"),
            ("stg.discount_amount * 100", "world.promotion_discount_cents"),
            ("stg.tax * 100", "world.item_tax_cents"),
        ],
        "stg.is_priced",  # Amazon shows no prices on Pending orders
    ),
    (
        "stg_pos__transactions",
        "pos_transactions",
        "stg.transaction_id = world.transaction_id",
        [
            ("stg.location_id", "world.location_id"),
            ("stg.sold_at", "world.occurred_at"),
            (
                "stg.net_amount * 100",
                "(select sum(net_cents) from {pos_lines} as lines"
                " where lines.transaction_id = world.transaction_id)",
            ),
        ],
        "true",
    ),
    (
        "stg_hubspot__contacts",
        "hubspot_contacts",
        "stg.contact_id = world.contact_id",
        [
            ("stg.record_id", "cast(world.contact_id as varchar)"),
            (
                "stg.shopify_customer_record_id",
                "'gid://shopify/Customer/' || world.shopify_customer_id",
            ),
            ("stg.lifecycle_stage", "world.lifecyclestage"),
            ("stg.company_id", "world.company_id"),
            ("stg.is_deleted", "false"),
        ],
        "true",
    ),
    (
        "stg_hubspot__deals",
        "hubspot_deals",
        "stg.deal_id = world.deal_id",
        [
            ("stg.amount * 100", "world.amount_cents"),
            ("stg.is_closed_won", "world.dealstage = 'closedwon'"),
            ("stg.company_id", "world.company_id"),
        ],
        "true",
    ),
    (
        "stg_klaviyo__profiles",
        "klaviyo_profiles",
        "stg.profile_id = world.profile_id",
        [
            (
                "stg.shopify_customer_record_id",
                "'gid://shopify/Customer/' || world.external_id",
            ),
            ("stg.email_consent", "world.email_consent"),
            ("stg.email_consent_at", "world.email_consent_at"),
        ],
        "true",
    ),
    (
        "stg_klaviyo__events",
        "klaviyo_events",
        "stg.event_id = world.event_id",
        [
            ("stg.metric_id", "world.metric_id"),
            ("stg.profile_id", "world.profile_id"),
            ("stg.occurred_at", "world.datetime"),
            ("stg.campaign_id", "world.campaign_id"),
            ("stg.flow_id", "world.flow_id"),
            ("stg.checkout_id", "world.checkout_id"),
            ("stg.value * 100", "world.value_cents"),
        ],
        "true",
    ),
    (
        "stg_shipstation__shipments",
        "shipstation_shipments",
        "stg.shipment_id = world.shipment_id",
        [
            ("stg.order_id", "world.order_id"),
            ("stg.order_name", "world.order_number"),
            ("stg.label_cost * 100", "world.shipment_cost_cents"),
            ("stg.is_voided", "world.voided"),
            ("stg.tracking_number", "world.tracking_number"),
            ("stg.shipped_date", "world.ship_date"),
        ],
        "true",
    ),
    (
        "stg_easypost__trackers",
        "easypost_trackers",
        "stg.tracker_id = world.tracker_id",
        [
            ("stg.tracking_code", "world.tracking_code"),
            ("stg.status", "world.status"),
            ("stg.est_delivery_at", "world.est_delivery_date"),
            ("stg.delivered_at", "world.delivered_at"),
        ],
        "true",
    ),
]


@pytest.mark.parametrize(
    ("model", "table", "join", "pairs", "where"),
    VALUE_CHECKS,
    ids=[check[0] for check in VALUE_CHECKS],
)
def test_staging_values_match_the_world(
    built: Build, model: str, table: str, join: str, pairs: list[tuple[str, str]], where: str
) -> None:
    pos_lines = built.world("pos_lines")
    differing = ", ".join(
        f"count(*) filter (where ({ours}) is distinct from ({theirs.format(pos_lines=pos_lines)}))"
        for ours, theirs in pairs
    )
    row = built.query(
        f"""
        select count(*), {differing}
        from staging.{model} as stg
        inner join {built.world(table)} as world on {join}
        where {where}
        """
    )[0]
    assert row[0] > 0
    assert dict(zip([ours for ours, _ in pairs], row[1:], strict=True)) == {
        ours: 0 for ours, _ in pairs
    }


def test_amazon_amounts_are_unknown_only_while_pending(built: Build) -> None:
    unpriced = built.query(
        """
        select orders.order_status, count(*)
        from staging.stg_amazon__order_items as items
        inner join staging.stg_amazon__orders as orders using (amazon_order_id)
        where not items.is_priced or items.gross_amount is null
        group by 1
        """
    )
    assert {status for status, _ in unpriced} <= {"Pending"}


def test_easypost_delivery_time_is_the_delivered_scan(built: Build) -> None:
    delivered = built.scalar(
        f"select count(*) from {built.world('easypost_trackers')} where delivered_at is not null"
    )
    assert delivered > 0
    assert built.scalar("select count(delivered_at) from staging.stg_easypost__trackers") == (
        delivered
    )


# --- identity: record ids as the truth names them, identifiers normalised to the person --------

PERSON_RECORDS = {
    # (source, record_type): (staging model, email column or None)
    ("shopify", "customer"): ("stg_shopify__customers", "email"),
    ("shopify", "order"): ("stg_shopify__orders", "email"),
    ("shopify", "abandoned_checkout"): ("stg_shopify__abandoned_checkouts", None),  # no email
    ("amazon", "order"): ("stg_amazon__orders", "buyer_email"),
    ("pos", "transaction"): ("stg_pos__transactions", "email"),
    ("hubspot", "contact"): ("stg_hubspot__contacts", "email"),
    ("klaviyo", "profile"): ("stg_klaviyo__profiles", "email"),
    ("shipstation", "shipment"): ("stg_shipstation__shipments", "customer_email"),
}


def reference_email(value: str | None) -> str | None:
    """The contract's email normalisation, written independently in Python."""
    if value is None:
        return None
    email = value.strip().lower()
    if email.count("@") != 1 or " " in email:
        return None
    local, domain = email.split("@")
    local = local.split("+")[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    if not local or "." not in domain:
        return None
    return f"{local}@{domain}"


@pytest.mark.parametrize("key", sorted(PERSON_RECORDS), ids="-".join)
def test_record_ids_are_the_truth_record_ids(built: Build, key: tuple[str, str]) -> None:
    source, record_type = key
    model, _ = PERSON_RECORDS[key]
    missing, unknown = built.query(
        f"""
        with truth as (
            select record_id from {built.truth}
            where source = '{source}' and record_type = '{record_type}'
        )
        select
            (select count(*) from staging.{model}
                where record_id not in (select record_id from truth)),
            (select count(*) from truth
                where record_id not in (select record_id from staging.{model}))
        """
    )[0]
    assert missing == 0, "staging record ids the truth does not know"
    if source == "hubspot":  # archived contacts are hard-deleted from the warehouse
        unknown -= built.scalar(
            f"select count(*) from {built.world('hubspot_contacts')} where archived_at is not null"
        )
    assert unknown == 0, "truth records missing from staging"


@pytest.mark.parametrize("key", sorted(PERSON_RECORDS), ids="-".join)
def test_identifiers_normalise_to_the_persons_canonical_ones(
    built: Build, key: tuple[str, str]
) -> None:
    source, record_type = key
    model, email_column = PERSON_RECORDS[key]
    email = f"stg.{email_column}" if email_column else "cast(null as varchar)"
    email_normalized = "stg.email_normalized" if email_column else "cast(null as varchar)"
    with duckdb.connect(str(built.warehouse)) as con:
        frame = con.execute(
            f"""
            select {email} as email, {email_normalized} as email_normalized,
                stg.phone, stg.phone_e164,
                people.email as canonical_email, people.phone as canonical_phone
            from staging.{model} as stg
            inner join {built.truth} as truth
                on truth.source = '{source}' and truth.record_type = '{record_type}'
                and truth.record_id = stg.record_id
            inner join {built.world("people")} as people using (person_id)
            """
        ).pl()
    assert frame.height > 0
    junk_emails = {*JUNK_EMAILS}
    emails = frame.filter(
        pl.col("email").is_not_null()
        & ~pl.col("email").str.strip_chars().str.to_lowercase().is_in(junk_emails)
        & ~pl.col("email").str.ends_with(f"@{RELAY_DOMAIN}")
    )
    if email_column and source != "amazon":  # Amazon shows only relay addresses
        assert emails.height > 0
    wrong = [
        (row["email"], row["email_normalized"], row["canonical_email"])
        for row in emails.iter_rows(named=True)
        if row["email_normalized"] != reference_email(row["canonical_email"])
    ]
    assert wrong == []
    phones = frame.filter(pl.col("phone").is_not_null() & ~pl.col("phone").is_in(JUNK_PHONES))
    wrong = [
        (row["phone"], row["phone_e164"], row["canonical_phone"])
        for row in phones.iter_rows(named=True)
        if row["phone_e164"] != row["canonical_phone"]
    ]
    assert wrong == []


def test_known_noise_variants_collapse_to_one_email(built: Build) -> None:
    """Every gmail dots / +tag / googlemail / case / whitespace variant in the world is present,
    and each normalises to its person's canonical address."""
    variants = built.query(
        """
        select
            count(*) filter (where email like '%+%@%'),
            count(*) filter (where lower(email) like '%@googlemail.com%'),
            count(*) filter (where email <> trim(email)),
            count(*) filter (where email <> lower(email))
        from staging.stg_shopify__orders
        """
    )[0]
    assert all(count > 0 for count in variants), variants


# --- the identity macros ----------------------------------------------------------------------


def compile_inline(sql: str) -> str:
    """``sql`` with its Jinja rendered by dbt in this project (macros resolved), not run."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    target = config.paths().root / "dbt"
    result = dbtRunner().invoke(
        [
            "compile",
            "--inline",
            sql,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(target / "target"),
            "--log-path",
            str(target / "logs"),
            "--quiet",
        ]
    )
    assert result.success, result.exception
    return str(result.result.results[0].node.compiled_code)


@pytest.fixture(scope="module", params=["normalize_email", "default__normalize_email"])
def normalise(built: Build, request: pytest.FixtureRequest) -> Any:
    """A function applying the compiled macros to (email, phone) pairs in DuckDB: the email
    macro DuckDB dispatches to, then its portable default (other warehouses)."""
    sql = compile_inline(
        f"select {{{{ {request.param}('email') }}}} as email_normalized,"
        " {{ normalize_phone('phone') }} as phone_e164 from cases"
    )

    def run(emails: list[str | None], phones: list[str | None]) -> pl.DataFrame:
        size = max(len(emails), len(phones))
        cases = pl.DataFrame(
            {
                "email": [*emails, *[None] * (size - len(emails))],
                "phone": [*phones, *[None] * (size - len(phones))],
            },
            schema={"email": pl.String, "phone": pl.String},
        )
        with duckdb.connect() as con:
            con.register("cases", cases.to_arrow())
            return con.execute(sql).pl()

    return run


def test_normalize_phone_matches_phonenumbers_on_every_sandbox_format(normalise: Any) -> None:
    rng = np.random.default_rng(11)
    canonical = pl.Series(
        [f"+1{area}{rng.integers(2, 10)}{rng.integers(0, 10**6):06d}" for area in range(201, 990)]
    )
    typed = pl.concat([type_phones(rng, canonical) for _ in range(6)])
    phones = [*typed.to_list(), *canonical.to_list(), "+44 20 7946 0958", "+49 30 1234567"]
    formats = {p[0] if p[0] in "+(1" else "digit" for p in phones} | {
        "." for p in phones if "." in p
    }
    assert {"+", "(", "1", "digit", "."} <= formats  # every format of noise.py is covered
    result = normalise([], phones)["phone_e164"].to_list()
    expected = [
        phonenumbers.format_number(
            phonenumbers.parse(phone, "US"), phonenumbers.PhoneNumberFormat.E164
        )
        for phone in phones
    ]
    assert [
        (phone, ours, theirs)
        for phone, ours, theirs in zip(phones, result, expected, strict=True)
        if ours != theirs
    ] == []


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("(415) 555-0123", "+14155550123"),
        ("  415.555.0123 ", "+14155550123"),
        ("1-415-555-0123", "+14155550123"),
        ("14155550123", "+14155550123"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0000000000", "+10000000000"),  # junk stays a value: identity's blocklist drops it
        ("555-0123", None),  # fewer than 10 digits
        ("24155550123", None),  # 11 digits not starting with 1, no +
        ("+1 555", None),
        ("", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_normalize_phone_follows_the_contract(
    normalise: Any, phone: str | None, expected: str | None
) -> None:
    assert normalise([], [phone])["phone_e164"][0] == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("  jane.doe@example.com  ", "jane.doe@example.com"),
        ("jane.doe+shop@example.com", "jane.doe@example.com"),
        ("j.a.n.e.doe@gmail.com", "janedoe@gmail.com"),
        ("janedoe+promo@gmail.com", "janedoe@gmail.com"),
        ("Jane.Doe+Deals@GoogleMail.com", "janedoe@gmail.com"),
        (" JANE.DOE@GMAIL.COM ", "janedoe@gmail.com"),
        ("janedoe@googlemail.com", "janedoe@gmail.com"),
        ("jane.doe@gmail.co.uk", "jane.doe@gmail.co.uk"),  # not Gmail's domain: dots kept
        ("i580bgelm6hgd252@marketplace.amazon.com", "i580bgelm6hgd252@marketplace.amazon.com"),
        ("test@test.com", "test@test.com"),  # junk stays a value: identity's blocklist drops it
        ("+tag@example.com", None),
        ("...@gmail.com", None),
        ("jane doe@example.com", None),
        ("jane@@example.com", None),
        ("jane@example", None),
        ("jane.example.com", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_email_follows_the_contract(
    normalise: Any, email: str | None, expected: str | None
) -> None:
    assert normalise([email], [])["email_normalized"][0] == expected
    assert reference_email(email) == expected  # the reference used against the world agrees


# --- a warehouse holding only some sources ------------------------------------------------------


def test_staging_builds_on_a_warehouse_with_only_some_sources(built: Build) -> None:
    """Staging built (and its data tests passed) before every source was there: the missing
    parts are empty with their typed columns, the rest as usual."""
    partial = built.partial
    assert partial["success"], partial["failures"]
    rows = partial["rows"]
    assert [model for model in PARTIAL_MODELS[:-1] if rows[model] != 0] == []
    assert rows["stg_shopify__orders"] == built.scalar(
        "select count(*) from staging.stg_shopify__orders"
    )
    assert partial["cancelled"] == 0  # no cancelled_at column yet: no order reads as cancelled
    assert built.scalar("select count(*) from staging.stg_shopify__orders where is_cancelled") > 0
    columns = partial["columns"]
    assert columns["net_amount"] == "DECIMAL(18,2)"
    assert columns["sold_at"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["email_normalized"] == "VARCHAR"
