"""Identifier noise in the simulated world: each kind at its stated rate, and still resolvable.

Rates are measured here, independently of the generator, by comparing what the vendors hold
with the canonical values in ``people``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.sandbox.generate import generate_world
from pipelines.sandbox.sim.names import NICKNAMES
from pipelines.sandbox.sim.noise import JUNK_EMAILS, JUNK_PHONES, NOISE_RATES, RELAY_DOMAIN


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("noise")
    generate_world(path, scale="S", seed=11)
    return path


def read(root: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(root / "world" / f"{table}.parquet")


def people(root: Path) -> pl.DataFrame:
    return read(root, "people").select(
        "person_id",
        pl.col("email").alias("canonical_email"),
        pl.col("phone").alias("canonical_phone"),
        pl.col("first_name").alias("canonical_first"),
        pl.col("last_name").alias("canonical_last"),
    )


MEASURED = {
    "email_whitespace", "email_case", "gmail_dots", "gmail_plus_tag", "googlemail",
    "phone_dashes_intl", "phone_parens", "phone_digits", "phone_dots", "phone_one_dashes",
    "nickname", "name_typo", "guest_order", "guest_no_customer", "order_phone", "checkout_phone",
    "amazon_ship_phone", "pos_no_identifier", "pos_email_only", "pos_phone_only", "pos_junk",
    "household_phone",
}  # fmt: skip


def test_every_noise_kind_is_measured_here() -> None:
    assert set(NOISE_RATES) == MEASURED


def assert_rate(kind: str, hits: int, total: int) -> None:
    """The measured share is within sampling error (4 sigma) of the stated rate."""
    rate = NOISE_RATES[kind]
    assert total >= 200, f"{kind}: too few values ({total}) to measure"
    tolerance = 4 * math.sqrt(rate * (1 - rate) / total) + 0.005
    assert abs(hits / total - rate) <= tolerance, f"{kind}: {hits}/{total} vs {rate}"


def typed_emails(root: Path) -> pl.DataFrame:
    """Every email a person typed (not junk), with the canonical address."""
    orders = read(root, "shopify_orders").filter(~pl.col("is_test"))
    frames = [
        read(root, "shopify_customers").select("person_id", "email"),
        orders.select("person_id", "email"),
        read(root, "shopify_abandoned_checkouts").select("person_id", "email"),
        read(root, "klaviyo_profiles").select("person_id", "email"),
        read(root, "pos_transactions").select("person_id", "email"),
    ]
    return (
        pl.concat(frames)
        .filter(pl.col("email").is_not_null() & ~pl.col("email").is_in(list(JUNK_EMAILS)))
        .join(people(root), on="person_id")
    )


def typed_phones(root: Path) -> pl.DataFrame:
    """Every phone a person typed (not junk), with the canonical phone."""
    orders = read(root, "shopify_orders").filter(~pl.col("is_test"))
    frames = [
        read(root, "shopify_customers").select("person_id", "phone"),
        orders.select("person_id", "phone"),
        read(root, "shopify_abandoned_checkouts").select("person_id", "phone"),
        read(root, "amazon_orders").select("person_id", pl.col("ship_phone").alias("phone")),
        read(root, "pos_transactions").select("person_id", "phone"),
        read(root, "hubspot_contacts").select("person_id", "phone"),
    ]
    return (
        pl.concat(frames)
        .filter(pl.col("phone").is_not_null() & ~pl.col("phone").is_in(list(JUNK_PHONES)))
        .join(people(root), on="person_id")
    )


def test_email_noise_rates(root: Path) -> None:
    emails = typed_emails(root)
    stripped = pl.col("email").str.strip_chars()
    flags = emails.select(
        (pl.col("email") != stripped).alias("ws"),
        (stripped != stripped.str.to_lowercase()).alias("case"),
    )
    assert_rate("email_whitespace", int(flags["ws"].sum()), emails.height)
    assert_rate("email_case", int(flags["case"].sum()), emails.height)
    # every typed value is the canonical one up to these kinds of noise
    lowered = stripped.str.to_lowercase()
    gmail = emails.filter(pl.col("canonical_email").str.ends_with("@gmail.com")).with_columns(
        local=lowered.str.extract(r"^([^@]+)@", 1),
        domain=lowered.str.extract(r"@(.+)$", 1),
        canonical_local=pl.col("canonical_email").str.extract(r"^([^@]+)@", 1),
    )
    untagged = pl.col("local").str.replace(r"\+.*$", "")
    measured = gmail.select(
        pl.col("local").str.contains("+", literal=True).alias("tag"),
        (pl.col("domain") == "googlemail.com").alias("gm"),
        (untagged != pl.col("canonical_local")).alias("dots"),
        (
            untagged.str.replace_all(".", "", literal=True)
            == pl.col("canonical_local").str.replace_all(".", "", literal=True)
        ).alias("same"),
    )
    assert measured["same"].all()
    assert_rate("gmail_plus_tag", int(measured["tag"].sum()), gmail.height)
    assert_rate("googlemail", int(measured["gm"].sum()), gmail.height)
    assert_rate("gmail_dots", int(measured["dots"].sum()), gmail.height)
    others = emails.filter(~pl.col("canonical_email").str.ends_with("@gmail.com"))
    assert (others["email"].str.strip_chars().str.to_lowercase() == others["canonical_email"]).all()


PHONE_PATTERNS = {
    "phone_dashes_intl": r"^\+1 \d{3}-\d{3}-\d{4}$",
    "phone_parens": r"^\(\d{3}\) \d{3}-\d{4}$",
    "phone_digits": r"^\d{10}$",
    "phone_dots": r"^\d{3}\.\d{3}\.\d{4}$",
    "phone_one_dashes": r"^1-\d{3}-\d{3}-\d{4}$",
}


def test_phone_format_rates(root: Path) -> None:
    phones = typed_phones(root)
    digits = phones["phone"].str.replace_all(r"\D", "").str.slice(-10)
    assert (digits == phones["canonical_phone"].str.slice(2)).all()
    matched = pl.Series([False] * phones.height)
    for kind, pattern in PHONE_PATTERNS.items():
        hits = phones["phone"].str.contains(pattern)
        matched |= hits
        assert_rate(kind, int(hits.sum()), phones.height)
    e164 = phones.filter(~matched)
    assert (e164["phone"] == e164["canonical_phone"]).all()


def test_name_noise_rates(root: Path) -> None:
    firsts = (
        pl.concat(
            [
                read(root, "shopify_customers").select(
                    "person_id", pl.col("first_name").alias("f")
                ),
                read(root, "shopify_orders")
                .filter(~pl.col("is_test"))
                .select("person_id", pl.col("ship_first_name").alias("f")),
                read(root, "hubspot_contacts").select("person_id", pl.col("firstname").alias("f")),
                read(root, "klaviyo_profiles").select("person_id", pl.col("first_name").alias("f")),
            ]
        )
        .drop_nulls()
        .join(people(root), on="person_id")
    )
    with_nickname = firsts.filter(pl.col("canonical_first").is_in(list(NICKNAMES)))
    nicknamed = with_nickname["f"] == with_nickname["canonical_first"].replace_strict(NICKNAMES)
    assert_rate("nickname", int(nicknamed.sum()), with_nickname.height)
    lasts = (
        pl.concat(
            [
                read(root, "shopify_customers").select("person_id", pl.col("last_name").alias("l")),
                read(root, "shopify_orders")
                .filter(~pl.col("is_test"))
                .select("person_id", pl.col("ship_last_name").alias("l")),
                read(root, "hubspot_contacts").select("person_id", pl.col("lastname").alias("l")),
                read(root, "klaviyo_profiles").select("person_id", pl.col("last_name").alias("l")),
            ]
        )
        .drop_nulls()
        .join(people(root), on="person_id")
    )
    typo = lasts["l"] != lasts["canonical_last"]
    assert_rate("name_typo", int(typo.sum()), lasts.height)
    # a typo is one letter changed or dropped
    changed = lasts.filter(typo)
    lengths = changed["canonical_last"].str.len_chars() - changed["l"].str.len_chars()
    assert lengths.is_in([0, 1]).all()


def test_web_store_noise_rates(root: Path) -> None:
    orders = read(root, "shopify_orders").filter(~pl.col("is_test"))
    customers = read(root, "shopify_customers").select("customer_id", "state")
    joined = orders.join(customers, on="customer_id", how="left")
    guest = joined["customer_id"].is_null() | (joined["state"] == "DISABLED")
    assert_rate("guest_order", int(guest.sum()), orders.height)
    guests = joined.filter(guest)
    assert_rate("guest_no_customer", int(guests["customer_id"].is_null().sum()), guests.height)
    # each guest checkout that created a customer created a new one
    disabled = guests.filter(pl.col("customer_id").is_not_null())
    assert disabled["customer_id"].n_unique() == disabled.height
    phones = people(root).filter(pl.col("canonical_phone").is_not_null())
    with_phone = orders.join(phones, on="person_id", how="semi")
    assert_rate("order_phone", int(with_phone["phone"].is_not_null().sum()), with_phone.height)
    checkouts = read(root, "shopify_abandoned_checkouts").join(phones, on="person_id", how="semi")
    assert_rate("checkout_phone", int(checkouts["phone"].is_not_null().sum()), checkouts.height)
    tests = read(root, "shopify_orders").filter(pl.col("is_test"))
    assert tests.height > 0 and (tests["email"] == "test@test.com").sum() > 0


def test_amazon_noise_rates(root: Path) -> None:
    orders = read(root, "amazon_orders")
    assert orders["buyer_email"].str.ends_with("@" + RELAY_DOMAIN).all()
    # one stable relay address per buyer, never shared between buyers
    pairs = orders.select("person_id", "buyer_email").unique()
    assert pairs["person_id"].n_unique() == pairs.height == pairs["buyer_email"].n_unique()
    phones = people(root).filter(pl.col("canonical_phone").is_not_null())
    with_phone = orders.join(phones, on="person_id", how="semi").sort("purchase_date")
    first = with_phone.select(pl.int_range(pl.len()).over("person_id") == 0).to_series()
    assert with_phone.filter(first)["ship_phone"].is_not_null().all()
    later = with_phone.filter(~first)
    hits = int(later["ship_phone"].is_not_null().sum())
    assert_rate("amazon_ship_phone", hits, later.height)


def test_pos_noise_rates(root: Path) -> None:
    sales = read(root, "pos_transactions")
    phones = people(root).filter(pl.col("canonical_phone").is_not_null())
    known = sales.join(phones, on="person_id", how="semi")
    email, phone = known["email"].is_not_null(), known["phone"].is_not_null()
    assert_rate("pos_no_identifier", int((~email & ~phone).sum()), known.height)
    assert_rate("pos_email_only", int((email & ~phone).sum()), known.height)
    assert_rate("pos_phone_only", int((~email & phone).sum()), known.height)
    typed = pl.concat([sales["email"].drop_nulls(), sales["phone"].drop_nulls()])
    junk = typed.is_in(list(JUNK_EMAILS) + list(JUNK_PHONES))
    assert_rate("pos_junk", int(junk.sum()), len(typed))
    # junk values are shared by many unrelated people
    junk_people = sales.filter(pl.col("email").is_in(list(JUNK_EMAILS)))["person_id"]
    assert junk_people.n_unique() > 10


def test_household_phone_rate(root: Path) -> None:
    everyone = read(root, "people")
    shared = everyone.filter(pl.col("phone").is_not_null()).filter(pl.col("phone").is_duplicated())
    assert_rate("household_phone", shared.height, everyone.height)
    households = shared.group_by("phone").agg(
        pl.len(), pl.col("household_id").n_unique().alias("households")
    )
    assert households["len"].is_between(2, 4).all()
    assert (households["households"] == 1).all()
    assert everyone["email"].str.to_lowercase().is_unique().all()


# --- resolvability ---------------------------------------------------------------------------


def normal_email(column: str) -> pl.Expr:
    email = pl.col(column).str.strip_chars().str.to_lowercase()
    local, domain = email.str.extract(r"^([^@]+)@", 1), email.str.extract(r"@(.+)$", 1)
    gmail = domain.is_in(["gmail.com", "googlemail.com"])
    local = (
        pl.when(gmail)
        .then(local.str.replace(r"\+.*$", "").str.replace_all(".", "", literal=True))
        .otherwise(local)
    )
    normal = local + "@" + pl.when(gmail).then(pl.lit("gmail.com")).otherwise(domain)
    return pl.when(normal.is_in(list(JUNK_EMAILS))).then(None).otherwise(normal)


def normal_phone(column: str) -> pl.Expr:
    digits = pl.col(column).str.replace_all(r"\D", "")
    digits = (
        pl.when((digits.str.len_chars() == 11) & digits.str.starts_with("1"))
        .then(digits.str.slice(1))
        .otherwise(digits)
    )
    junk = digits.is_in(list(JUNK_PHONES))
    return pl.when((digits.str.len_chars() == 10) & ~junk).then("+1" + digits)


def source_records(root: Path) -> pl.DataFrame:
    """Every truth record with its identifiers: email, phone and a cross-reference."""

    def gid(kind: str, column: str) -> pl.Expr:
        return pl.format("gid://shopify/{}/{}", pl.lit(kind), pl.col(column))

    def customer(column: str) -> pl.Expr:
        return pl.when(pl.col(column).is_not_null()).then(gid("Customer", column))

    tables = [
        ("shopify_customers", gid("Customer", "customer_id"), "email", "phone", pl.lit(None)),
        ("shopify_orders", gid("Order", "order_id"), "email", "phone", customer("customer_id")),
        (
            "shopify_abandoned_checkouts",
            gid("AbandonedCheckout", "checkout_id"),
            "email",
            "phone",
            customer("customer_id"),
        ),
        ("amazon_orders", pl.col("amazon_order_id"), "buyer_email", "ship_phone", pl.lit(None)),
        ("pos_transactions", pl.col("transaction_id"), "email", "phone", pl.lit(None)),
        (
            "hubspot_contacts",
            pl.col("contact_id").cast(pl.String),
            "email",
            "phone",
            customer("shopify_customer_id"),
        ),
        (
            "klaviyo_profiles",
            pl.col("profile_id"),
            "email",
            "phone_number",
            customer("external_id"),
        ),
        (
            "shipstation_shipments",
            pl.col("shipment_id").cast(pl.String),
            "customer_email",
            "ship_to_phone",
            gid("Order", "order_id"),
        ),
    ]
    return pl.concat(
        [
            read(root, table).select(
                record.alias("rid"),
                normal_email(email).alias("email"),
                normal_phone(phone).alias("phone"),
                ref.cast(pl.String).alias("ref"),
            )
            for table, record, email, phone, ref in tables
        ]
    )


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label of each node of an undirected graph."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[left], label[right])
        new = label.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        while not np.array_equal(new[new], new):
            new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def test_a_competent_resolver_finds_the_people(root: Path) -> None:
    records = source_records(root)
    # guard: a phone that appears with several (non-relay) emails is a shared line: skip it
    with_both = records.filter(
        pl.col("email").is_not_null() & ~pl.col("email").str.ends_with(RELAY_DOMAIN)
    )
    shared = with_both.group_by("phone").agg(pl.col("email").n_unique().alias("emails"))
    shared = shared.filter(pl.col("emails") > 1)["phone"].drop_nulls()
    records = records.with_columns(
        phone=pl.when(pl.col("phone").is_in(shared.implode())).then(None).otherwise("phone")
    ).with_row_index("node")
    n = records.height
    left, right = [], []
    offset = n
    for column in ("email", "phone"):
        values = records.filter(pl.col(column).is_not_null()).select("node", column)
        keys = values[column].unique().sort()
        ids = pl.DataFrame({column: keys, "key": np.arange(len(keys)) + offset})
        edges = values.join(ids, on=column)
        left.append(edges["node"].to_numpy())
        right.append(edges["key"].to_numpy())
        offset += len(keys)
    refs = records.filter(pl.col("ref").is_not_null()).join(
        records.select(pl.col("rid").alias("ref"), pl.col("node").alias("target")), on="ref"
    )
    left.append(refs["node"].to_numpy())
    right.append(refs["target"].to_numpy())
    label = components(offset, np.concatenate(left), np.concatenate(right))[:n]

    truth = pl.read_parquet(root / "truth" / "identity.parquet")
    scored = (
        records.with_columns(cluster=pl.Series(label))
        .join(truth.select(pl.col("record_id").alias("rid"), "person_id"), on="rid")
        .filter(
            pl.col("email").is_not_null()
            | pl.col("phone").is_not_null()
            | pl.col("ref").is_not_null()
        )
    )

    def pairs(keys: list[str]) -> int:
        sizes = scored.group_by(keys).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    true_pairs, found, right_pairs = (
        pairs(["person_id"]),
        pairs(["cluster"]),
        pairs(["cluster", "person_id"]),
    )
    precision, recall = right_pairs / found, right_pairs / true_pairs
    assert precision >= 0.99, precision
    assert recall >= 0.97, recall
    split = scored.group_by("person_id").agg(pl.col("cluster").n_unique())
    assert (split["cluster"] > 1).mean() < 0.06  # people whose records share nothing are rare
