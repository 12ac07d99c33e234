"""How people mistype themselves: every kind of identifier noise and its rate, in one place.

Rates are per typed value and independent, so a test can measure each one against the
canonical values in ``people``:

- emails are typed into Shopify (customers, orders, abandoned checkouts), Klaviyo profiles and
  the POS till; HubSpot stores them trimmed and lowercased (as HubSpot does), so only the gmail
  kinds survive there. ``gmail_*`` and ``googlemail`` are rates among gmail addresses.
- ``phone_*`` give the format a phone is written in; the rest are written in E.164.
- ``nickname`` is the rate among first names that have a nickname (``names.NICKNAMES``);
  ``name_typo`` is per name typed (first and last separately): one letter changed or dropped.
- ``guest_order``: web orders placed as a guest (each creates a new, DISABLED Shopify customer,
  except ``guest_no_customer`` of them which create no customer at all).
- ``order_phone`` / ``checkout_phone`` / ``amazon_ship_phone``: share of those records that
  carry the phone of a person who has one (for Amazon: of orders after the buyer's first, which
  always carries the address's phone).
- ``pos_*``: what is typed at the till; ``pos_junk`` is the share of typed POS emails and phones
  that are junk values (``JUNK_EMAILS``, ``JUNK_PHONES``) shared by many unrelated people.
- ``household_phone``: share of people whose phone is a landline shared by their household.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.sandbox.sim.ids import ALNUM, random_codes, strings
from pipelines.sandbox.sim.names import NICKNAMES

NOISE_RATES: dict[str, float] = {
    "email_whitespace": 0.03,
    "email_case": 0.08,
    "gmail_dots": 0.12,
    "gmail_plus_tag": 0.05,
    "googlemail": 0.04,
    "phone_dashes_intl": 0.15,  # +1 415-555-0123
    "phone_parens": 0.25,  # (415) 555-0123
    "phone_digits": 0.15,  # 4155550123
    "phone_dots": 0.10,  # 415.555.0123
    "phone_one_dashes": 0.10,  # 1-415-555-0123
    "nickname": 0.30,
    "name_typo": 0.02,
    "guest_order": 0.35,
    "guest_no_customer": 0.15,
    "order_phone": 0.45,
    "checkout_phone": 0.30,
    "amazon_ship_phone": 0.40,
    "pos_no_identifier": 0.40,
    "pos_email_only": 0.30,
    "pos_phone_only": 0.18,
    "pos_junk": 0.10,
    "household_phone": 0.08,
}

JUNK_EMAILS = ("test@test.com", "noemail@example.com", "none@none.com", "no@email.com")
JUNK_PHONES = ("0000000000", "1234567890", "5555555555")
RELAY_DOMAIN = "marketplace.amazon.com"
PLUS_TAGS = pl.Series(["shop", "orders", "promo", "deals", "tidewater", "news", "buy", "x"])
PHONE_FORMATS = (
    "phone_dashes_intl",
    "phone_parens",
    "phone_digits",
    "phone_dots",
    "phone_one_dashes",
)
LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def type_emails(rng: np.random.Generator, canonical: pl.Series) -> pl.Series:
    """Emails as people type them: gmail dots/+tags/googlemail, case changes, whitespace."""
    n = len(canonical)
    u = rng.random((n, 7))
    gmail = canonical.str.ends_with("@gmail.com").fill_null(False).to_numpy()
    dots = gmail & (u[:, 0] < NOISE_RATES["gmail_dots"])
    tag = gmail & (u[:, 1] < NOISE_RATES["gmail_plus_tag"])
    gm = gmail & (u[:, 2] < NOISE_RATES["googlemail"])
    case = u[:, 3] < NOISE_RATES["email_case"]
    ws = u[:, 4] < NOISE_RATES["email_whitespace"]
    tags = PLUS_TAGS.gather(rng.integers(0, len(PLUS_TAGS), n))
    noisy = np.flatnonzero((dots | tag | gm | case | ws) & canonical.is_not_null().to_numpy())
    frame = pl.DataFrame(
        {
            "e": canonical.gather(noisy),
            "dots": dots[noisy],
            "tag": tag[noisy],
            "gm": gm[noisy],
            "case": case[noisy],
            "ws": ws[noisy],
            "pos": u[noisy, 5],
            "mode": (u[noisy, 6] * 3).astype(np.int64),
            "tag_text": tags.gather(noisy),
        }
    )
    parts = pl.col("e").str.split_exact("@", 1)
    local, domain = parts.struct.field("field_0"), parts.struct.field("field_1")
    cut = (pl.col("pos") * (local.str.len_chars() - 1)).floor().cast(pl.Int64) + 1
    dotted = (
        pl.when(local.str.contains(".", literal=True))
        .then(local.str.replace_all(".", "", literal=True))
        .otherwise(local.str.slice(0, cut) + "." + local.str.slice(cut))
    )
    local = pl.when(pl.col("dots")).then(dotted).otherwise(local)
    local = pl.when(pl.col("tag")).then(local + "+" + pl.col("tag_text")).otherwise(local)
    domain = pl.when(pl.col("gm")).then(pl.lit("googlemail.com")).otherwise(domain)
    typed = local + "@" + domain
    cased = (
        pl.when(pl.col("mode") == 0)
        .then(typed.str.to_uppercase())
        .when(pl.col("mode") == 1)
        .then(typed.str.slice(0, 1).str.to_uppercase() + typed.str.slice(1))
        .otherwise(typed.str.to_titlecase())
    )
    typed = pl.when(pl.col("case")).then(cased).otherwise(typed)
    spaced = (
        pl.when(pl.col("mode") == 0)
        .then(" " + typed)
        .when(pl.col("mode") == 1)
        .then(typed + " ")
        .otherwise(" " + typed + "  ")
    )
    typed = pl.when(pl.col("ws")).then(spaced).otherwise(typed)
    changed = frame.select(typed).to_series()
    return canonical.clone().scatter(noisy, changed) if len(noisy) else canonical.clone()


def type_phones(rng: np.random.Generator, canonical: pl.Series) -> pl.Series:
    """Phones (canonical E.164 ``+1AAAEEELLLL``) written in one of the common formats."""
    n = len(canonical)
    cum = np.cumsum([NOISE_RATES[k] for k in PHONE_FORMATS])
    kind = np.searchsorted(cum, rng.random(n), side="right")  # len(PHONE_FORMATS) = E.164
    kind[~canonical.str.starts_with("+1").fill_null(False).to_numpy()] = len(PHONE_FORMATS)
    area = pl.col("p").str.slice(2, 3)
    exchange = pl.col("p").str.slice(5, 3)
    line = pl.col("p").str.slice(8, 4)
    formats = [
        "+1 " + area + "-" + exchange + "-" + line,
        "(" + area + ") " + exchange + "-" + line,
        area + exchange + line,
        area + "." + exchange + "." + line,
        "1-" + area + "-" + exchange + "-" + line,
    ]
    typed = canonical.clone()
    for index, fmt in enumerate(formats):
        rows = np.flatnonzero(kind == index)
        if len(rows):
            subset = pl.DataFrame({"p": canonical.gather(rows)})
            typed = typed.scatter(rows, subset.select(fmt).to_series())
    return typed


def _typo(rng: np.random.Generator, frame: pl.DataFrame, column: str) -> pl.Expr:
    """An expression giving the column with one letter changed or dropped where ``typo``."""
    n = frame.height
    name = pl.col(column)
    length = name.str.len_chars()
    at = (pl.lit(pl.Series(rng.random(n))) * (length - 1)).floor().cast(pl.Int64) + 1
    letter = pl.lit(strings(random_codes(rng, n, 1, LOWER)))
    original = name.str.slice(at, 1)
    fallback = pl.when(original.str.to_lowercase() == "e").then(pl.lit("a")).otherwise(pl.lit("e"))
    replacement = pl.when(letter == original.str.to_lowercase()).then(fallback).otherwise(letter)
    drop = pl.lit(pl.Series(rng.random(n) < 0.3)) & (length >= 4)
    changed = (
        pl.when(drop)
        .then(name.str.slice(0, at) + name.str.slice(at + 1))
        .otherwise(name.str.slice(0, at) + replacement + name.str.slice(at + 1))
    )
    hit = pl.lit(pl.Series(rng.random(n) < NOISE_RATES["name_typo"])) & (length >= 2)
    return pl.when(hit).then(changed).otherwise(name)


def type_first_names(rng: np.random.Generator, canonical: pl.Series) -> pl.Series:
    """First names as typed: nicknames (William -> Bill) and single-letter typos."""
    n = len(canonical)
    frame = pl.DataFrame({"f": canonical})
    nickname = pl.col("f").replace_strict(NICKNAMES, default=None, return_dtype=pl.String)
    use = pl.lit(pl.Series(rng.random(n) < NOISE_RATES["nickname"])) & nickname.is_not_null()
    frame = frame.select(pl.when(use).then(nickname).otherwise(pl.col("f")).alias("f"))
    return frame.select(_typo(rng, frame, "f").alias(canonical.name)).to_series()


def type_last_names(rng: np.random.Generator, canonical: pl.Series) -> pl.Series:
    """Last names as typed: single-letter typos."""
    frame = pl.DataFrame({"f": canonical})
    return frame.select(_typo(rng, frame, "f").alias(canonical.name)).to_series()


def relay_emails(rng: np.random.Generator, n: int) -> pl.Series:
    """Stable per-buyer Amazon relay addresses: random local part @marketplace.amazon.com."""
    lowered = ALNUM[:36].copy()
    lowered[10:] = LOWER[:26]
    body = strings(random_codes(rng, n, 16, lowered))
    return body + f"@{RELAY_DOMAIN}"
