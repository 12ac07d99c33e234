"""Klaviyo read endpoints: profiles, lists (and members), metrics, events, campaigns, flows.

Collections answer with ``{"data": [...], "links": {"self", "next", "prev"}}`` (plus
``included`` when asked); ``links.next`` is an absolute URL carrying every original parameter and
an opaque ``page[cursor]``. Page sizes, sorts, filter fields/operators and includes follow each
operation's OpenAPI definition; anything else is a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
import polars as pl

from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.vendors.klaviyo import activity, fast, render
from pipelines.sandbox.vendors.klaviyo.errors import (
    JSON_API,
    KlaviyoError,
    bad_parameter,
    not_found,
)
from pipelines.sandbox.vendors.klaviyo.filters import Condition, Field, parse
from pipelines.sandbox.vendors.klaviyo.paging import Collection, Cursor

if TYPE_CHECKING:
    from pipelines.sandbox.vendors.klaviyo.emulator import KlaviyoEmulator

CHANNEL_REQUIRED = (
    "A channel filter is required to list campaigns. Please provide either: "
    "?filter=equals(messages.channel,'email') to list email campaigns, or "
    "?filter=equals(messages.channel,'sms') to list SMS campaigns. "
    "?filter=equals(messages.channel,'mobile_push') to list mobile push campaigns."
)


@dataclass(frozen=True)
class Listing:
    """How one collection endpoint pages, sorts, filters and renders."""

    resource: str  # JSON:API type, e.g. "profile"
    page_default: int
    page_max: int
    sorts: tuple[str, ...]
    default_sort: str
    filters: dict[str, Field]
    fields: tuple[str, ...]  # top-level attributes allowed in fields[<resource>]
    includes: tuple[str, ...] = ()
    extra_params: tuple[str, ...] = ()
    sized: bool = True  # False when the endpoint has no page[size] (metrics)
    field_params: tuple[str, ...] = ()  # other types' fields[...] parameters the operation takes


def json_api(payload: Any, status: int = 200) -> Response:
    """A JSON:API response."""
    return Response(status, orjson.dumps(payload), {}, JSON_API)


def page_size(request: Request, listing: Listing) -> int:
    """``page[size]``, validated against the endpoint's bounds."""
    raw = request.arg("page[size]")
    if raw is None:
        return listing.page_default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= listing.page_max:
        raise bad_parameter(
            "page[size]",
            f"Invalid page size '{raw}': page[size] must be an integer between 1 and "
            f"{listing.page_max}.",
        )
    return size


def requested_fields(request: Request, listing: Listing, name: str) -> list[str] | None:
    """The sparse fieldset ``fields[<name>]``, or None for all attributes."""
    raw = request.arg(f"fields[{name}]")
    if raw is None:
        return None
    chosen = [item.strip() for item in raw.split(",") if item.strip()]
    for item in chosen:
        if item.split(".")[0] not in listing.fields:
            raise bad_parameter(
                f"fields[{name}]", f"'{item}' is not a valid field for the resource '{name}'."
            )
    return chosen


def check_params(request: Request, listing: Listing) -> None:
    """400 for any query parameter the operation does not define."""
    allowed = {"filter", "page[cursor]", "sort", f"fields[{listing.resource}]"}
    allowed.update(listing.extra_params)
    allowed.update(f"fields[{name}]" for name in listing.field_params)
    if listing.sized:
        allowed.add("page[size]")
    if listing.includes:
        allowed.add("include")
    for name in request.query:
        if name not in allowed:
            raise bad_parameter(name, f"'{name}' is not a valid query parameter for this endpoint.")


def sort_order(request: Request, listing: Listing) -> tuple[str, bool]:
    """The sort field and whether it is descending."""
    raw = request.arg("sort", listing.default_sort) or listing.default_sort
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name not in listing.sorts:
        raise bad_parameter(
            "sort", f"'{raw}' is not a valid sort parameter for the resource '{listing.resource}'."
        )
    return name, descending


def includes(request: Request, listing: Listing) -> list[str]:
    """The ``include`` values, validated."""
    raw = request.arg("include")
    if raw is None:
        return []
    chosen = [item.strip() for item in raw.split(",") if item.strip()]
    for item in chosen:
        if item not in listing.includes:
            raise bad_parameter(
                "include",
                f"'{item}' is not a valid relationship for the resource '{listing.resource}'.",
            )
    return chosen


def link(request: Request, cursor: Cursor | None) -> str | None:
    """The absolute URL of this request with ``page[cursor]`` replaced."""
    if cursor is None:
        return None
    pairs = [(k, v) for k, values in request.query.items() if k != "page[cursor]" for v in values]
    pairs.append(("page[cursor]", cursor.encode()))
    return f"{request.base_url}{request.path}?{urlencode(pairs)}"


def self_link(request: Request) -> str:
    """The absolute URL of this request."""
    pairs = [(k, v) for k, values in request.query.items() for v in values]
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{request.base_url}{request.path}{query}"


def listing_response(
    request: Request,
    listing: Listing,
    collection: Collection,
    render_row: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    check: Callable[[list[Condition]], None] | None = None,
    included: Callable[[list[dict[str, Any]], list[str]], list[dict[str, Any]]] | None = None,
    encode: Callable[[pl.DataFrame], list[str]] | None = None,
) -> Response:
    """Validate the query, page the collection and render the JSON:API document."""
    check_params(request, listing)
    size = page_size(request, listing)
    sort, descending = sort_order(request, listing)
    wanted = includes(request, listing)
    raw_filter = request.arg("filter")
    conditions = (
        parse(raw_filter, listing.filters, listing.resource) if raw_filter is not None else []
    )
    if check is not None:
        check(conditions)
    token = request.arg("page[cursor]")
    cursor = Cursor.decode(token, sort) if token else None
    page = collection.page(sort, descending, conditions, (raw_filter or "").strip(), cursor, size)
    frame = collection.frame[page.rows] if len(page.rows) else collection.frame.clear()
    links = {
        "self": self_link(request),
        "next": link(request, page.next),
        "prev": link(request, page.prev),
    }
    if encode is not None and not wanted:
        data = ",".join(encode(frame)).encode()
        body = b'{"data":[' + data + b'],"links":' + orjson.dumps(links) + b"}"
        return Response(200, body, {}, JSON_API)
    rows = frame.to_dicts()
    document: dict[str, Any] = {"data": [render_row(row) for row in rows], "links": links}
    if wanted:
        document["included"] = included(rows, wanted) if included is not None else []
    return json_api(document)


PROFILE_FIELDS = (
    "email", "phone_number", "external_id", "first_name", "last_name", "organization", "locale",
    "title", "image", "created", "updated", "last_event_date", "location", "properties",
    "subscriptions", "predictive_analytics", "joined_group_at",
)  # fmt: skip

PROFILES = Listing(
    resource="profile",
    page_default=20,
    page_max=100,
    sorts=render.PROFILE_SORTS,
    default_sort="id",
    filters=render.PROFILE_FILTERS,
    fields=PROFILE_FIELDS,
    includes=("conversation", "push-tokens"),
    extra_params=("additional-fields[profile]",),
    field_params=("push-token",),
)
LIST_MEMBERS = Listing(
    resource="profile",
    page_default=20,
    page_max=100,
    sorts=render.MEMBER_SORTS,
    default_sort="joined_group_at",
    filters=render.MEMBER_FILTERS,
    fields=PROFILE_FIELDS,
    extra_params=("additional-fields[profile]",),
)
LISTS = Listing(
    resource="list",
    page_default=10,
    page_max=10,
    sorts=render.LIST_SORTS,
    default_sort="id",
    filters=render.LIST_FILTERS,
    fields=("name", "created", "updated", "opt_in_process"),
    includes=("flow-triggers", "tags"),
    field_params=("flow", "tag"),
)
METRICS = Listing(
    resource="metric",
    page_default=200,
    page_max=200,
    sorts=("id",),
    default_sort="id",
    filters=activity.METRIC_FILTERS,
    fields=("name", "created", "updated", "integration"),
    includes=("flow-triggers",),
    sized=False,
    field_params=("flow",),
)
EVENTS = Listing(
    resource="event",
    page_default=200,
    page_max=1000,
    sorts=activity.EVENT_SORTS,
    default_sort="datetime",
    filters=activity.EVENT_FILTERS,
    fields=("timestamp", "event_properties", "datetime", "uuid", "id"),
    includes=("attributions", "metric", "profile"),
    field_params=("attribution", "metric", "profile"),
)
CAMPAIGNS = Listing(
    resource="campaign",
    page_default=100,
    page_max=100,
    sorts=activity.CAMPAIGN_SORTS,
    default_sort="id",
    filters=activity.CAMPAIGN_FILTERS,
    fields=(
        "name",
        "status",
        "archived",
        "audiences",
        "send_options",
        "tracking_options",
        "send_strategy",
        "created_at",
        "scheduled_at",
        "updated_at",
        "send_time",
    ),
    includes=("campaign-messages", "tags"),
    field_params=("campaign-message", "tag"),
)
FLOWS = Listing(
    resource="flow",
    page_default=50,
    page_max=50,
    sorts=activity.FLOW_SORTS,
    default_sort="id",
    filters=activity.FLOW_FILTERS,
    fields=("name", "status", "archived", "created", "updated", "trigger_type", "id"),
    includes=("flow-actions", "tags"),
    field_params=("flow-action", "tag"),
)


def with_subscriptions(request: Request) -> bool:
    """Whether ``additional-fields[profile]`` asks for subscriptions (validating the values)."""
    raw = request.arg("additional-fields[profile]")
    if raw is None:
        return False
    chosen = {item.strip() for item in raw.split(",") if item.strip()}
    unknown = chosen - {"subscriptions", "predictive_analytics"}
    if unknown:
        raise bad_parameter(
            "additional-fields[profile]",
            f"'{sorted(unknown)[0]}' is not a valid additional field for the resource 'profile'.",
        )
    return "subscriptions" in chosen


def profile_encoder(
    collection: Collection, base: str, subs: bool
) -> Callable[[pl.DataFrame], list[str]]:
    """The vectorised JSON encoder of a profiles collection's pages."""
    safe = collection.memo("safe", lambda: fast.safe_columns(collection.frame))
    return lambda page: fast.profiles(page, base, subs, safe)


def get_profiles(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/profiles``."""
    subs = with_subscriptions(request)
    fields = requested_fields(request, PROFILES, "profile")
    base = request.base_url
    collection = emu.profiles()
    return listing_response(
        request,
        PROFILES,
        collection,
        lambda row: render.profile_resource(row, base, subs, fields),
        encode=None if fields is not None else profile_encoder(collection, base, subs),
    )


def get_profile(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/profiles/{id}``."""
    pid = request.path_params["profile_id"]
    collection = emu.profiles()
    found = collection.row_of(pid)
    if found is None:
        raise not_found("profile", pid)
    row = collection.frame.row(found, named=True)
    subs = with_subscriptions(request)
    fields = requested_fields(request, PROFILES, "profile")
    return json_api(
        {
            "data": render.profile_resource(row, request.base_url, subs, fields),
            "links": {"self": self_link(request)},
        }
    )


def get_lists(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/lists``."""
    fields = requested_fields(request, LISTS, "list")
    base = request.base_url
    return listing_response(
        request, LISTS, emu.lists(), lambda row: render.list_resource(row, base, fields)
    )


def find_list(emu: KlaviyoEmulator, list_id: str) -> dict[str, Any]:
    """The list's render row, or Klaviyo's 404."""
    collection = emu.lists()
    found = collection.row_of(list_id)
    if found is None:
        raise not_found("list", list_id)
    return collection.frame.row(found, named=True)


def get_list(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/lists/{id}``."""
    row = find_list(emu, request.path_params["list_id"])
    for name in request.query:
        if name not in (
            "fields[list]",
            "fields[tag]",
            "fields[flow]",
            "include",
            "additional-fields[list]",
        ):
            raise bad_parameter(name, f"'{name}' is not a valid query parameter for this endpoint.")
    fields = requested_fields(request, LISTS, "list")
    document = render.list_resource(row, request.base_url, fields)
    if request.arg("additional-fields[list]") == "profile_count":
        document["attributes"]["profile_count"] = emu.list_members(row["list_id"]).size
    return json_api({"data": document, "links": {"self": self_link(request)}})


def get_list_profiles(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/lists/{id}/profiles``."""
    list_id = request.path_params["list_id"]
    find_list(emu, list_id)
    subs = with_subscriptions(request)
    fields = requested_fields(request, LIST_MEMBERS, "profile")
    base = request.base_url
    collection = emu.list_members(list_id)
    return listing_response(
        request,
        LIST_MEMBERS,
        collection,
        lambda row: render.profile_resource(row, base, subs, fields),
        encode=None if fields is not None else profile_encoder(collection, base, subs),
    )


def get_metrics(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/metrics``."""
    fields = requested_fields(request, METRICS, "metric")
    base = request.base_url
    return listing_response(
        request, METRICS, emu.metrics(), lambda row: activity.metric_resource(row, base, fields)
    )


def get_events(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/events`` (``include=metric,profile`` adds the related resources)."""
    fields = requested_fields(request, EVENTS, "event")
    base = request.base_url

    def related(rows: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if "metric" in wanted:
            metrics = emu.metrics()
            ids = sorted({row["metric_id"] for row in rows})
            frame = metrics.frame.filter(metrics.frame["metric_id"].is_in(ids))
            found += [activity.metric_resource(row, base, None) for row in frame.to_dicts()]
        if "profile" in wanted:
            profiles = emu.profiles()
            ids = sorted({row["profile_id"] for row in rows if row["profile_id"]})
            frame = profiles.frame.filter(profiles.frame["profile_id"].is_in(ids))
            found += [render.profile_resource(row, base, False, None) for row in frame.to_dicts()]
        return found

    collection = emu.events()
    safe = collection.memo("safe", lambda: fast.safe_columns(collection.frame))
    return listing_response(
        request,
        EVENTS,
        collection,
        lambda row: activity.event_resource(row, base, fields),
        included=related,
        encode=None if fields is not None else lambda page: fast.events(page, base, safe),
    )


def require_channel(conditions: list[Condition]) -> None:
    """Campaigns need ``equals(messages.channel, ...)``."""
    if not any(c.op == "equals" and c.field == "messages.channel" for c in conditions):
        raise KlaviyoError(400, "invalid", "Invalid input.", CHANNEL_REQUIRED, parameter="filter")


def get_campaigns(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/campaigns`` (a channel filter is required)."""
    if request.arg("filter") is None:
        require_channel([])
    fields = requested_fields(request, CAMPAIGNS, "campaign")
    base = request.base_url

    def related(rows: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
        if "campaign-messages" not in wanted:
            return []
        return [activity.campaign_message(row, base) for row in rows]

    return listing_response(
        request,
        CAMPAIGNS,
        emu.campaigns(),
        lambda row: activity.campaign_resource(row, base, fields),
        check=require_channel,
        included=related,
    )


def get_flows(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/flows``."""
    fields = requested_fields(request, FLOWS, "flow")
    base = request.base_url
    return listing_response(
        request, FLOWS, emu.flows(), lambda row: activity.flow_resource(row, base, fields)
    )
