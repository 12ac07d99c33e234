"""Write endpoints reverse sync uses: contact batch upsert, custom properties, lists v3 and
their memberships, GDPR deletion. Every change is recorded in the ``hubspot`` state document.

Writes are idempotent where HubSpot's are: upserting the same email twice updates one contact,
adding an existing member is ignored, so a client retrying after a lost response converges.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson

from pipelines.sandbox.http import Request, Response, json_response
from pipelines.sandbox.state import StateStore
from pipelines.sandbox.vendors.hubspot.errors import HubSpotError, not_found, validation
from pipelines.sandbox.vendors.hubspot.objects import CONTACTS, SPECS, PropertySpec, resolve
from pipelines.sandbox.vendors.hubspot.read import next_link, object_type, parse_limit
from pipelines.sandbox.vendors.hubspot.views import View, Views, iso_ms, parse_timestamp

VENDOR = "hubspot"
BATCH_LIMIT = 100
MEMBERSHIP_BATCH_LIMIT = 100_000
MEMBERSHIP_PAGE_LIMIT = 250
NEW_CONTACT_ID_BASE = 100_000_000_000  # above every world id, so created contacts sort last
EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\]+\.[A-Za-z]{2,63}$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}
LIST_FIELDS = {
    "name",
    "objectTypeId",
    "processingType",
    "filterBranch",
    "listFolderId",
    "customProperties",
    "listPermissions",
}
PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")
OBJECT_TYPE_IDS = {spec.type_id: name for name, spec in SPECS.items()}

Clock = Callable[[], str]


def body_json(request: Request) -> Any:
    """The request body as JSON, or HubSpot's 400 for malformed JSON."""
    try:
        return request.json()
    except ValueError as exc:
        raise validation(f"Invalid input JSON: {exc}") from None


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return ""
    return str(value)


def _invalid(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def check_value(prop: PropertySpec | None, name: str, value: Any) -> dict[str, Any] | None:
    """HubSpot's validation result for one written property value (None when it is valid)."""
    if prop is None:
        return _invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if prop.read_only:
        return _invalid(name, "READ_ONLY_VALUE", f'Property "{name}" is a read only property')
    if value is not None and not isinstance(value, str | int | float | bool):
        return _invalid(name, "INVALID_VALUE", f"{value!r} is not a valid value for {name}")
    text = _string(value)
    if text == "":
        return None
    if name == "email" and not EMAIL.match(text):
        return _invalid(name, "INVALID_EMAIL", f"Email address {text} is invalid")
    if prop.type == "number" and not NUMBER.match(text):
        return _invalid(name, "INVALID_DECIMAL", f"{text} was not a valid number.")
    if prop.type in ("datetime", "date") and parse_timestamp(text) is None:
        return _invalid(name, "INVALID_DATE", f"{text} was not a valid date or timestamp.")
    if prop.type == "bool" and text.lower() not in ("true", "false"):
        return _invalid(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
    if prop.type == "enumeration" and prop.options:
        chosen = text.split(";")
        if any(option not in prop.options for option in chosen):
            return _invalid(
                name,
                "INVALID_OPTION",
                f"{text} was not one of the allowed options: {list(prop.options)}",
            )
    return None


def _invalid_values(results: list[dict[str, Any]]) -> HubSpotError:
    listing = orjson.dumps(results).decode()
    return validation(f"Property values were not valid: {listing}")


def _contact_record(view: View, pos: int) -> dict[str, Any]:
    return {
        "id": view.id_strings[pos],
        "email": view.values("email")[pos],
        "new": False,
        "properties": {},
        "createdAt": view.values("createdate")[pos],
        "updatedAt": view.values("lastmodifieddate")[pos],
    }


def batch_upsert(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``POST /crm/v3/objects/contacts/batch/upsert``: create or update contacts by email/id."""
    name = object_type(request.path_params["objectType"])
    if name != CONTACTS:
        raise validation(f"Batch upsert of {name} is not available in this portal")
    body = body_json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise validation("Invalid input JSON: the request needs an inputs array")
    if len(inputs) > BATCH_LIMIT:
        raise validation(
            f"The maximum number of inputs supported in a batch is {BATCH_LIMIT}. Please "
            "reduce the number of items and try again"
        )
    view = views.get(CONTACTS)
    problems: list[dict[str, Any]] = []
    keys: list[tuple[str, str]] = []
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(item.get("properties", {}), dict):
            raise validation("Invalid input JSON: each input needs an id and a properties object")
        raw_id, id_property = item.get("id"), item.get("idProperty") or "hs_object_id"
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id) == "":
            raise validation("Invalid input JSON: each input needs an id")
        if id_property not in ("hs_object_id", "email"):
            if id_property in view.props:
                raise validation(
                    f"Unable to perform update/upsert by non-unique 0-1 property: {id_property}"
                )
            raise validation(f'Property "{id_property}" does not exist')
        key = str(raw_id).strip().lower() if id_property == "email" else str(raw_id).strip()
        if id_property == "email" and not EMAIL.match(key):
            problems.append(
                _invalid("email", "INVALID_EMAIL", f"Email address {raw_id} is invalid")
            )
        for prop_name, value in (item.get("properties") or {}).items():
            found = check_value(view.props.get(prop_name), prop_name, value)
            if found is not None:
                problems.append(found)
        keys.append((id_property, key))
    if problems:
        raise _invalid_values(problems)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        listing = ", ".join(k for _, k in duplicates)
        raise validation(f"Duplicate IDs found in batch input: [{listing}]. IDs must be unique")
    started = datetime.now(UTC)
    results = []
    with state.change(VENDOR) as doc:
        view = views.get(CONTACTS)  # under the state lock: sees every earlier write
        contacts = doc.setdefault("contacts", {})
        counters = doc.setdefault("next_ids", {})
        stamp = now()
        for item, (id_property, key) in zip(inputs, keys, strict=True):
            sent = {k: _string(v) for k, v in (item.get("properties") or {}).items()}
            if id_property == "email":
                pos = view.by_email(key)
            else:
                pos = view.position(int(key)) if key.isdigit() else None
                if pos is not None and not view.active[pos]:
                    pos = None
                if pos is None:
                    raise not_found(f"Object with id {key} was not found")
            if pos is not None:
                contact_id = view.id_strings[pos]
                record = contacts.setdefault(contact_id, _contact_record(view, pos))
                created = False
            else:
                number = counters.get("contact", 0) + 1
                counters["contact"] = number
                contact_id = str(NEW_CONTACT_ID_BASE + number)
                record = {
                    "id": contact_id,
                    "email": key,
                    "new": True,
                    "properties": {},
                    "createdAt": stamp,
                }
                contacts[contact_id] = record
                created = True
            record["properties"].update(sent)
            if sent.get("email"):
                record["email"] = sent["email"].strip().lower()
            record["updatedAt"] = stamp
            results.append(_upsert_result(record, sent, created))
    payload = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(datetime.now(UTC)),
    }
    return json_response(payload)


def _upsert_result(record: dict[str, Any], sent: dict[str, str], created: bool) -> dict[str, Any]:
    properties: dict[str, str | None] = {k: (v if v != "" else None) for k, v in sent.items()}
    properties.update(
        {
            "createdate": record["createdAt"],
            "email": record["email"],
            "hs_object_id": record["id"],
            "lastmodifieddate": record["updatedAt"],
        }
    )
    return {
        "id": record["id"],
        "properties": dict(sorted(properties.items())),
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "archived": False,
        "new": created,
    }


def create_property(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``POST /crm/v3/properties/{objectType}``: define a custom property."""
    name = object_type(request.path_params["objectType"])
    body = body_json(request)
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: a property definition must be an object")
    required = ("name", "label", "type", "fieldType", "groupName")
    missing = [k for k in required if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        raise validation(f"Invalid input JSON: missing required fields {missing}")
    prop_name = body["name"]
    if not PROPERTY_NAME.match(prop_name):
        raise validation(
            f"Property name {prop_name!r} is invalid: use lowercase letters, digits and "
            "underscores, starting with a letter"
        )
    if body["type"] not in PROPERTY_TYPES:
        raise validation(f"Invalid property type {body['type']!r}")
    if prop_name in views.get(name).props:
        raise HubSpotError(
            409, f"Property named '{prop_name}' already exists.", "OBJECT_ALREADY_EXISTS"
        )
    stamp = now()
    options = [
        {
            "label": o.get("label", o.get("value")),
            "value": o.get("value"),
            "displayOrder": o.get("displayOrder", i),
            "hidden": bool(o.get("hidden", False)),
        }
        for i, o in enumerate(body.get("options") or [])
        if isinstance(o, dict)
    ]
    created = {
        "updatedAt": stamp,
        "createdAt": stamp,
        "name": prop_name,
        "label": body["label"],
        "type": body["type"],
        "fieldType": body["fieldType"],
        "description": body.get("description", ""),
        "groupName": body["groupName"],
        "options": options,
        "displayOrder": body.get("displayOrder", -1),
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
        "hidden": bool(body.get("hidden", False)),
        "modificationMetadata": {
            "archivable": True,
            "readOnlyDefinition": False,
            "readOnlyValue": False,
        },
        "formField": bool(body.get("formField", False)),
        "dataSensitivity": "non_sensitive",
    }
    with state.change(VENDOR) as doc:
        defined = doc.setdefault("properties", {}).setdefault(name, {})
        if prop_name in defined:  # a retry after a lost response
            raise HubSpotError(
                409, f"Property named '{prop_name}' already exists.", "OBJECT_ALREADY_EXISTS"
            )
        defined[prop_name] = created
    return json_response(created, 201)


def _public_list(record: dict[str, Any]) -> dict[str, Any]:
    size = len(record.get("members", {}))
    public = {k: v for k, v in record.items() if k != "members"}
    public["size"] = size
    public["additionalProperties"] = {"hs_list_size": str(size)}
    return public


def _list(doc: dict[str, Any], list_id: str) -> dict[str, Any]:
    found = (doc.get("lists") or {}).get(list_id)
    if found is None:
        raise not_found(f"List {list_id} does not exist.")
    return found


def create_list(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``POST /crm/v3/lists``: a new list (names are unique in the portal)."""
    body = body_json(request)
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: a list definition must be an object")
    unknown = sorted(set(body) - LIST_FIELDS)
    if unknown:
        raise validation(f'Invalid input JSON: Unrecognized field "{unknown[0]}"')
    name, type_id, processing = (
        body.get("name"),
        body.get("objectTypeId"),
        body.get("processingType"),
    )
    if not isinstance(name, str) or not name.strip():
        raise validation("Invalid input JSON: name is required")
    if type_id not in OBJECT_TYPE_IDS:
        raise validation(f"Invalid objectTypeId {type_id!r}")
    if processing not in PROCESSING_TYPES:
        raise validation(f"Invalid processingType {processing!r}: use one of {PROCESSING_TYPES}")
    if processing != "MANUAL" and not isinstance(body.get("filterBranch"), dict):
        raise validation(f"A {processing} list requires a filterBranch")
    with state.change(VENDOR) as doc:
        lists = doc.setdefault("lists", {})
        if any(other["name"] == name for other in lists.values()):
            raise validation(
                f"A list named '{name}' already exists. List names must be unique.",
                subCategory="ILS_LIST_NAME_ALREADY_EXISTS",
            )
        counters = doc.setdefault("next_ids", {})
        counters["list"] = counters.get("list", 0) + 1
        stamp = now()
        record: dict[str, Any] = {
            "listId": str(counters["list"]),
            "listVersion": 1,
            "name": name,
            "objectTypeId": type_id,
            "processingStatus": "COMPLETE",
            "processingType": processing,
            "createdAt": stamp,
            "updatedAt": stamp,
            "filtersUpdatedAt": stamp,
            "createdById": "1",
            "updatedById": "1",
        }
        if "filterBranch" in body:
            record["filterBranch"] = body["filterBranch"]
        record["members"] = {}
        lists[record["listId"]] = record
        public = _public_list(record)
    return json_response({"list": public})


def get_list(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``GET /crm/v3/lists/{listId}``."""
    doc = state.read(VENDOR)
    return json_response({"list": _public_list(_list(doc, request.path_params["listId"]))})


def list_by_name(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}``."""
    type_id = request.path_params["objectTypeId"]
    name = unquote(request.path_params["listName"])
    for record in (state.read(VENDOR).get("lists") or {}).values():
        if record["name"] == name and record["objectTypeId"] == type_id:
            return json_response({"list": _public_list(record)})
    raise not_found(f"List does not exist with name {name} and object type id {type_id}.")


def delete_list(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``DELETE /crm/v3/lists/{listId}``."""
    with state.change(VENDOR) as doc:
        _list(doc, request.path_params["listId"])
        del doc["lists"][request.path_params["listId"]]
    return Response(204, b"")


def _cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(record_id.encode()).decode().rstrip("=")


def _uncursor(after: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise validation(f"Invalid value for query parameter after: {after!r}") from None


def memberships(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``GET /crm/v3/lists/{listId}/memberships``: members by ascending record id."""
    record = _list(state.read(VENDOR), request.path_params["listId"])
    limit = parse_limit(request.arg("limit"), 100, MEMBERSHIP_PAGE_LIMIT)
    after = request.arg("after")
    members = sorted(record.get("members", {}).items(), key=lambda kv: int(kv[0]))
    if after:
        floor = _uncursor(after)
        members = [m for m in members if int(m[0]) > floor]
    page = members[:limit]
    payload: dict[str, Any] = {
        "results": [{"recordId": rid, "membershipTimestamp": ts} for rid, ts in page]
    }
    if len(members) > limit:
        cursor = _cursor(page[-1][0])
        payload["paging"] = {"next": {"after": cursor, "link": next_link(request, cursor)}}
    return json_response(payload)


def _too_many() -> HubSpotError:
    return validation(
        f"The maximum number of record ids supported in a membership request is "
        f"{MEMBERSHIP_BATCH_LIMIT:,}. Please reduce the number of items and try again"
    )


def _record_ids(raw: Any, field: str) -> list[str]:
    if not isinstance(raw, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in raw
    ):
        raise validation(f"Invalid input JSON: {field} must be an array of record ids")
    if len(raw) > MEMBERSHIP_BATCH_LIMIT:
        raise _too_many()
    return list(dict.fromkeys(str(v).strip() for v in raw))


def _change_members(
    views: Views,
    state: StateStore,
    now: Clock,
    list_id: str,
    to_add: list[str],
    to_remove: list[str],
) -> Response:
    with state.change(VENDOR) as doc:
        record = _list(doc, list_id)
        if record["processingType"] not in ("MANUAL", "SNAPSHOT"):
            raise validation(
                f"List {list_id} has processingType {record['processingType']}: memberships "
                "can only be changed on MANUAL or SNAPSHOT lists"
            )
        view = views.get(OBJECT_TYPE_IDS[record["objectTypeId"]])

        def exists(record_id: str) -> bool:
            pos = view.position(int(record_id)) if record_id.isdigit() else None
            return pos is not None and bool(view.active[pos])

        members: dict[str, str] = record.setdefault("members", {})
        added, removed, missing = [], [], []
        stamp = now()
        for record_id in to_add:
            if not exists(record_id):
                missing.append(record_id)
            elif record_id not in members:
                members[record_id] = stamp
                added.append(record_id)
        for record_id in to_remove:
            if record_id in members:
                del members[record_id]
                removed.append(record_id)
            elif not exists(record_id) and record_id not in missing:
                missing.append(record_id)
        if added or removed:
            record["updatedAt"] = stamp
    return json_response(
        {"recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": added}
    )


def add_members(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``PUT /crm/v3/lists/{listId}/memberships/add`` with a JSON array of record ids."""
    ids = _record_ids(body_json(request), "the request body")
    return _change_members(views, state, now, request.path_params["listId"], ids, [])


def remove_members(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``PUT /crm/v3/lists/{listId}/memberships/remove`` with a JSON array of record ids."""
    ids = _record_ids(body_json(request), "the request body")
    return _change_members(views, state, now, request.path_params["listId"], [], ids)


def add_and_remove(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``PUT /crm/v3/lists/{listId}/memberships/add-and-remove``."""
    body = body_json(request)
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: expected recordIdsToAdd and recordIdsToRemove")
    to_add = _record_ids(body.get("recordIdsToAdd", []), "recordIdsToAdd")
    to_remove = _record_ids(body.get("recordIdsToRemove", []), "recordIdsToRemove")
    if len(to_add) + len(to_remove) > MEMBERSHIP_BATCH_LIMIT:
        raise _too_many()
    return _change_members(views, state, now, request.path_params["listId"], to_add, to_remove)


def gdpr_delete(views: Views, state: StateStore, now: Clock, request: Request) -> Response:
    """``POST /crm/v3/objects/contacts/gdpr-delete``: erase a contact (204)."""
    if resolve(request.path_params["objectType"]) != CONTACTS:
        raise validation("GDPR deletion is only available for contacts")
    body = body_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("objectId"), str | int):
        raise validation("Invalid input JSON: objectId is required")
    object_id, id_property = str(body["objectId"]).strip(), body.get("idProperty")
    if id_property not in (None, "", "hs_object_id", "email"):
        raise validation(f"Property {id_property} is not a unique identifier property")
    with state.change(VENDOR) as doc:
        view = views.get(CONTACTS)
        if id_property == "email":
            pos = view.by_email(object_id)
        else:
            pos = view.position(int(object_id)) if object_id.isdigit() else None
            if pos is not None and not view.active[pos]:
                pos = None
        if pos is None:
            raise not_found()
        contact_id, email = view.id_strings[pos], view.values("email")[pos]
        doc.setdefault("gdpr_deletions", []).append(
            {
                "objectId": object_id,
                "idProperty": id_property or "hs_object_id",
                "contactId": contact_id,
                "email": email,
                "deletedAt": now(),
            }
        )
        (doc.get("contacts") or {}).pop(contact_id, None)
        for record in (doc.get("lists") or {}).values():
            record.get("members", {}).pop(contact_id, None)
    return Response(204, b"")
