"""Vectorised JSON for the two big collections (events, profiles).

A page of rows becomes its JSON texts in one polars expression (``concat_str`` of fixed text and
JSON-encoded values) instead of a Python dict per record, which keeps a walk of ``/api/events``
at page size 1000 far above the 20,000 records/s the ingestion benchmarks need. The output is
byte-for-byte what :mod:`.render` and :mod:`.activity` build (a test compares them); sparse
fieldsets still go through those per-record renderers.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from pipelines.sandbox.vendors.klaviyo.activity import event_uuid
from pipelines.sandbox.vendors.klaviyo.render import CURRENCY, SHOP_URL

UNSAFE = r'["\\\x00-\x1f]'  # characters that JSON strings must escape


def js(expr: pl.Expr) -> pl.Expr:
    """A column as JSON text (strings quoted and escaped, nulls as ``null``)."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def quoted(expr: pl.Expr) -> pl.Expr:
    """A string column that needs no escaping (ids, ISO datetimes) as JSON text; fast."""
    return (
        pl.when(expr.is_null())
        .then(pl.lit("null"))
        .otherwise(pl.concat_str([pl.lit('"'), expr, pl.lit('"')]))
    )


def number(expr: pl.Expr) -> pl.Expr:
    """An integer column as JSON text."""
    return expr.cast(pl.String).fill_null("null")


def dollars(cents: pl.Expr) -> pl.Expr:
    """Non-negative integer cents as the JSON number Python writes for ``cents / 100``."""
    whole = (cents // 100).cast(pl.String)
    rest = cents % 100
    fraction = (
        pl.when(rest == 0)
        .then(pl.lit("0"))
        .when(rest % 10 == 0)
        .then((rest // 10).cast(pl.String))
        .otherwise(rest.cast(pl.String).str.zfill(2))
    )
    return pl.concat_str([whole, pl.lit("."), fraction])


ID_COLUMNS = ("event_id", "profile_id", "metric_id", "message_id", "flow_id")


def safe_columns(frame: pl.DataFrame) -> frozenset[str]:
    """The id columns of a collection whose values never need JSON escaping."""
    return frozenset(
        name
        for name in ID_COLUMNS
        if name in frame.columns and not bool(frame[name].str.contains(UNSAFE).any())
    )


class Quoter:
    """Quotes id columns cheaply when the collection's values never need escaping."""

    def __init__(self, safe: frozenset[str]) -> None:
        self.safe = safe

    def __call__(self, column: str) -> pl.Expr:
        """JSON text of a string column."""
        return quoted(pl.col(column)) if column in self.safe else js(pl.col(column))


def text(value: str) -> pl.Expr:
    """Literal JSON text."""
    return pl.lit(value)


def concat(*parts: pl.Expr | str) -> pl.Expr:
    """Concatenate JSON fragments (plain strings are literal text)."""
    return pl.concat_str([text(p) if isinstance(p, str) else p for p in parts])


def links(url: pl.Expr, name: str) -> pl.Expr:
    """``{"self": url + relationships/name/, "related": url + name/}`` (url needs no escaping)."""
    return concat('{"self":"', url, f'relationships/{name}/","related":"', url, f'{name}/"}}')


def _campaign_name(has_campaign: pl.Expr, has_flow: pl.Expr) -> pl.Expr:
    return (
        pl.when(has_campaign)
        .then(pl.col("campaign_name"))
        .when(has_flow)
        .then(pl.concat_str([pl.col("flow_name"), pl.lit(": Email 1")]))
    )


def _email_event_id() -> pl.Expr:
    return pl.concat_str(
        [
            pl.col("message_id").fill_null(""),
            pl.col("profile_id").fill_null(""),
            pl.col("timestamp").cast(pl.String).fill_null(""),
        ],
        separator=":",
    )


def _email_properties(q: Quoter, kind: str) -> pl.Expr:
    has_campaign = pl.col("campaign_id").is_not_null()
    has_flow = pl.col("flow_id").is_not_null()
    name = js(_campaign_name(has_campaign, has_flow))
    flow = pl.when(has_flow).then(q("flow_id")).otherwise(pl.lit('""'))
    if kind == "Unsubscribed":
        return concat(
            '{"Campaign Name":', name,
            ',"$message":', q("message_id"),
            ',"$flow":', flow,
            ',"$event_id":', js(_email_event_id()), "}",
        )  # fmt: skip
    subject = pl.when(has_campaign).then(pl.col("subject")).when(has_flow).then(pl.col("flow_name"))
    parts: list[pl.Expr | str] = [
        '{"Subject":', js(subject),
        ',"Campaign Name":', name,
        ',"$message":', q("message_id"),
        ',"$flow":', flow,
        ',"$message_interaction":', q("message_id"),
        ',"$event_id":', js(_email_event_id()),
    ]  # fmt: skip
    if kind == "Clicked Email":
        parts.append(f',"URL":"{SHOP_URL}/?utm_source=klaviyo&utm_medium=email"')
    return concat(*parts, "}")


def _checkout_properties() -> pl.Expr:
    checkout = pl.col("checkout_id").cast(pl.String)
    items = pl.col("items")
    names = items.list.eval(pl.element().struct.field("ProductName"))
    return concat(
        '{"$event_id":', quoted(pl.coalesce(checkout, pl.col("event_id"))),
        ',"$value":', dollars(pl.col("value_cents").fill_null(0)),
        f',"$currency_code":"{CURRENCY}","CheckoutURL":',
        quoted(pl.concat_str([pl.lit(f"{SHOP_URL}/checkouts/"), checkout])),
        ',"ItemNames":', pl.when(items.is_null()).then(pl.lit("[]")).otherwise(js(names)),
        ',"Items":', pl.when(items.is_null()).then(pl.lit("[]")).otherwise(js(items)),
        ',"$extra":{"checkout_id":', number(pl.col("checkout_id")), "}}",
    )  # fmt: skip


@lru_cache(maxsize=64)
def _properties_expression(kind: str, safe: frozenset[str]) -> pl.Expr:
    if kind == "Started Checkout":
        return _checkout_properties().alias("properties")
    return _email_properties(Quoter(safe), kind).alias("properties")


def _properties(page: pl.DataFrame, safe: frozenset[str]) -> pl.Series:
    """``event_properties`` JSON per row, each metric's shape computed on its rows only."""
    indexed = page.with_row_index("_row")
    parts = [
        group.select("_row", _properties_expression(str(metric), safe))
        for (metric,), group in indexed.group_by("metric")
    ]
    if not parts:
        return pl.Series("properties", [], pl.String)
    return pl.concat(parts).sort("_row")["properties"]


@lru_cache(maxsize=64)
def _event_expression(base: str, safe: frozenset[str]) -> pl.Expr:
    q = Quoter(safe)
    url = pl.concat_str([pl.lit(f"{base}/api/events/"), pl.col("event_id"), pl.lit("/")])
    return concat(
        '{"type":"event","id":', q("event_id"),
        ',"attributes":{"timestamp":', number(pl.col("timestamp")),
        ',"event_properties":', pl.col("properties"),
        ',"datetime":', quoted(pl.col("datetime_iso")),
        ',"uuid":"', pl.col("uuid"),
        '"},"relationships":{"profile":{"data":{"type":"profile","id":', q("profile_id"),
        '},"links":', links(url, "profile"),
        '},"metric":{"data":{"type":"metric","id":', q("metric_id"),
        '},"links":', links(url, "metric"),
        '},"attributions":{"data":[],"links":', links(url, "attributions"),
        '}},"links":{"self":"', url, '"}}',
    ).alias("json")  # fmt: skip


def events(page: pl.DataFrame, base: str, safe: frozenset[str]) -> list[str]:
    """The JSON text of each event row (render.event_resource without sparse fields)."""
    uuids = pl.Series("uuid", [event_uuid(e) for e in page["event_id"].to_list()], pl.String)
    page = page.with_columns(uuids, _properties(page, safe))
    return page.select(_event_expression(base, safe))["json"].to_list()


def _subscriptions() -> pl.Expr:
    consent = pl.col("email_consent").fill_null("NEVER_SUBSCRIBED")
    suppressed = consent == "UNSUBSCRIBED"
    at = quoted(pl.col("consent_at"))
    method = pl.when(consent == "NEVER_SUBSCRIBED").then(pl.lit("null")).otherwise(pl.lit('"API"'))
    suppression = (
        pl.when(suppressed)
        .then(concat('[{"reason":"UNSUBSCRIBE","timestamp":', at, "}]"))
        .otherwise(pl.lit("[]"))
    )
    return concat(
        '{"email":{"marketing":{"can_receive_email_marketing":',
        pl.when(suppressed).then(pl.lit("false")).otherwise(pl.lit("true")),
        ',"consent":', js(consent),
        ',"consent_timestamp":', at,
        ',"last_updated":', at,
        ',"method":', method,
        ',"method_detail":"","custom_method_detail":null,"double_optin":null,"suppression":',
        suppression,
        ',"list_suppressions":[]}},"sms":{"marketing":{"can_receive_sms_marketing":false,'
        '"consent":"NEVER_SUBSCRIBED","consent_timestamp":null,"method":null,"method_detail":"",'
        '"last_updated":null},"transactional":null},"mobile_push":null}',
    )  # fmt: skip


PROFILE_TEXT = (
    "email", "phone_number", "external_id", "first_name", "last_name", "organization",
    "locale", "title", "image",
)  # fmt: skip
PROFILE_TIMES = ("created", "updated", "last_event_date")


@lru_cache(maxsize=64)
def _profile_expression(
    base: str, with_subscriptions: bool, joined: bool, safe: frozenset[str]
) -> pl.Expr:
    q = Quoter(safe)
    url = pl.concat_str([pl.lit(f"{base}/api/profiles/"), pl.col("profile_id"), pl.lit("/")])
    parts: list[pl.Expr | str] = ['{"type":"profile","id":', q("profile_id"), ',"attributes":{']
    for i, name in enumerate(PROFILE_TEXT):
        parts += [("," if i else "") + f'"{name}":', js(pl.col(name))]
    for name in PROFILE_TIMES:
        parts += [f',"{name}":', quoted(pl.col(name))]
    parts += [
        ',"location":{"address1":', js(pl.col("address1")),
        ',"address2":', js(pl.col("address2")),
        ',"city":', js(pl.col("city")),
        ',"country":', js(pl.col("country")),
        ',"latitude":null,"longitude":null,"region":', js(pl.col("region")),
        ',"zip":', js(pl.col("zip")),
        ',"timezone":', js(pl.col("timezone")),
        ',"ip":null},"properties":', pl.col("properties").fill_null("{}"),
    ]  # fmt: skip
    if with_subscriptions:
        parts += [',"subscriptions":', _subscriptions()]
    if joined:
        parts += [',"joined_group_at":', quoted(pl.col("joined_group_at"))]
    parts += [
        '},"relationships":{"lists":{"links":', links(url, "lists"),
        '},"segments":{"links":', links(url, "segments"),
        '}},"links":{"self":"', url, '"}}',
    ]  # fmt: skip
    return concat(*parts).alias("json")


def profiles(
    page: pl.DataFrame, base: str, with_subscriptions: bool, safe: frozenset[str]
) -> list[str]:
    """The JSON text of each profile row (render.profile_resource without sparse fields)."""
    joined = "joined_group_at" in page.columns
    expression = _profile_expression(base, with_subscriptions, joined, safe)
    return page.select(expression)["json"].to_list()
