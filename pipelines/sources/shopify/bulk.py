"""Bulk operations (the first load of a large shop): ``bulkOperationRunQuery``, poll the operation
until it completes, download its JSONL result and put every child line (``__parentId``) back under
its parent."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator

import orjson

from pipelines.errors import SourceError
from pipelines.sources.shopify import queries, settings
from pipelines.sources.shopify.helpers import SCOPES, SOURCE, Record, ShopifyClient

logger = logging.getLogger(__name__)

FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
ACTIVE = ("CREATED", "RUNNING", "CANCELING")


class BulkExport:
    """One bulk query: start it, wait for it, download and reassemble its JSONL result."""

    def __init__(
        self,
        client: ShopifyClient,
        poll_seconds: float = settings.BULK_POLL_SECONDS,
        timeout_seconds: float = settings.BULK_TIMEOUT_SECONDS,
    ) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def records(self, document: str, child_key: str | None = None) -> Iterator[Record]:
        """Every root object of the bulk query, its ``__parentId`` children under ``child_key``."""
        deadline = time.monotonic() + self.timeout_seconds
        operation = self._start(document, deadline)
        url = self._wait(operation, deadline)
        if url:
            yield from reassemble(self.client.download(url), child_key)

    def _start(self, document: str, deadline: float) -> str:
        while True:
            data = self.client.query(queries.BULK_RUN, {"query": document})
            payload = data.get("bulkOperationRunQuery") or {}
            errors = payload.get("userErrors") or []
            if not errors:
                operation: str = payload["bulkOperation"]["id"]
                logger.info("shopify: bulk operation %s started", operation)
                return operation
            if not any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                raise SourceError(SOURCE, f"Shopify refused a bulk query: {errors[0]['message']}")
            current = self.client.query(queries.BULK_CURRENT).get("currentBulkOperation") or {}
            if current.get("query") == document and current.get("status") in ACTIVE:
                return str(current["id"])  # ours, started by a call whose answer was lost
            if time.monotonic() > deadline:
                raise SourceError(
                    SOURCE, "another bulk operation of this app is still running; try again later"
                )
            self.client.sleep(settings.BULK_POLL_MAX_SECONDS)

    def _wait(self, operation: str, deadline: float) -> str | None:
        delay = self.poll_seconds
        while True:
            node = self.client.query(queries.BULK_POLL, {"id": operation}).get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                return node.get("url")
            if status in FINISHED:
                code = node.get("errorCode") or status
                hint = f": grant {SCOPES}" if code == "ACCESS_DENIED" else ""
                raise SourceError(
                    SOURCE,
                    f"bulk operation {operation} ended {status} ({code}){hint}; "
                    "the next run starts it again",
                )
            if time.monotonic() > deadline:
                raise SourceError(
                    SOURCE, f"bulk operation {operation} did not finish in time; run again later"
                )
            self.client.sleep(delay)
            delay = min(settings.BULK_POLL_MAX_SECONDS, delay * 1.3)


PARENT_KEY = b'"__parentId":"'


def _parent_of(line: bytes) -> str | None:
    at = line.rfind(PARENT_KEY)
    if at < 0:
        return None
    start = at + len(PARENT_KEY)
    return line[start : line.index(b'"', start)].decode()


def reassemble(body: bytes, child_key: str | None) -> Iterator[Record]:
    """Root objects of a bulk JSONL result, in file order, children (in order) under child_key.

    Shopify promises nothing about where a child line sits, so children are indexed first (by
    offset, parsed only when their parent is yielded) and roots follow.
    """
    roots: list[tuple[int, int]] = []
    children: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    start, size = 0, len(body)
    while start < size:
        end = body.find(b"\n", start)
        end = size if end < 0 else end
        if end > start:
            parent = _parent_of(body[start:end])
            if parent is None:
                roots.append((start, end))
            else:
                children[parent].append((start, end))
        start = end + 1
    for begin, end in roots:
        record: Record = orjson.loads(body[begin:end])
        if child_key is not None:
            nested = []
            for c_begin, c_end in children.get(record.get("id", ""), ()):
                child = orjson.loads(body[c_begin:c_end])
                child.pop("__parentId", None)
                nested.append(child)
            record[child_key] = nested
        yield record
