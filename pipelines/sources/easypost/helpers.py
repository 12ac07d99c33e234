"""EasyPost glue: the API key, ``before_id`` + ``has_more`` paging, single-tracker reads, and the
tracking details as a flat Arrow table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import requests

from pipelines.errors import SourceError, credentials_rejected, setting_name
from pipelines.sources.easypost.settings import PAGE_SIZE, TRACKERS_PATH
from pipelines.sources.http import RetryingSession

SOURCE = "easypost"

Tracker = dict[str, Any]


DETAIL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # EasyPost's TrackingDetail.datetime
DETAIL_KEY = ("tracker_id", "position")  # primary key of tracking_details: never null


def split_details(trackers: list[Tracker]) -> list[dict[str, Any]]:
    """Take the ``tracking_details`` out of each tracker (in place); returns them as flat rows
    keyed by ``tracker_id`` and ``position``, ``tracking_location`` as ``tracking_location__*``."""
    rows: list[dict[str, Any]] = []
    for tracker in trackers:
        for position, detail in enumerate(tracker.pop("tracking_details", None) or ()):
            row = {"tracker_id": tracker["id"], "position": position, **detail}
            location = row.pop("tracking_location", None)
            if isinstance(location, dict):
                row.update({f"tracking_location__{k}": v for k, v in location.items()})
            rows.append(row)
    return rows


def details_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The detail rows as an Arrow table (dlt loads it without per-row work), ``datetime`` as a
    UTC timestamp. Schema drift loads too: a new field is a new column, and a value whose type
    differs from the rest of its column goes to ``<column>__v_text``, as dlt names variants."""
    try:
        table = pa.Table.from_struct_array(pa.array(rows))
        arrays: dict[str, Any] = dict(zip(table.column_names, table.columns, strict=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column with values of several types
        names = dict.fromkeys(key for row in rows for key in row)
        arrays = {}
        for name in names:
            arrays.update(_column(name, [row.get(name) for row in rows]))
    if "datetime" in arrays and pa.types.is_string(arrays["datetime"].type):
        arrays.update(_timestamps(arrays["datetime"], arrays.get("datetime__v_text")))
    fields = [pa.field(n, a.type, nullable=n not in DETAIL_KEY) for n, a in arrays.items()]
    return pa.Table.from_arrays(list(arrays.values()), schema=pa.schema(fields))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _column(name: str, values: list[Any]) -> dict[str, pa.Array]:
    """One column; values not of its most common type go to the ``__v_text`` variant."""
    try:
        return {name: pa.array(values)}
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    kind = Counter(type(v) for v in values if v is not None).most_common(1)[0][0]
    main = [v if type(v) is kind else None for v in values]
    rest = [None if v is None or type(v) is kind else _text(v) for v in values]
    try:
        array = pa.array(main)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. nested objects of several shapes
        array = pa.array([None if v is None else _text(v) for v in main], pa.string())
    return {name: array, f"{name}__v_text": pa.array(rest, pa.string())}


def _timestamps(text: pa.ChunkedArray, variant: Any) -> dict[str, Any]:
    """ISO 8601 ``...Z`` text as UTC timestamps; text that is not one goes to the variant."""
    parsed = pc.strptime(text, format=DETAIL_TIME_FORMAT, unit="us", error_is_null=True)
    columns: dict[str, Any] = {"datetime": parsed.cast(pa.timestamp("us", "UTC"))}
    unparsed = pc.and_(pc.is_null(parsed), pc.is_valid(text))
    if pc.any(unparsed).as_py():
        kept = pc.if_else(unparsed, text, pa.scalar(None, pa.string()))
        columns["datetime__v_text"] = kept if variant is None else pc.coalesce(variant, kept)
    return columns


class EasyPostClient:
    """Lists and reads trackers with the API key, retrying transient failures."""

    def __init__(self, *, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = RetryingSession(SOURCE)
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        response = self.session.get(self.base_url + path, params=params)
        if response.status_code in (401, 403):
            raise credentials_rejected(SOURCE, "api_key", response.status_code)
        return response

    def trackers_created_since(self, start: str) -> Iterator[list[Tracker]]:
        """Pages of trackers created at or after ``start`` (newest first: before_id + has_more)."""
        params: dict[str, Any] = {"start_datetime": start, "page_size": PAGE_SIZE}
        while True:
            response = self._get(TRACKERS_PATH, params)
            if response.status_code != 200:
                raise request_error(f"GET {TRACKERS_PATH}", response)
            body = orjson.loads(response.content)
            trackers: list[Tracker] = body.get("trackers") or []
            if trackers:
                yield trackers
            if not body.get("has_more") or not trackers:
                return
            params = {**params, "before_id": trackers[-1]["id"]}

    def tracker(self, tracker_id: str) -> Tracker | None:
        """One tracker (``GET /v2/trackers/{id}``), or None when EasyPost no longer has it."""
        path = f"{TRACKERS_PATH}/{quote(tracker_id, safe='')}"
        response = self._get(path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise request_error(f"GET {TRACKERS_PATH}/{{id}}", response)
        tracker: Tracker = orjson.loads(response.content)
        return tracker


def request_error(call: str, response: requests.Response) -> SourceError:
    """The one-line error for a request EasyPost refused for good."""
    try:
        error = orjson.loads(response.content).get("error") or {}
        detail = f" {error.get('code', '')}: {error.get('message', '')}"
    except (orjson.JSONDecodeError, AttributeError):
        detail = ""
    hint = f"; check {setting_name(SOURCE, 'base_url')}" if response.status_code == 404 else ""
    return SourceError(SOURCE, f"{call} failed (HTTP {response.status_code}{detail}){hint}")
