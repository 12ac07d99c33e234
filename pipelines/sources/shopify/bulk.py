"""Bulk operations (the first load of a large shop): every resource's ``bulkOperationRunQuery`` runs
at the same time on the shop (five query operations per app from API 2026-01 on, one before), one
request polls all of them, and each resource reads its JSONL result as soon as it completes, child
lines (``__parentId``) back under their parent, while the shop still builds the others.

Waiting never blocks the run: until its operation completes, a resource yields ``None``, which dlt
takes as "nothing yet" and goes on with the other resources (their pages, or other results).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from pipelines.errors import SourceError
from pipelines.sources.shopify import queries, settings
from pipelines.sources.shopify.helpers import SCOPES, SOURCE, Record, ShopifyClient, chunks

logger = logging.getLogger(__name__)

FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
BUSY = ("OPERATION_IN_PROGRESS", "LIMIT_REACHED")  # no free slot for one more query operation
LISTING_FROM = "2026-01"  # bulkOperations (several running at once) exists from this version on


@dataclass
class _Job:
    """One bulk query of this run: not started yet (``operation`` None), running, or done."""

    document: str
    deadline: float
    operation: str | None = None
    status: str | None = None
    url: str | None = None


class BulkExport:
    """The bulk queries of one run: started together, polled together, read one by one."""

    def __init__(
        self,
        client: ShopifyClient,
        poll_seconds: float = settings.BULK_POLL_SECONDS,
        timeout_seconds: float = settings.BULK_TIMEOUT_SECONDS,
    ) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self._jobs: dict[str, _Job] = {}
        self._delay = poll_seconds
        self._next_poll = 0.0

    def pages(
        self, document: str, child_key: str | None = None, size: int = settings.BULK_CHUNK_SIZE
    ) -> Iterator[list[Record] | None]:
        """The root objects of the bulk query in lists of ``size`` (``__parentId`` children under
        ``child_key``); ``None`` while the operation is still being built."""
        job = self._submit(document)
        while job.status != "COMPLETED":
            yield None
            self._refresh()
        if job.url:  # no url: the query matched nothing
            yield from chunks(reassemble(self.client.download(job.url), child_key), size)

    # --- starting -------------------------------------------------------------------------
    def _submit(self, document: str) -> _Job:
        job = self._jobs.get(document)
        if job is None:
            job = _Job(document, time.monotonic() + self.timeout_seconds)
            self._jobs[document] = job
            self._start(job)
            self._delay = self.poll_seconds  # a new operation: look again soon
            self._next_poll = min(self._next_poll, time.monotonic() + self._delay)
        return job

    def _start(self, job: _Job) -> None:
        """Run the job's query on the shop; when no slot is free, adopt our own operation if a
        call whose answer was lost already started it, else leave it for a later try."""
        data = self.client.query(queries.BULK_RUN, {"query": job.document})
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if not errors:
            job.operation, job.status = payload["bulkOperation"]["id"], "CREATED"
            logger.info("shopify: bulk operation %s started", job.operation)
            return
        if not any(e.get("code") in BUSY for e in errors):
            raise SourceError(SOURCE, f"Shopify refused a bulk query: {errors[0]['message']}")
        for running in self._active():
            if running.get("query") == job.document and running.get("status") in ACTIVE:
                job.operation, job.status = str(running["id"]), str(running["status"])
                return  # ours, started by a call whose answer was lost
        if time.monotonic() > job.deadline:
            raise SourceError(
                SOURCE, "other bulk operations of this app are still running; try again later"
            )

    def _active(self) -> list[Record]:
        """The app's bulk query operations that have not finished (the newest one only before
        API 2026-01, which has no ``bulkOperations``)."""
        if self.client.api_version >= LISTING_FROM:
            found = self.client.query(queries.BULK_ACTIVE).get("bulkOperations") or {}
            return list(found.get("nodes") or ())
        current = self.client.query(queries.BULK_CURRENT).get("currentBulkOperation")
        return [current] if current else []

    # --- waiting --------------------------------------------------------------------------
    def _refresh(self) -> None:
        """At most once per poll interval: one request for the status of every running job,
        another try for those still waiting for a slot."""
        now = time.monotonic()
        if now < self._next_poll:
            return
        running = {j.operation: j for j in self._jobs.values() if j.operation and _pending(j)}
        if running:
            nodes = self.client.query(queries.BULK_POLL, {"ids": list(running)}).get("nodes")
            for node in nodes or ():
                job = running.get(str((node or {}).get("id")))
                if job is not None:
                    self._update(job, node)
        for job in self._jobs.values():
            if job.operation is None:
                self._start(job)
            elif _pending(job) and time.monotonic() > job.deadline:
                raise SourceError(
                    SOURCE,
                    f"bulk operation {job.operation} did not finish in time; run again later",
                )
        self._next_poll = time.monotonic() + self._delay
        self._delay = min(settings.BULK_POLL_MAX_SECONDS, self._delay * 1.5)

    def _update(self, job: _Job, node: Record) -> None:
        status = node.get("status")
        job.status = str(status)
        if status == "COMPLETED":
            job.url = node.get("url")
        elif status in FINISHED:
            code = node.get("errorCode") or status
            hint = f": grant {SCOPES}" if code == "ACCESS_DENIED" else ""
            raise SourceError(
                SOURCE,
                f"bulk operation {job.operation} ended {status} ({code}){hint}; "
                "the next run starts it again",
            )


def _pending(job: _Job) -> bool:
    return job.status not in FINISHED


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
