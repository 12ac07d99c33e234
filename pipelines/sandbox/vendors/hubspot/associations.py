"""``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read``: associations of many
records at once (how a client gets the associations of records found by search, which never
returns them).

Answers HubSpot's batch shape ``{"status":"COMPLETE","results":[{"from":{"id"},"to":[{"toObjectId",
"associationTypes":[{"category","typeId","label"}]}]}],"startedAt","completedAt"}``; inputs without
associations (or unknown, or archived) come back under ``errors`` with HTTP 207. At most
``MAX_INPUTS`` inputs per request (HubSpot's limit since 2025). Per-input paging (``after``) is
accepted and ignored: the sandbox never has more associations per record than fit in one page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.vendors.hubspot.errors import correlation_id, validation
from pipelines.sandbox.vendors.hubspot.objects import SPECS
from pipelines.sandbox.vendors.hubspot.read import json_bytes, object_type
from pipelines.sandbox.vendors.hubspot.views import Views, iso_ms

MAX_INPUTS = 100
# HubSpot-defined association type ids: (from, to) -> (unlabeled id, primary id or None).
TYPE_IDS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "companies"): (279, 1),
    ("companies", "contacts"): (280, 2),
    ("contacts", "deals"): (4, None),
    ("deals", "contacts"): (3, None),
    ("contacts", "tickets"): (15, None),
    ("tickets", "contacts"): (16, None),
    ("contacts", "calls"): (193, None),
    ("calls", "contacts"): (194, None),
    ("contacts", "notes"): (201, None),
    ("notes", "contacts"): (202, None),
    ("deals", "companies"): (341, 5),
    ("companies", "deals"): (342, 6),
    ("tickets", "calls"): (219, None),
    ("calls", "tickets"): (220, None),
    ("tickets", "notes"): (227, None),
    ("notes", "tickets"): (228, None),
}


def _types(source: str, target: str, labels: list[str]) -> list[dict[str, Any]]:
    """v4 association types for the v3 labels of one pair (``_unlabeled`` marks a primary)."""
    unlabeled, primary = TYPE_IDS.get((source, target), (0, None))
    primary_pair = any(label.endswith("_unlabeled") for label in labels)
    found = [{"category": "HUBSPOT_DEFINED", "typeId": unlabeled, "label": None}]
    if primary_pair and primary is not None:
        found.insert(0, {"category": "HUBSPOT_DEFINED", "typeId": primary, "label": "Primary"})
    return found


def batch_read(views: Views, request: Request) -> Response:
    """The associations from each input record to the target type."""
    started = iso_ms(datetime.now(UTC))
    source = object_type(request.path_params["fromObjectType"])
    target = object_type(request.path_params["toObjectType"])
    try:
        body = request.json()
    except ValueError as exc:
        raise validation(f"Invalid input JSON: {exc}") from None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(
        isinstance(item, dict) and str(item.get("id", "")).strip().isdigit() for item in inputs
    ):
        raise validation("Invalid input JSON: inputs must be an array of {id, after}")
    if len(inputs) > MAX_INPUTS:
        raise validation(
            f"Batch input limit exceeded: at most {MAX_INPUTS} inputs, got {len(inputs)}"
        )
    view = views.get(source)
    links = view.association(target) or {}
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in inputs:
        object_id = str(item["id"]).strip()
        pos = view.position(int(object_id))
        found = links.get(int(object_id)) if pos is not None and view.active[pos] else None
        if not found:
            missing.append(object_id)
            continue
        by_target: dict[str, list[str]] = {}
        for link in found:
            by_target.setdefault(link["id"], []).append(link["type"])
        results.append(
            {
                "from": {"id": object_id},
                "to": [
                    {"toObjectId": int(to_id), "associationTypes": _types(source, target, labels)}
                    for to_id, labels in by_target.items()
                ],
            }
        )
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_ms(datetime.now(UTC)),
    }
    if missing:
        singular, owner = SPECS[target].singular, SPECS[source].singular
        payload["numErrors"] = len(missing)
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No {singular} is associated with {owner} {object_id}.",
                "context": {"fromObjectId": [object_id]},
                "id": correlation_id(),
            }
            for object_id in missing
        ]
    return json_bytes(orjson.dumps(payload), 207 if missing else 200)
