"""Klaviyo write endpoints (what reverse sync calls) and the write-side state they record.

State document ``klaviyo``::

    {"epoch": str, "rev": int, "seq": int,              # overlay version, id counter
     "lists": {list_id: {id, name, opt_in_process, created, updated}},        # created by API
     "memberships": {list_id: {"added": {profile_id: joined_at}, "removed": [profile_id]}},
     "profiles": {profile_id: {id, origin: "world"|"api", attributes: {...},
                               subscriptions: {"email": {"marketing": {...}}},
                               created, updated, last_event_date}},
     "deleted_profiles": {profile_id: requested_at},
     "bulk_import_jobs": {job_id: {id, created_at, submitted, polls, total_count, failed_count,
                                   profile_ids, list_ids, errors: [...]}},
     "subscription_jobs": [{kind, list_id, historical_import, received_at, profiles: [...]}],
     "deletion_requests": [{id, identifier, profile_ids, requested_at}],
     "list_create_log": [wall-clock seconds]}

Profiles match existing ones by ``id``, else email (case-insensitive), phone number, external id;
world profiles that are changed are copied into ``profiles`` with their new attributes (see
:mod:`.store`). Every write is idempotent under retry except creating a list (as at Klaviyo, a
retried create makes a second list).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.ratelimit import RateLimitMode
from pipelines.sandbox.vendors.klaviyo import render
from pipelines.sandbox.vendors.klaviyo.errors import (
    KlaviyoError,
    bad_parameter,
    invalid,
    not_found,
    throttled,
)
from pipelines.sandbox.vendors.klaviyo.filters import parse_datetime
from pipelines.sandbox.vendors.klaviyo.paging import Cursor
from pipelines.sandbox.vendors.klaviyo.read import json_api, link, self_link
from pipelines.sandbox.vendors.klaviyo.store import (
    EMAIL,
    Writes,
    list_ids_of,
    next_seq,
    opt_in,
    profile_problem,
    require_lists,
    short_id,
)

if TYPE_CHECKING:
    from pipelines.sandbox.vendors.klaviyo.emulator import KlaviyoEmulator

MAX_IMPORT_PROFILES = 10_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_PROFILE_BYTES = 100 * 1024
MAX_LIST_PROFILES = 1_000
MAX_SUBSCRIBE = 1_000
MAX_UNSUBSCRIBE = 100
LIST_CREATE_DAILY_CAP = 150  # Klaviyo creates at most 150 lists a day per account
JOB_SECONDS = 1.0  # a bulk import job completes on the second poll or after this long

# --- request helpers -------------------------------------------------------------------------


def body(request: Request) -> Any:
    """The JSON body (400 ``parse_error`` when it is not JSON, 415 for a wrong content type)."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in ("application/json", "application/vnd.api+json"):
        raise KlaviyoError(
            415,
            "unsupported_media_type",
            f'Unsupported media type "{content_type}" in request.',
            f'Unsupported media type "{content_type}" in request.',
        )
    try:
        return request.json()
    except ValueError:
        raise KlaviyoError(400, "parse_error", "Malformed request.", "JSON parse error.") from None


def resource(payload: Any, kind: str) -> dict[str, Any]:
    """``payload["data"]`` checked to be a resource object of ``kind``."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise invalid("The request body must contain a 'data' object.", pointer="/data")
    if data.get("type") != kind:
        raise KlaviyoError(
            409,
            "conflict",
            "Conflict.",
            f"The type '{data.get('type')}' does not match the resource type '{kind}'.",
            pointer="/data/type",
        )
    return data


def attributes_of(data: dict[str, Any], pointer: str = "/data/attributes") -> dict[str, Any]:
    """``data.attributes`` as a dict."""
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise invalid("'attributes' is required.", pointer=pointer)
    return attributes


# --- lists -----------------------------------------------------------------------------------


def create_list(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/lists``: 201 with the new list."""
    data = resource(body(request), "list")
    attributes = attributes_of(data)
    name = attributes.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("'name' is required.", pointer="/data/attributes/name")
    process = attributes.get("opt_in_process", "single_opt_in")
    if process not in ("single_opt_in", "double_opt_in"):
        raise invalid(
            f"'{process}' is not a valid opt_in_process.", pointer="/data/attributes/opt_in_process"
        )
    with emu.state.change(emu.name) as doc:
        check_daily_cap(emu, doc)
        writes = Writes.open(emu, doc)
        taken = set(emu.world.table("klaviyo_lists")["list_id"].to_list()) | set(
            doc.get("lists", {})
        )
        list_id = short_id(f"list|{next_seq(doc)}", 6)
        while list_id in taken:
            list_id = short_id(f"list|{next_seq(doc)}", 6)
        record = {
            "id": list_id,
            "name": name,
            "opt_in_process": process,
            "created": writes.now,
            "updated": writes.now,
        }
        doc.setdefault("lists", {})[list_id] = record
        writes.changed = True
        writes.commit()
    row = {
        "list_id": list_id,
        **{k: record[k] for k in ("name", "opt_in_process", "created", "updated")},
    }
    return json_api({"data": render.list_resource(row, request.base_url, None)}, 201)


def check_daily_cap(emu: KlaviyoEmulator, doc: dict[str, Any]) -> None:
    """Klaviyo creates at most 150 lists a day per account (not enforced with limits off)."""
    if emu.ctx.rate_limits is RateLimitMode.OFF:
        return
    now = time.time()
    log = [t for t in doc.get("list_create_log", []) if now - t < 86_400]
    if len(log) >= LIST_CREATE_DAILY_CAP:
        raise throttled(max(1, int(86_400 - (now - log[0]))))
    doc["list_create_log"] = [*log, now]


def profile_refs(payload: Any) -> list[str]:
    """``data[*].id`` of a relationship body (type ``profile``)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise invalid("'data' must be a list of profiles.", pointer="/data")
    if len(data) > MAX_LIST_PROFILES:
        raise invalid(
            f"Too many profiles: {len(data)}; at most {MAX_LIST_PROFILES} can be sent at once.",
            pointer="/data",
        )
    ids = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or item.get("type") != "profile" or not item.get("id"):
            raise invalid("Each item needs type 'profile' and an id.", pointer=f"/data/{i}")
        ids.append(str(item["id"]))
    return ids


def change_members(emu: KlaviyoEmulator, request: Request, add: bool) -> Response:
    """Add or remove list members by profile id; 204."""
    list_id = request.path_params["list_id"]
    ids = profile_refs(body(request))
    with emu.state.change(emu.name) as doc:
        require_lists(emu, doc, [list_id])
        writes = Writes.open(emu, doc)
        for i, pid in enumerate(ids):
            if not writes.exists(pid):
                raise invalid(f"Profile '{pid}' does not exist.", pointer=f"/data/{i}/id")
        for pid in ids:
            if add:
                writes.join(list_id, pid)
            else:
                writes.leave(list_id, pid)
        writes.commit()
    return Response(204, b"", {}, "application/vnd.api+json")


def add_list_profiles(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/lists/{id}/relationships/profiles`` (at most 1,000 ids)."""
    return change_members(emu, request, add=True)


def remove_list_profiles(emu: KlaviyoEmulator, request: Request) -> Response:
    """``DELETE /api/lists/{id}/relationships/profiles`` (at most 1,000 ids)."""
    return change_members(emu, request, add=False)


# --- profiles --------------------------------------------------------------------------------


def import_profile(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/profile-import``: 201 when created, 200 when updated."""
    data = resource(body(request), "profile")
    attributes = attributes_of(data)
    problem = profile_problem(attributes)
    if problem is not None:
        detail, key = problem
        raise invalid(detail, pointer=f"/data/attributes/{key}".rstrip("/"))
    with emu.state.change(emu.name) as doc:
        writes = Writes.open(emu, doc)
        pid, created = writes.upsert(attributes, data.get("id"))
        record = doc["profiles"][pid]
        writes.commit()
    row = render.state_profile_row(record)
    document = {"data": render.profile_resource(row, request.base_url, False, None)}
    return json_api(document, 201 if created else 200)


def bulk_import(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/profile-bulk-import-jobs``: 202 with a queued job."""
    if len(request.body) > MAX_IMPORT_BYTES:
        raise KlaviyoError(
            413,
            "request_too_large",
            "Request entity too large.",
            f"The payload is {len(request.body)} bytes; the limit is 5MB.",
        )
    data = resource(body(request), "profile-bulk-import-job")
    attributes = attributes_of(data)
    profiles = (
        attributes.get("profiles", {}).get("data")
        if isinstance(attributes.get("profiles"), dict)
        else None
    )
    if not isinstance(profiles, list) or not profiles:
        raise invalid(
            "'profiles.data' must be a non-empty list.", pointer="/data/attributes/profiles/data"
        )
    if len(profiles) > MAX_IMPORT_PROFILES:
        raise invalid(
            f"Too many profiles: {len(profiles)}; a job accepts at most {MAX_IMPORT_PROFILES}.",
            pointer="/data/attributes/profiles/data",
        )
    list_ids = list_ids_of(data.get("relationships"), "/data/relationships/lists/data")
    with emu.state.change(emu.name) as doc:
        require_lists(emu, doc, list_ids)
        writes = Writes.open(emu, doc)
        profile_ids: list[str] = []
        errors: list[dict[str, Any]] = []
        for i, item in enumerate(profiles):
            pointer = f"/data/attributes/profiles/data/{i}"
            problem = import_problem(item)
            if problem is not None:
                detail, key = problem
                errors.append(import_error(detail, f"{pointer}/attributes/{key}".rstrip("/"), item))
                continue
            if item.get("id") and not writes.exists(str(item["id"])):
                errors.append(
                    import_error(f"Profile '{item['id']}' does not exist.", f"{pointer}/id", item)
                )
                continue
            pid, _ = writes.upsert(item["attributes"], item.get("id"))
            profile_ids.append(pid)
            for list_id in list_ids:
                writes.join(list_id, pid)
        job_id = short_id(f"job|{next_seq(doc)}", 20)
        doc.setdefault("bulk_import_jobs", {})[job_id] = {
            "id": job_id,
            "created_at": writes.now,
            "submitted": time.time(),
            "polls": 0,
            "total_count": len(profiles),
            "failed_count": len(errors),
            "profile_ids": profile_ids,
            "list_ids": list_ids,
            "errors": errors,
        }
        writes.commit()
        job = dict(doc["bulk_import_jobs"][job_id])
    return json_api(
        {
            "data": job_resource(job, request.base_url, "queued"),
            "links": {"self": self_link(request)},
        },
        202,
    )


def import_problem(item: Any) -> tuple[str, str] | None:
    """Why one profile of a bulk import fails, or None."""
    if not isinstance(item, dict) or item.get("type") != "profile":
        return "Each profile needs type 'profile'.", ""
    if len(str(item)) > MAX_PROFILE_BYTES:
        return "The profile is larger than 100KB.", ""
    return profile_problem(item.get("attributes"))


def import_error(detail: str, pointer: str, original: Any) -> dict[str, Any]:
    """One import-error as stored (and served by ``.../import-errors``)."""
    return {
        "code": "invalid",
        "title": "Invalid input.",
        "detail": detail,
        "source": {"pointer": pointer},
        "original_payload": original,
    }


def job_status(job: dict[str, Any]) -> str:
    """queued → processing (first poll) → complete (second poll, or after JOB_SECONDS)."""
    if job["polls"] >= 2 or time.time() - job["submitted"] >= JOB_SECONDS:
        return "complete"
    return "processing" if job["polls"] >= 1 else "queued"


def job_resource(job: dict[str, Any], base: str, status: str) -> dict[str, Any]:
    """A profile-bulk-import-job resource."""
    total = job["total_count"]
    done = status == "complete"
    created = datetime.fromisoformat(job["created_at"])
    url = f"{base}/api/profile-bulk-import-jobs/{job['id']}/"
    return {
        "type": "profile-bulk-import-job",
        "id": job["id"],
        "attributes": {
            "status": status,
            "created_at": job["created_at"],
            "total_count": total,
            "completed_count": total if done else (total // 2 if status == "processing" else 0),
            "failed_count": job["failed_count"] if done else 0,
            "completed_at": job["created_at"] if done else None,
            "expires_at": (created + timedelta(days=7)).isoformat(),
            "started_at": job["created_at"] if status != "queued" else None,
        },
        "relationships": {
            "lists": {
                "data": [{"type": "list", "id": list_id} for list_id in job["list_ids"]],
                "links": {"self": f"{url}relationships/lists/", "related": f"{url}lists/"},
            },
            "profiles": {
                "links": {"self": f"{url}relationships/profiles/", "related": f"{url}profiles/"}
            },
            "import-errors": {"links": {"related": f"{url}import-errors/"}},
        },
        "links": {"self": url},
    }


def find_job(emu: KlaviyoEmulator, request: Request, poll: bool) -> tuple[dict[str, Any], str]:
    """The job (a copy) and its status; a poll advances it."""
    job_id = request.path_params["job_id"]
    with emu.state.change(emu.name) as doc:
        job = doc.get("bulk_import_jobs", {}).get(job_id)
        if job is None:
            raise not_found("profile-bulk-import-job", job_id)
        if poll:
            job["polls"] += 1
        return dict(job), job_status(job)


def get_bulk_import(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/profile-bulk-import-jobs/{id}``."""
    for name in request.query:
        if name not in ("fields[profile-bulk-import-job]", "fields[list]", "include"):
            raise bad_parameter(name, f"'{name}' is not a valid query parameter for this endpoint.")
    job, status = find_job(emu, request, poll=True)
    return json_api(
        {"data": job_resource(job, request.base_url, status), "links": {"self": self_link(request)}}
    )


def index_page(
    request: Request, items: list[Any], default: int = 20, maximum: int = 100
) -> tuple[list[tuple[int, Any]], str | None, str | None]:
    """A page of a small in-memory list by position: items with their index, next/prev links."""
    for name in request.query:
        if name not in ("page[cursor]", "page[size]", "fields[import-error]"):
            raise bad_parameter(name, f"'{name}' is not a valid query parameter for this endpoint.")
    raw = request.arg("page[size]")
    try:
        size = int(raw) if raw is not None else default
    except ValueError:
        size = 0
    if not 1 <= size <= maximum:
        raise bad_parameter("page[size]", f"page[size] must be an integer between 1 and {maximum}.")
    token = request.arg("page[cursor]")
    start = 0
    if token:
        cursor = Cursor.decode(token, "index")
        if not isinstance(cursor.key, int) or cursor.key < 0:
            raise invalid("Invalid cursor provided.")
        start = cursor.key
    chosen = list(enumerate(items))[start : start + size]
    after = Cursor("n", "index", start + size, "") if start + size < len(items) else None
    before = Cursor("p", "index", max(0, start - size), "") if start > 0 else None
    return chosen, link(request, after), link(request, before)


def get_import_errors(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/profile-bulk-import-jobs/{id}/import-errors``."""
    job, _ = find_job(emu, request, poll=False)
    chosen, after, before = index_page(request, job["errors"])
    data = [
        {
            "type": "import-error",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job['id']}/{i}")),
            "attributes": error,
        }
        for i, error in chosen
    ]
    return json_api(
        {"data": data, "links": {"self": self_link(request), "next": after, "prev": before}}
    )


def get_import_profile_ids(emu: KlaviyoEmulator, request: Request) -> Response:
    """``GET /api/profile-bulk-import-jobs/{id}/relationships/profiles``."""
    job, _ = find_job(emu, request, poll=False)
    chosen, after, before = index_page(request, job["profile_ids"])
    data = [{"type": "profile", "id": pid} for _, pid in chosen]
    return json_api(
        {"data": data, "links": {"self": self_link(request), "next": after, "prev": before}}
    )


# --- consent ---------------------------------------------------------------------------------


def subscription_items(
    request: Request, kind: str, maximum: int, consent: str
) -> tuple[list[dict[str, Any]], str | None, dict[str, Any]]:
    """Validated profiles, the optional list id and the job attributes of a subscription job."""
    data = resource(body(request), kind)
    attributes = attributes_of(data)
    items = (
        attributes.get("profiles", {}).get("data")
        if isinstance(attributes.get("profiles"), dict)
        else None
    )
    pointer = "/data/attributes/profiles/data"
    if not isinstance(items, list) or not items:
        raise invalid("'profiles.data' must be a non-empty list.", pointer=pointer)
    if len(items) > maximum:
        raise invalid(
            f"Too many profiles: {len(items)}; at most {maximum} can be sent at once.",
            pointer=pointer,
        )
    for i, item in enumerate(items):
        at = f"{pointer}/{i}/attributes"
        fields = item.get("attributes") if isinstance(item, dict) else None
        if not isinstance(fields, dict) or item.get("type") != "profile":
            raise invalid(
                "Each profile needs type 'profile' and attributes.", pointer=f"{pointer}/{i}"
            )
        if not fields.get("email") and not fields.get("phone_number") and not item.get("id"):
            raise invalid("Either email or phone_number is required.", pointer=at)
        email = fields.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
            raise invalid(f"Invalid email address: '{email}'.", pointer=f"{at}/email")
        marketing = (fields.get("subscriptions") or {}).get("email", {}).get("marketing")
        if not isinstance(marketing, dict) or marketing.get("consent") != consent:
            raise invalid(
                f"subscriptions.email.marketing.consent must be '{consent}'.",
                pointer=f"{at}/subscriptions",
            )
    relationship = (
        data.get("relationships", {}).get("list", {}).get("data")
        if isinstance(data.get("relationships"), dict)
        else None
    )
    list_id = (
        str(relationship["id"])
        if isinstance(relationship, dict) and relationship.get("id")
        else None
    )
    return items, list_id, attributes


def subscribe(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/profile-subscription-bulk-create-jobs`` (at most 1,000; 202).

    Subscribing clears an earlier unsubscribe, as at Klaviyo; honouring consent is the caller's
    job. A double opt-in list without ``historical_import`` only records a pending confirmation.
    """
    items, list_id, attributes = subscription_items(
        request, "profile-subscription-bulk-create-job", MAX_SUBSCRIBE, "SUBSCRIBED"
    )
    historical = bool(attributes.get("historical_import"))
    with emu.state.change(emu.name) as doc:
        if list_id is not None:
            require_lists(emu, doc, [list_id])
        writes = Writes.open(emu, doc)
        double = list_id is not None and opt_in(emu, doc, list_id) == "double_opt_in"
        results = []
        for i, item in enumerate(items):
            fields = item["attributes"]
            marketing = fields["subscriptions"]["email"]["marketing"]
            consented_at = marketing.get("consented_at")
            if historical:
                moment = parse_datetime(consented_at) if isinstance(consented_at, str) else None
                if moment is None or moment.isoformat() > writes.now:
                    raise invalid(
                        "consented_at is required with historical_import and must be in the past.",
                        pointer=f"/data/attributes/profiles/data/{i}/attributes/subscriptions",
                    )
            identifiers = {k: fields[k] for k in ("email", "phone_number") if fields.get(k)}
            pid, _ = writes.upsert(identifiers, item.get("id"))
            if double and not historical:
                results.append(
                    {"id": pid, "email": fields.get("email"), "result": "pending_double_opt_in"}
                )
                continue
            writes.set_consent(pid, "SUBSCRIBED", consented_at if historical else None)
            if list_id is not None:
                writes.join(list_id, pid)
            results.append({"id": pid, "email": fields.get("email"), "result": "subscribed"})
        doc.setdefault("subscription_jobs", []).append(
            {
                "kind": "subscribe",
                "list_id": list_id,
                "historical_import": historical,
                "custom_source": attributes.get("custom_source"),
                "received_at": writes.now,
                "profiles": results,
            }
        )
        writes.commit()
    return Response(202, b"", {}, "application/vnd.api+json")


def unsubscribe(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/profile-subscription-bulk-delete-jobs`` (at most 100; 202).

    With a list, members are removed from it; anyone not on the list (or without a list) is
    unsubscribed globally (consent ``UNSUBSCRIBED``).
    """
    items, list_id, _ = subscription_items(
        request, "profile-subscription-bulk-delete-job", MAX_UNSUBSCRIBE, "UNSUBSCRIBED"
    )
    with emu.state.change(emu.name) as doc:
        if list_id is not None:
            require_lists(emu, doc, [list_id])
        writes = Writes.open(emu, doc)
        results = []
        for item in items:
            fields = item["attributes"]
            identifiers = {k: fields[k] for k in ("email", "phone_number") if fields.get(k)}
            pid, _ = writes.upsert(identifiers, item.get("id"))
            if list_id is not None and writes.is_member(list_id, pid):
                writes.leave(list_id, pid)
                result = "removed_from_list"
            else:
                writes.set_consent(pid, "UNSUBSCRIBED")
                result = "unsubscribed"
            results.append({"id": pid, "email": fields.get("email"), "result": result})
        doc.setdefault("subscription_jobs", []).append(
            {
                "kind": "unsubscribe",
                "list_id": list_id,
                "received_at": writes.now,
                "profiles": results,
            }
        )
        writes.commit()
    return Response(202, b"", {}, "application/vnd.api+json")


# --- data privacy ----------------------------------------------------------------------------


def request_deletion(emu: KlaviyoEmulator, request: Request) -> Response:
    """``POST /api/data-privacy-deletion-jobs``: delete every profile matching one identifier."""
    data = resource(body(request), "data-privacy-deletion-job")
    attributes = attributes_of(data)
    profile = (
        attributes.get("profile", {}).get("data")
        if isinstance(attributes.get("profile"), dict)
        else None
    )
    if not isinstance(profile, dict) or profile.get("type") != "profile":
        raise invalid("'profile.data' must be a profile.", pointer="/data/attributes/profile/data")
    given = {k: v for k, v in (profile.get("attributes") or {}).items() if v}
    if profile.get("id"):
        given["id"] = profile["id"]
    unknown = set(given) - {"email", "phone_number", "id"}
    if unknown or len(given) != 1:
        raise invalid(
            "Exactly one of email, phone_number or id must be provided.",
            pointer="/data/attributes/profile/data",
        )
    ((key, value),) = given.items()
    with emu.state.change(emu.name) as doc:
        writes = Writes.open(emu, doc)
        matches = matching_profiles(writes, key, str(value))
        deleted = doc.setdefault("deleted_profiles", {})
        for pid in matches:
            deleted[pid] = writes.now
            for membership in doc.get("memberships", {}).values():
                membership["added"].pop(pid, None)
            writes.changed = True
        doc.setdefault("deletion_requests", []).append(
            {
                "id": short_id(f"deletion|{next_seq(doc)}", 20),
                "identifier": {key: value},
                "profile_ids": matches,
                "requested_at": writes.now,
            }
        )
        writes.commit()
    return Response(202, b"", {}, "application/vnd.api+json")


def matching_profiles(writes: Writes, key: str, value: str) -> list[str]:
    """Every served profile with the identifier (all of them, not just the first)."""
    if key == "id":
        return [value] if writes.exists(value) else []
    folded = value.lower() if key == "email" else value
    state = writes.doc.get("profiles", {})
    deleted = writes.doc.get("deleted_profiles", {})
    found = [
        pid
        for pid, record in state.items()
        if pid not in deleted and (record["attributes"].get(key) or "").lower() == folded.lower()
    ]
    column = writes.world_rows[key]
    if key == "email":
        column = column.str.to_lowercase()
    hits = writes.world_rows.filter(column == folded)["profile_id"].to_list()
    found += [pid for pid in hits if pid not in state and pid not in deleted]
    return sorted(set(found))
