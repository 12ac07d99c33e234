"""Shopify Admin GraphQL glue: the client (auth, errors, cost-based pacing and THROTTLED retries),
connection paging, nested-page drains, refund line items, and the incremental overlap window.

Throttling: Shopify meters queries in cost points from a leaky bucket. Every answer reports
``extensions.cost.throttleStatus`` (``currentlyAvailable``, ``restoreRate``); before sending a query
the client waits until the bucket can cover that query's last requested cost. A ``THROTTLED``
answer (HTTP 200 with ``errors[].extensions.code``, which RetryingSession cannot see) waits for the
bucket and retries, a bounded number of times. HTTP 429, 5xx, resets and cut-off bodies are
RetryingSession's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from pipelines.errors import SourceError, credentials_rejected, setting_name
from pipelines.sources.http import RetryingSession
from pipelines.sources.shopify import queries, settings

logger = logging.getLogger(__name__)

Record = dict[str, Any]
SOURCE = settings.SOURCE
SHOP_URL = setting_name(SOURCE, "shop_url")
API_VERSION = setting_name(SOURCE, "api_version")
TOKEN = setting_name(SOURCE, "access_token")
SCOPES = (
    "read_orders (orders, fulfillments, abandoned checkouts; read_all_orders beyond 60 days), "
    "read_customers, read_products, read_inventory, read_locations"
)


class QueryCostTooHigh(Exception):
    """Shopify refused a query as too expensive (MAX_COST_EXCEEDED): ask for fewer nodes."""

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(f"query cost {cost} above the limit {limit}")
        self.cost = cost
        self.limit = limit


def graphql_url(shop_url: str, api_version: str) -> str:
    """The Admin GraphQL endpoint of a shop (``your-shop``, a domain, or a full URL)."""
    base = (shop_url or "").strip().rstrip("/")
    if not base:
        raise SourceError(SOURCE, f"no shop URL: set {SHOP_URL} (https://your-shop.myshopify.com)")
    if "://" not in base:
        base = f"https://{base}" if "." in base else f"https://{base}.myshopify.com"
    return base + settings.GRAPHQL_PATH.format(version=api_version.strip())


def iso_start(value: str) -> str:
    """A start date (``2024-01-31`` or an ISO timestamp) as Shopify's ``YYYY-MM-DDTHH:MM:SSZ``."""
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        variable = setting_name(SOURCE, "start_date")
        raise SourceError(SOURCE, f"start_date {value!r} is not a date: check {variable}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CostBucket:
    """What the shop last said about its bucket, and what each query asked for."""

    available: float = 0.0
    maximum: float = 0.0
    rate: float = 0.0
    at: float = 0.0
    requested: dict[str, float] = field(default_factory=dict)

    def observe(self, document: str, cost: Any, now: float) -> None:
        """Remember a response's ``extensions.cost``."""
        if not isinstance(cost, dict):
            return
        if isinstance(cost.get("requestedQueryCost"), int | float):
            self.requested[document] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            self.available = float(status.get("currentlyAvailable") or 0.0)
            self.maximum = float(status.get("maximumAvailable") or 0.0)
            self.rate = float(status.get("restoreRate") or 0.0)
            self.at = now

    def wait_before(self, document: str, now: float) -> float:
        """Seconds until the bucket covers this query's last requested cost (a query not seen
        yet: the most any query may cost); 0 when it can be sent now or nothing is known yet."""
        if self.rate <= 0:
            return 0.0
        need = min(self.requested.get(document, settings.MAX_QUERY_COST), self.maximum)
        have = min(self.maximum, self.available + (now - self.at) * self.rate)
        return 0.0 if have >= need else (need - have) / self.rate + 0.01


def throttle_wait(body: Any) -> float | None:
    """Seconds a throttled answer says to wait for its query (None when it does not say)."""
    extensions = body.get("extensions") if isinstance(body, dict) else None
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict):
        return None
    status = cost.get("throttleStatus")
    if not isinstance(status, dict) or not status.get("restoreRate"):
        return None
    requested = float(cost.get("requestedQueryCost") or 0.0)
    available = float(status.get("currentlyAvailable") or 0.0)
    wait = (requested - available) / float(status["restoreRate"])
    return min(settings.MAX_THROTTLE_WAIT_SECONDS, max(0.1, wait + 0.05))


def _wait_from_429(response: requests.Response) -> float | None:
    """RetryingSession's hook: a 429 that carries Shopify's cost extension."""
    try:
        return throttle_wait(response.json())
    except ValueError:
        return None


def _codes(errors: Any) -> list[str]:
    if not isinstance(errors, list):
        return []
    return [
        str((e.get("extensions") or {}).get("code") or "") for e in errors if isinstance(e, dict)
    ]


def _first_message(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", "")).splitlines()[0]
    return str(errors).splitlines()[0] if errors else "no details"


class ShopifyClient:
    """Sends Admin GraphQL documents for one shop; returns ``data`` or raises SourceError."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        api_version: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = graphql_url(shop_url, api_version)
        self.api_version = api_version
        self.session = RetryingSession(SOURCE, rate_limit_wait=_wait_from_429, sleep=sleep)
        self.sleep = sleep
        self.bucket = CostBucket()
        self._token = access_token
        self.requests = 0
        self.throttled = 0
        self.paced_seconds = 0.0
        self._version_checked = False

    def _pace(self, document: str) -> None:
        wait = self.bucket.wait_before(document, time.monotonic())
        if wait > 0:
            logger.debug("shopify: pacing %.2f s for the query-cost bucket", wait)
            self.paced_seconds += wait
            self.sleep(wait)

    def _post(self, document: str, variables: dict[str, Any]) -> Any:
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        self.requests += 1
        try:
            response = self.session.post(
                self.url, json={"query": document, "variables": variables}, headers=headers
            )
        except SourceError as exc:
            if self.requests > 1:
                raise
            problem = str(exc).removeprefix(f"{SOURCE}: ")
            raise SourceError(SOURCE, f"{problem}; is {SHOP_URL} right?") from exc
        self._check_status(response)
        try:
            return response.json()
        except ValueError:
            raise SourceError(
                SOURCE, f"{self.url} did not answer with JSON: check {SHOP_URL}"
            ) from None

    def _check_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status == 200:
            if not self._version_checked:
                self._version_checked = True
                served = response.headers.get("X-Shopify-API-Version")
                if served and served != self.api_version:
                    logger.warning(
                        "shopify: API version %s is not supported; Shopify answered with %s "
                        "(set %s)",
                        self.api_version,
                        served,
                        API_VERSION,
                    )
            return
        if status == 401:
            raise credentials_rejected(SOURCE, "access_token", status)
        if status == 403:
            raise SourceError(
                SOURCE,
                f"the access token may not read this shop's data (HTTP 403): grant the app "
                f"{SCOPES}, then check {TOKEN}",
            )
        if status == 404:
            raise SourceError(
                SOURCE,
                f"no Admin API {self.api_version} at {_host(self.url)} (HTTP 404): "
                f"check {SHOP_URL} and {API_VERSION}",
            )
        if status in (402, 423):
            raise SourceError(SOURCE, f"the shop is frozen or locked (HTTP {status})")
        raise SourceError(SOURCE, f"unexpected HTTP {status} from {_host(self.url)}")

    def query(self, document: str, variables: dict[str, Any] | None = None) -> Record:
        """Run one query (pacing first, retrying THROTTLED answers); returns its ``data``."""
        variables = variables or {}
        for _ in range(settings.MAX_THROTTLED_RETRIES + 1):
            self._pace(document)
            body = self._post(document, variables)
            if not isinstance(body, dict):
                raise SourceError(SOURCE, f"unexpected answer from {_host(self.url)}")
            extensions = body.get("extensions") or {}
            self.bucket.observe(document, extensions.get("cost"), time.monotonic())
            errors = body.get("errors")
            if not errors:
                for search in extensions.get("search") or ():
                    logger.warning("shopify: search warnings %s", search.get("warnings"))
                data = body.get("data")
                if not isinstance(data, dict):
                    raise SourceError(SOURCE, f"an answer without data from {_host(self.url)}")
                return data
            codes = _codes(errors)
            if "THROTTLED" in codes:
                self.throttled += 1
                wait = throttle_wait(body) or 1.0
                logger.info("shopify: THROTTLED, waiting %.2f s for the bucket", wait)
                self.sleep(wait)
                continue
            self._raise_for(errors, codes)
        raise SourceError(
            SOURCE,
            f"still throttled after {settings.MAX_THROTTLED_RETRIES} waits; "
            "the next run resumes from the last committed state",
        )

    def _raise_for(self, errors: Any, codes: list[str]) -> None:
        message = _first_message(errors)
        if "MAX_COST_EXCEEDED" in codes:
            extensions = errors[0].get("extensions") or {}
            raise QueryCostTooHigh(
                int(extensions.get("cost") or settings.MAX_QUERY_COST * 2),
                int(extensions.get("maxCost") or settings.MAX_QUERY_COST),
            )
        if "ACCESS_DENIED" in codes or message.lower().startswith("access denied"):
            raise SourceError(
                SOURCE, f"the access token lacks a scope ({message}): grant {SCOPES}; see {TOKEN}"
            )
        raise SourceError(
            SOURCE,
            f"the Admin API {self.api_version} rejected a query ({message}): check {API_VERSION}",
        )

    def download(self, url: str) -> bytes:
        """A bulk operation's result file (a signed URL: sent without the access token)."""
        response = self.session.get(url)
        if response.status_code != 200:
            raise SourceError(
                SOURCE,
                f"could not download a bulk result (HTTP {response.status_code} from "
                f"{_host(url)}); the next run starts it again",
            )
        return response.content


def _host(url: str) -> str:
    return requests.utils.urlparse(url).netloc or url


def _dig(data: Record, path: tuple[str, ...]) -> Record | None:
    found: Any = data
    for key in path:
        if not isinstance(found, dict):
            return None
        found = found.get(key)
    return found if isinstance(found, dict) else None


def pages(
    client: ShopifyClient,
    document: str,
    path: tuple[str, ...],
    first: int,
    variables: dict[str, Any] | None = None,
) -> Iterator[list[Record]]:
    """Every page of the connection at ``path``; a page too costly is asked again smaller."""
    after: str | None = None
    while True:
        try:
            data = client.query(document, {**(variables or {}), "first": first, "after": after})
        except QueryCostTooHigh as exc:
            if first <= 1:
                raise SourceError(SOURCE, f"one record costs too much to read ({exc})") from exc
            first = max(1, min(first - 1, first * exc.limit // max(exc.cost, 1)))
            logger.info("shopify: query too costly, asking %d per page", first)
            continue
        connection = _dig(data, path)
        if connection is None:
            return
        yield connection["nodes"]
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return
        after = info["endCursor"]


def rest_of(
    client: ShopifyClient,
    document: str,
    parent_id: str,
    connection: str,
    page_info: Record,
    first: int,
) -> list[Record]:
    """The nodes of a nested connection after its first page (fetched through ``node(id:)``)."""
    found: list[Record] = []
    info = page_info
    while info.get("hasNextPage"):
        data = client.query(document, {"id": parent_id, "first": first, "after": info["endCursor"]})
        page = _dig(data, ("node", connection))
        if page is None:  # the parent disappeared meanwhile
            break
        found += page["nodes"]
        info = page["pageInfo"]
    return found


def complete(
    client: ShopifyClient, records: list[Record], connection: str, document: str, first: int
) -> list[Record]:
    """Replace each record's nested connection by the list of all its nodes (every page)."""
    for record in records:
        value = record.get(connection)
        if isinstance(value, dict):
            nodes = list(value.get("nodes") or [])
            info = value.get("pageInfo") or {}
            if info.get("hasNextPage"):
                nodes += rest_of(client, document, record["id"], connection, info, first)
            record[connection] = nodes
    return records


def page_size(base: int, per_line: int, lines: int, limit: int = 250) -> int:
    """Parents per query so that parents x (base + lines x per_line) stays under the cost limit."""
    return max(1, min(limit, (settings.MAX_QUERY_COST - 2) // (base + per_line * lines)))


def attach_refund_lines(client: ShopifyClient, orders: list[Record], first: int) -> list[Record]:
    """Fill ``refundLineItems`` of every refund of these orders (``first`` per refund and query,
    then the rest page by page)."""
    per_query = page_size(
        settings.REFUND_BASE_COST, settings.REFUND_LINE_COST, first, settings.MAX_IDS_PER_QUERY
    )
    refunds = {r["id"]: r for o in orders for r in o.get("refunds") or () if r.get("id")}
    ids = list(refunds)
    at = 0
    while at < len(ids):
        chunk = ids[at : at + per_query]
        try:
            data = client.query(queries.REFUND_LINES, {"ids": chunk, "first": first})
        except QueryCostTooHigh:
            if per_query <= 1:
                raise
            per_query = max(1, per_query // 2)
            logger.info("shopify: query too costly, asking %d refunds per query", per_query)
            continue
        for node in data.get("nodes") or ():
            if not isinstance(node, dict) or node.get("id") not in refunds:
                continue
            page = node["refundLineItems"]
            lines = page["nodes"] + rest_of(
                client,
                queries.REFUND_LINES_MORE,
                node["id"],
                "refundLineItems",
                page["pageInfo"],
                first,
            )
            refunds[node["id"]]["refundLineItems"] = lines
        at += len(chunk)
    for refund in refunds.values():
        refund.setdefault("refundLineItems", [])
    return orders


def chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Records in lists of ``size`` (the last one shorter)."""
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- incremental --------------------------------------------------------------------------
class OverlapWindow:
    """Rows loaded within the overlap before the cursor: a rerun skips them unless they changed.

    Each run asks again for ``overlap`` seconds before the last cursor (dlt's ``lag``), so records
    that Shopify's search index showed late are not lost; this keeps rows already loaded with the
    same ``updatedAt`` from being loaded twice. Kept in the resource state (committed with loads).
    """

    KEY = "loaded_near_cursor"

    def __init__(self, state: dict[str, Any], overlap_seconds: float) -> None:
        self.state = state
        self.overlap = overlap_seconds
        self.known: dict[str, str] = dict(state.get(self.KEY) or {})
        self.loaded: dict[str, str] = {}

    def fresh(self, rows: list[Record]) -> list[Record]:
        """The rows not loaded before with the same ``updatedAt``."""
        known, loaded = self.known, self.loaded
        out = []
        for row in rows:
            stamp = row.get("updatedAt")
            if known.get(row["id"]) == stamp:
                continue
            out.append(row)
            if isinstance(stamp, str):
                loaded[row["id"]] = stamp
        return out

    def close(self) -> None:
        """Keep the rows within the overlap of the newest ``updatedAt`` for the next run."""
        merged = {**self.known, **self.loaded}
        if not merged:
            return
        newest = max(merged.values())
        try:
            moment = datetime.fromisoformat(newest.replace("Z", "+00:00"))
        except ValueError:
            return
        floor = (moment - timedelta(seconds=self.overlap)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.state[self.KEY] = {k: v for k, v in merged.items() if v >= floor}
