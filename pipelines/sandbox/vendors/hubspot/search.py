"""``POST /crm/v3/objects/{objectType}/search``: request validation, filters, sorts, paging.

Filters are evaluated as numpy masks over a :class:`~.views.View`'s typed columns: dates compare
as epoch milliseconds (values may be ISO strings or epoch-ms strings), numbers as floats,
strings case-insensitively. Results are ordered by the one sort (ties by id), or by id.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.sandbox.vendors.hubspot.errors import validation
from pipelines.sandbox.vendors.hubspot.views import Column, View, parse_timestamp

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_LIMIT = 200
MAX_RESULTS = 10_000
BODY_FIELDS = {"filterGroups", "sorts", "properties", "limit", "after", "query"}
FILTER_FIELDS = {"propertyName", "operator", "value", "highValue", "values"}
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


@dataclass(frozen=True)
class SearchRequest:
    """A validated search body."""

    groups: list[list[dict[str, Any]]]
    sort: tuple[str, bool] | None  # (property, descending)
    properties: list[str] | None
    limit: int
    offset: int
    query: str | None


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise validation(f"Invalid input JSON: {name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise validation(f"Invalid input JSON: {name} must be an integer, got {value!r}")


def parse_request(body: Any) -> SearchRequest:
    """Validate a search body the way HubSpot does (limits, field names, operators)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: the search request must be a JSON object")
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise validation(f'Invalid input JSON: Unrecognized field "{unknown[0]}"')
    groups_raw = body.get("filterGroups") or []
    if not isinstance(groups_raw, list):
        raise validation("Invalid input JSON: filterGroups must be an array")
    if len(groups_raw) > MAX_GROUPS:
        raise validation(
            f"Too many filter groups ({len(groups_raw)}). The maximum number of filter groups "
            f"is {MAX_GROUPS}."
        )
    groups: list[list[dict[str, Any]]] = []
    total = 0
    for group in groups_raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation("Invalid input JSON: each filter group needs a filters array")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation(
                f"Too many filters in a filter group ({len(filters)}). The maximum number of "
                f"filters per group is {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        for item in filters:
            _check_filter(item)
        groups.append(filters)
    if total > MAX_FILTERS:
        raise validation(
            f"Too many filters ({total}). The maximum number of filters across all filter "
            f"groups is {MAX_FILTERS}."
        )
    limit = _int(body.get("limit", 10), "limit")
    if limit < 1 or limit > MAX_LIMIT:
        raise validation(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    after = body.get("after")
    offset = 0 if after in (None, "") else _int(after, "after")
    if offset < 0:
        raise validation(f"Invalid after value: {after}")
    if offset + limit > MAX_RESULTS:
        raise validation(
            f"The search API returns at most {MAX_RESULTS} results for a query: after "
            f"({offset}) plus limit ({limit}) goes beyond that. Narrow the filters instead "
            "of paging further."
        )
    properties = body.get("properties")
    if properties is not None and (
        not isinstance(properties, list) or not all(isinstance(p, str) for p in properties)
    ):
        raise validation("Invalid input JSON: properties must be an array of strings")
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise validation("Invalid input JSON: query must be a string")
    return SearchRequest(groups, _parse_sorts(body.get("sorts")), properties, limit, offset, query)


def _check_filter(item: Any) -> None:
    if not isinstance(item, dict):
        raise validation("Invalid input JSON: a filter must be an object")
    unknown = sorted(set(item) - FILTER_FIELDS)
    if unknown:
        raise validation(f'Invalid input JSON: Unrecognized field "{unknown[0]}"')
    if not isinstance(item.get("propertyName"), str) or not item["propertyName"]:
        raise validation("Invalid input JSON: a filter needs a propertyName")
    operator = item.get("operator")
    if operator not in OPERATORS:
        raise validation(
            f"Invalid input JSON: operator {operator!r} is not one of {sorted(OPERATORS)}"
        )
    if operator in ("IN", "NOT_IN"):
        if not isinstance(item.get("values"), list) or not item["values"]:
            raise validation(f"{operator} filter on {item['propertyName']} requires values")
    elif operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY") and item.get("value") is None:
        raise validation(f"{operator} filter on {item['propertyName']} requires a value")
    if operator == "BETWEEN" and item.get("highValue") is None:
        raise validation(f"BETWEEN filter on {item['propertyName']} requires a highValue")


def _parse_sorts(sorts: Any) -> tuple[str, bool] | None:
    if sorts in (None, []):
        return None
    if not isinstance(sorts, list):
        raise validation("Invalid input JSON: sorts must be an array")
    if len(sorts) > 1:
        raise validation("Only one sort is supported per search request.")
    sort = sorts[0]
    if isinstance(sort, str):  # the legacy "-createdate" form
        return (sort.lstrip("-"), sort.startswith("-"))
    if not isinstance(sort, dict) or not isinstance(sort.get("propertyName"), str):
        raise validation("Invalid input JSON: a sort needs a propertyName")
    direction = sort.get("direction", "ASCENDING")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise validation(f"Invalid sort direction {direction!r}: use ASCENDING or DESCENDING")
    return (sort["propertyName"], direction == "DESCENDING")


def _scalar(column: Column, value: Any, name: str) -> Any:
    """A filter value converted to the column's type."""
    if column.kind == "datetime":
        moment = parse_timestamp(value)
        if moment is None:
            raise validation(f"Invalid date value {value!r} for property {name}")
        return int(moment.timestamp() * 1000)
    if column.kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise validation(f"Invalid number value {value!r} for property {name}") from None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def _compare(column: Column, op: str, value: Any) -> np.ndarray:
    values, valid = column.values, column.valid
    if column.kind != "string":
        result = {
            "EQ": values == value,
            "LT": values < value,
            "LTE": values <= value,
            "GT": values > value,
            "GTE": values >= value,
        }[op]
        return valid & result
    compare = {
        "EQ": lambda x: x == value,
        "LT": lambda x: x < value,
        "LTE": lambda x: x <= value,
        "GT": lambda x: x > value,
        "GTE": lambda x: x >= value,
    }[op]
    if op == "EQ":
        return valid & (values == value)
    return np.fromiter((x is not None and compare(x) for x in values), bool, len(values))


def _tokens(text: str | None) -> set[str]:
    return set(re.split(r"[^\w@.*+-]+", text)) if text else set()


def _filter_mask(view: View, item: dict[str, Any]) -> np.ndarray:
    name, op = item["propertyName"], item["operator"]
    if name not in view.props:
        raise validation(f"Property {name!r} does not exist on {view.spec.name}")
    column = view.column(name)
    if op == "HAS_PROPERTY":
        return column.valid.copy()
    if op == "NOT_HAS_PROPERTY":
        return ~column.valid
    if op in ("IN", "NOT_IN"):
        wanted = [_scalar(column, v, name) for v in item["values"]]
        if column.kind == "string":
            allowed = set(wanted)
            hits = np.fromiter((x in allowed for x in column.values), bool, len(column.values))
        else:
            hits = np.isin(column.values, wanted)
        hits &= column.valid
        return hits if op == "IN" else ~hits
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(item["value"]).strip().lower()
        if "*" in token:
            hits = np.fromiter(
                (x is not None and fnmatch.fnmatchcase(x, token) for x in column.values),
                bool,
                len(column.values),
            )
        else:
            hits = np.fromiter(
                (x is not None and token in _tokens(str(x)) for x in column.values),
                bool,
                len(column.values),
            )
        return hits if op == "CONTAINS_TOKEN" else ~hits
    value = _scalar(column, item["value"], name)
    if op == "NEQ":
        return ~_compare(column, "EQ", value)
    if op == "BETWEEN":
        high = _scalar(column, item["highValue"], name)
        return _compare(column, "GTE", value) & _compare(column, "LTE", high)
    return _compare(column, op, value)


def _query_mask(view: View, query: str) -> np.ndarray:
    needle = query.strip().lower()
    mask = np.zeros(len(view), dtype=bool)
    for name in view.spec.searchable:
        values = view.column(name).values
        mask |= np.fromiter((x is not None and needle in x for x in values), bool, len(values))
    return mask


def matching(view: View, request: SearchRequest) -> np.ndarray:
    """Row positions matching the request, in result order (archived rows never match)."""
    mask = view.active.copy()
    if request.groups:
        any_group = np.zeros(len(view), dtype=bool)
        for group in request.groups:
            group_mask = np.ones(len(view), dtype=bool)
            for item in group:
                group_mask &= _filter_mask(view, item)
            any_group |= group_mask
        mask &= any_group
    if request.query:
        mask &= _query_mask(view, request.query)
    if request.sort is None:
        return np.flatnonzero(mask)
    name, descending = request.sort
    if name not in view.props:
        raise validation(f"Property {name!r} does not exist on {view.spec.name}")
    order = view.order(name, descending)
    return order[mask[order]]


def search_page(view: View, body: Any) -> bytes:
    """The serialised search response for one request body."""
    request = parse_request(body)
    positions = matching(view, request)
    props = view.selection(request.properties)
    rendered = view.rendered(props, ())
    page = positions[request.offset : request.offset + request.limit]
    total = len(positions)
    parts = [b'{"total":', str(total).encode(), b',"results":[']
    parts.append(b",".join(rendered[p] for p in page.tolist()))
    parts.append(b"]")
    end = request.offset + len(page)
    if end < total:
        parts.append(b',"paging":{"next":{"after":"' + str(end).encode() + b'"}}')
    parts.append(b"}")
    return b"".join(parts)
