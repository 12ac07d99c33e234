"""The HubSpot client: auth, errors, rate limits, list paging, search slicing past the 10,000-result
cap, and v4 batch association reads.

Search pages by offset and stops at 10,000 results per query. ``HubSpotClient.search`` sorts by
the modified date and, when a query would pass the cap, starts a new one after the last record
seen: first the rest of that same millisecond, by ``hs_object_id`` (so thousands of records that
share one timestamp, as after a bulk update, neither loop nor get lost), then everything later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.errors import SourceError, credentials_rejected, setting_name
from pipelines.sources.http import RetryingSession
from pipelines.sources.hubspot import settings
from pipelines.sources.hubspot.records import epoch_ms

Record = dict[str, Any]
Page = list[Record]


class HubSpotAPIError(RuntimeError):
    """HubSpot refused a request this source built (a bug, not a setting): status and message."""


def rate_limit_wait(response: requests.Response) -> float | None:
    """Seconds to wait after HubSpot's 429, from its ``policyName`` (HubSpot sends no
    Retry-After); a spent daily allowance fails the run instead of waiting hours."""
    try:
        body = response.json()
    except ValueError:
        return None
    policy = body.get("policyName") if isinstance(body, dict) else None
    if policy == "DAILY":
        raise SourceError(
            settings.SOURCE,
            "the HubSpot account has used up its daily API allowance; the next run after it "
            "resets (midnight in the account's time zone) resumes from the last committed state",
        )
    if policy == "SECONDLY":
        return settings.SECONDLY_WAIT_SECONDS
    if policy == "TEN_SECONDLY_ROLLING":
        return _window_seconds(response)
    return None


def _window_seconds(response: requests.Response) -> float:
    raw = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    try:
        return float(raw) / 1000 if raw else settings.DEFAULT_WINDOW_SECONDS
    except ValueError:
        return settings.DEFAULT_WINDOW_SECONDS


def _filter(name: str, operator: str, value: int) -> dict[str, Any]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


class HubSpotClient:
    """Calls HubSpot with a private-app token through a RetryingSession, pacing itself."""

    def __init__(
        self, base_url: str, access_token: str, session: RetryingSession | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or RetryingSession(settings.SOURCE, rate_limit_wait=rate_limit_wait)
        self.session.headers.update(
            {"Authorization": f"Bearer {access_token.strip()}", "Accept": "application/json"}
        )
        self._search_lock = threading.Lock()
        self._next_search_at = 0.0
        self._cache_lock = threading.Lock()
        self._definitions: dict[str, dict[str, Record]] = {}
        self._archived: dict[str, list[Record]] = {}

    # --- requests -------------------------------------------------------------------------

    def _request(self, method: str, path: str, scope: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}{path}", **kwargs)
        self._pace(response)
        if response.status_code in (200, 207):
            try:
                return response.json()
            except ValueError:
                raise SourceError(
                    settings.SOURCE,
                    f"{_host(response.url)} did not answer with HubSpot's JSON: check "
                    f"{setting_name(settings.SOURCE, 'base_url')}",
                ) from None
        raise self._error(response, path, scope)

    def _error(self, response: requests.Response, path: str, scope: str) -> Exception:
        status = response.status_code
        if status == 401:
            return credentials_rejected(settings.SOURCE, "access_token", status)
        if status == 403:
            return SourceError(
                settings.SOURCE,
                f"the private app lacks a scope HubSpot requires for {path} (HTTP 403): grant "
                f"{_missing_scopes(response) or scope} to the app behind "
                f"{setting_name(settings.SOURCE, 'access_token')}",
            )
        if status == 404:  # every path this source asks for exists on HubSpot
            return SourceError(
                settings.SOURCE,
                f"{_host(response.url)} has no HubSpot API at {path} (HTTP 404): check "
                f"{setting_name(settings.SOURCE, 'base_url')} (default {settings.API_BASE_URL})",
            )
        message = _message(response)
        return HubSpotAPIError(f"HTTP {status} from {response.request.method} {path}: {message}")

    def _pace(self, response: requests.Response) -> None:
        """Slow down to the window's average rate when little of it is left."""
        headers = response.headers
        try:
            remaining = int(headers["X-HubSpot-RateLimit-Remaining"])
            maximum = int(headers["X-HubSpot-RateLimit-Max"])
        except (KeyError, ValueError):
            return
        if remaining < settings.RATE_LIMIT_RESERVE and maximum > 0:
            time.sleep(_window_seconds(response) / maximum)

    def _search(self, object_type: str, body: dict[str, Any], scope: str) -> Any:
        with self._search_lock:
            wait = self._next_search_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._next_search_at = time.monotonic() + 1.0 / settings.SEARCH_REQUESTS_PER_SECOND
        path = f"{settings.OBJECTS_PATH}/{object_type}/search"
        return self._request("POST", path, scope, json=body)

    # --- reads ----------------------------------------------------------------------------

    def properties(self, object_type: str, scope: str) -> dict[str, Record]:
        """The portal's property definitions for an object type, by name (read once a run)."""
        with self._cache_lock:
            if object_type not in self._definitions:
                path = f"{settings.PROPERTIES_PATH}/{object_type}"
                data = self._request("GET", path, scope)
                results = data.get("results", [])
                self._definitions[object_type] = {r["name"]: r for r in results if "name" in r}
            return self._definitions[object_type]

    def archived(self, object_type: str, scope: str) -> list[Record]:
        """Every archived record of a type, id and ``archivedAt`` only (swept once a run)."""
        with self._cache_lock:
            if object_type not in self._archived:
                pages = self.list_pages(object_type, ["hs_object_id"], scope, archived=True)
                self._archived[object_type] = [record for page in pages for record in page]
            return self._archived[object_type]

    def list_pages(
        self,
        object_type: str,
        properties: list[str],
        scope: str,
        associations: tuple[str, ...] = (),
        archived: bool = False,
    ) -> Iterator[Page]:
        """Every record (archived ones only, or none of them) in pages of 100, by id."""
        params: dict[str, Any] = {
            "limit": settings.LIST_PAGE_SIZE,
            "properties": ",".join(properties),
            "archived": "true" if archived else "false",
        }
        if associations:
            params["associations"] = ",".join(associations)
        path = f"{settings.OBJECTS_PATH}/{object_type}"
        while True:
            data = self._request("GET", path, scope, params=params)
            if data.get("results"):
                yield data["results"]
            after = (data.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return
            params["after"] = after

    def search(
        self,
        object_type: str,
        modified_property: str,
        properties: list[str],
        since: int,
        scope: str,
    ) -> Iterator[Page]:
        """Pages of the records modified at or after ``since`` (epoch ms), oldest first."""
        filters = [_filter(modified_property, "GTE", since)]
        while True:
            query = _Query(self, object_type, filters, modified_property, properties, scope)
            last_ms: int | None = None
            ids_at_last: set[str] = set()
            for page in query:
                for record in page:
                    moment = epoch_ms(record["properties"].get(modified_property))
                    if moment != last_ms:
                        last_ms, ids_at_last = moment, set()
                    ids_at_last.add(record["id"])
                yield page
            if not query.capped:
                return
            if last_ms is None:  # cannot restart after the cap without the last modified date
                raise HubSpotAPIError(f"{object_type} search results lack {modified_property}")
            yield from self._same_moment(
                object_type, modified_property, properties, last_ms, ids_at_last, scope
            )
            filters = [_filter(modified_property, "GT", last_ms)]

    def search_ids(
        self, object_type: str, properties: list[str], ids: list[int], scope: str
    ) -> Iterator[Page]:
        """The live records among ``ids``, 100 ids a query."""
        step = settings.SEARCH_IDS_PER_QUERY
        for start in range(0, len(ids), step):
            chunk = [str(object_id) for object_id in ids[start : start + step]]
            filters = [{"propertyName": "hs_object_id", "operator": "IN", "values": chunk}]
            yield from _Query(self, object_type, filters, "hs_object_id", properties, scope)

    def _same_moment(
        self,
        object_type: str,
        modified_property: str,
        properties: list[str],
        moment: int,
        seen: set[str],
        scope: str,
    ) -> Iterator[Page]:
        """The records modified at exactly ``moment`` not yet seen, by id, past any cap."""
        after_id: int | None = None
        while True:
            filters = [_filter(modified_property, "EQ", moment)]
            if after_id is not None:
                filters.append(_filter("hs_object_id", "GT", after_id))
            query = _Query(self, object_type, filters, "hs_object_id", properties, scope)
            for page in query:
                fresh = [record for record in page if record["id"] not in seen]
                if fresh:
                    yield fresh
                after_id = int(page[-1]["id"])
            if not query.capped:
                return

    def associations(
        self, from_type: str, to_type: str, ids: list[int], scope: str
    ) -> dict[int, list[int]]:
        """The ``to_type`` ids associated with each of ``ids`` (v4 batch read, 100 ids a call)."""
        found: dict[int, list[int]] = {}
        pending = [{"id": str(object_id)} for object_id in ids]
        path = f"{settings.ASSOCIATIONS_PATH}/{from_type}/{to_type}/batch/read"
        while pending:
            batch = pending[: settings.ASSOCIATION_BATCH_SIZE]
            pending = pending[settings.ASSOCIATION_BATCH_SIZE :]
            data = self._request("POST", path, scope, json={"inputs": batch})
            for result in data.get("results", []):
                targets = found.setdefault(int(result["from"]["id"]), [])
                targets.extend(int(link["toObjectId"]) for link in result.get("to", []))
                after = (result.get("paging") or {}).get("next", {}).get("after")
                if after:  # more associations of this one record than fit one answer
                    pending.append({"id": str(result["from"]["id"]), "after": after})
        return {key: list(dict.fromkeys(values)) for key, values in found.items()}


class _Query:
    """One search query paged by offset until it ends or reaches the result cap (``capped``)."""

    def __init__(
        self,
        client: HubSpotClient,
        object_type: str,
        filters: list[dict[str, Any]],
        sort_property: str,
        properties: list[str],
        scope: str,
    ) -> None:
        self.client = client
        self.object_type = object_type
        self.scope = scope
        self.body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort_property, "direction": "ASCENDING"}],
            "properties": properties,
        }
        self.capped = False

    def __iter__(self) -> Iterator[Page]:
        cap = settings.SEARCH_RESULT_CAP
        offset = 0
        body = dict(self.body)
        while True:
            body["limit"] = min(settings.SEARCH_PAGE_SIZE, cap - offset)
            data = self.client._search(self.object_type, body, self.scope)
            results = data.get("results", [])
            offset += len(results)
            if results:
                yield results
            after = (data.get("paging") or {}).get("next", {}).get("after")
            if not after or not results:
                return
            if offset >= cap:
                self.capped = True
                return
            body["after"] = after


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:500]
    return str(body)[:200]


def _missing_scopes(response: requests.Response) -> str:
    """The scopes a 403 names (``errors[].context.requiredGranularScopes``), if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    scopes: list[str] = []
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        context = error.get("context") if isinstance(error, dict) else None
        if not isinstance(context, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            scopes += [str(s) for s in context.get(key) or []]
    return ", ".join(dict.fromkeys(scopes))
