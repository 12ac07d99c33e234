"""Read endpoints: object list pages, single objects, search, property definitions."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlencode

import numpy as np
import orjson

from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.vendors.hubspot.errors import HubSpotError, not_found, validation
from pipelines.sandbox.vendors.hubspot.objects import SPECS, PropertySpec, resolve
from pipelines.sandbox.vendors.hubspot.search import search_page
from pipelines.sandbox.vendors.hubspot.views import View, Views

LIST_LIMIT = 100
LIST_DEFAULT = 10
DEFINED_AT = "2019-08-06T02:41:08.000Z"
# Properties HubSpot does not define: created by the store's integrations in this portal.
INTEGRATION_PROPERTIES = {"shopify_customer_id", "order_name"}
JSON = "application/json;charset=utf-8"


def object_type(raw: str) -> str:
    """The plural object type of a path segment; HubSpot's 400 when it is unknown."""
    name = resolve(raw)
    if name is None:
        raise validation(f"Unable to infer object type from: {raw}")
    return name


def parse_bool(raw: str | None, name: str) -> bool:
    """A ``true``/``false`` query parameter."""
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise validation(f"Invalid value for query parameter {name}: {raw!r} is not a boolean")


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """A ``limit`` query parameter within 1..maximum."""
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise validation(f"Invalid value for query parameter limit: {raw!r} is not an integer")
    limit = int(raw)
    if limit < 1 or limit > maximum:
        raise validation(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def listed(request: Request, name: str) -> list[str]:
    """A list parameter given comma-separated and/or repeated (``properties=a,b&properties=c``)."""
    values: list[str] = []
    for raw in request.query.get(name, []):
        values += [part.strip() for part in raw.split(",") if part.strip()]
    return values


def associations(request: Request) -> tuple[str, ...]:
    """The requested association types, as plural object names (unknown ones are ignored)."""
    found = [resolve(name) for name in listed(request, "associations")]
    return tuple(dict.fromkeys(name for name in found if name))


def next_link(request: Request, after: str) -> str:
    """The absolute URL of the next page: the same query with ``after`` replaced."""
    query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
    query.append(("after", after))
    return f"{request.base_url}{request.path}?{urlencode(query)}"


def json_bytes(body: bytes, status: int = 200) -> Response:
    """A response around already-serialised JSON."""
    return Response(status, body, {}, JSON)


def list_page(views: Views, request: Request) -> Response:
    """``GET /crm/v3/objects/{objectType}``: a page of records by ascending id."""
    view = views.get(object_type(request.path_params["objectType"]))
    limit = parse_limit(request.arg("limit"), LIST_DEFAULT, LIST_LIMIT)
    archived = parse_bool(request.arg("archived"), "archived")
    raw_after = request.arg("after") or ""
    after = 0
    if raw_after:
        if not raw_after.strip().isdigit():
            raise validation(f"Invalid value for query parameter after: {raw_after!r}")
        after = int(raw_after)
    positions, sorted_ids = (
        (view.archived_pos, view.archived_ids) if archived else (view.active_pos, view.active_ids)
    )
    start = int(np.searchsorted(sorted_ids, after, side="left"))
    page = positions[start : start + limit]
    rendered = view.rendered(view.selection(listed(request, "properties")), associations(request))
    parts = [b'{"results":[', b",".join(rendered[p] for p in page.tolist()), b"]"]
    if start + limit < len(positions):
        cursor = str(int(view.ids[page[-1]]) + 1)
        paging = {"next": {"after": cursor, "link": next_link(request, cursor)}}
        parts.append(b',"paging":' + orjson.dumps(paging))
    parts.append(b"}")
    return json_bytes(b"".join(parts))


def find(view: View, object_id: str, id_property: str | None, archived: bool) -> int:
    """The row of one object by id or unique property; HubSpot's 404 when there is none."""
    pos: int | None = None
    if id_property in (None, "", "hs_object_id"):
        if object_id.isdigit():
            pos = view.position(int(object_id))
    elif id_property == "email" and "email" in view.props:
        pos = view.by_email(object_id)
    elif id_property in view.props:
        raise validation(f"Property {id_property} is not a unique identifier property")
    else:
        raise validation(f"Property {id_property} does not exist")
    if pos is None or bool(view.active[pos]) == archived:
        raise not_found()
    return pos


def get_object(views: Views, request: Request) -> Response:
    """``GET /crm/v3/objects/{objectType}/{objectId}``."""
    view = views.get(object_type(request.path_params["objectType"]))
    archived = parse_bool(request.arg("archived"), "archived")
    pos = find(view, unquote(request.path_params["objectId"]), request.arg("idProperty"), archived)
    props = view.selection(listed(request, "properties"))
    return json_bytes(orjson.dumps(view.record(pos, props, associations(request))))


def search(views: Views, request: Request) -> Response:
    """``POST /crm/v3/objects/{objectType}/search``."""
    view = views.get(object_type(request.path_params["objectType"]))
    try:
        body = request.json()
    except ValueError as exc:
        raise validation(f"Invalid input JSON: {exc}") from None
    return json_bytes(search_page(view, body))


def definition(prop: PropertySpec, custom: dict[str, Any] | None = None) -> dict[str, Any]:
    """A property definition as ``/crm/v3/properties`` returns it."""
    if custom is not None:
        return custom
    return {
        "updatedAt": DEFINED_AT,
        "createdAt": DEFINED_AT,
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": prop.field_type,
        "description": "",
        "groupName": prop.group,
        "options": [
            {"label": value, "value": value, "displayOrder": i, "hidden": False}
            for i, value in enumerate(prop.options)
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": prop.name not in INTEGRATION_PROPERTIES,
        "modificationMetadata": {
            "archivable": prop.name in INTEGRATION_PROPERTIES,
            "readOnlyDefinition": prop.name not in INTEGRATION_PROPERTIES,
            "readOnlyValue": prop.read_only,
        },
        "formField": not prop.read_only,
        "dataSensitivity": "non_sensitive",
    }


def _definitions(views: Views, name: str) -> list[dict[str, Any]]:
    custom = views.read_state().get("properties", {}).get(name, {})
    found = [definition(prop) for prop in SPECS[name].properties]
    return found + [definition(PropertySpec("", "", "", "", ""), d) for d in custom.values()]


def list_properties(views: Views, request: Request) -> Response:
    """``GET /crm/v3/properties/{objectType}``: every property served for the type."""
    name = object_type(request.path_params["objectType"])
    if parse_bool(request.arg("archived"), "archived"):
        return _json({"results": []})
    return _json({"results": _definitions(views, name)})


def get_property(views: Views, request: Request) -> Response:
    """``GET /crm/v3/properties/{objectType}/{propertyName}``."""
    name = object_type(request.path_params["objectType"])
    wanted = unquote(request.path_params["propertyName"])
    for found in _definitions(views, name):
        if found["name"] == wanted:
            return _json(found)
    raise HubSpotError(
        404,
        f"Unable to find property with name '{wanted}' for object type '{SPECS[name].type_id}'",
        "OBJECT_NOT_FOUND",
    )


def _json(payload: Any, status: int = 200) -> Response:
    return json_bytes(orjson.dumps(payload), status)
