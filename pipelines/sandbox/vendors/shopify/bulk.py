"""Bulk operations: ``bulkOperationRunQuery`` jobs and their JSONL results.

A job runs the query in a background thread with every connection unpaged (``first``/``after``
are ignored, as in Shopify bulk queries), flattens the result the way Shopify does (one JSON object
per line; the nodes of a nested connection become lines of their own carrying ``__parentId``, the
parent's ``id``) and serves it at ``<base>/_bulk/<n>.jsonl`` (no token needed, like Shopify's signed
download URLs). An app may run one query job at a time per shop in API versions before 2026-01 and
five from 2026-01 on (the version of the ``bulkOperationRunQuery`` request decides); one more is
refused with ``OPERATION_IN_PROGRESS``. Jobs running together are built one after another (one
process: the first is ready early); ``bulk_delay_seconds`` keeps a job RUNNING a while.
``bulkOperations`` (2026-01 on) lists the jobs, newest first, filtered by ``status``,
``operation_type``, ``id`` and ``created_at``.

Write-state (``server.state("shopify")``): ``{"bulk_operations": [{"id", "status", "type",
"query", "group_objects", "created_at", "completed_at", "object_count", "root_object_count",
"file_size", "file", "error_code"}]}``.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from graphql import GraphQLError, GraphQLSchema, parse, validate
from graphql.language import OperationType

from pipelines.sandbox.vendors.shopify import graph, paging, search
from pipelines.sandbox.vendors.shopify.cost import Field, compile_plan, connection_items
from pipelines.sandbox.vendors.shopify.records import ISO, Record, ShopifyData

if TYPE_CHECKING:
    from pipelines.sandbox.state import StateStore

VENDOR = "shopify"
FIRST_ID = 1_000_000
MAX_CONNECTIONS = 5
CONCURRENT_QUERIES_FROM = "2026-01"  # the first API version running several query jobs at once
CONCURRENT_QUERIES = 5
MAX_DEPTH = 2
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
LIST_CONNECTION = (
    "Queries that contain a connection field within a list field are not currently supported."
)


def _now() -> str:
    return datetime.now(UTC).strftime(ISO)


def _user_error(message: str, code: str = "INVALID", field: list[str] | None = None) -> Record:
    return {
        "bulkOperation": None,
        "userErrors": [{"field": field, "message": message, "code": code}],
    }


def query_slots(api_version: str) -> int:
    """How many bulk query jobs an app may run at a time in this API version."""
    newer = api_version == "unstable" or api_version >= CONCURRENT_QUERIES_FROM
    return CONCURRENT_QUERIES if newer else 1


def _epoch(stamp: str) -> int:
    return int(datetime.strptime(stamp, ISO).replace(tzinfo=UTC).timestamp())


def _search_fields(ops: list[dict[str, Any]]) -> paging.Matchers:
    """``query:`` fields of ``bulkOperations`` (over rendered ``BulkOperation`` objects)."""
    return {
        "status": search.text_field(np.array([op["status"].lower() for op in ops], dtype=str)),
        "operation_type": search.text_field(
            np.array([op["type"].lower() for op in ops], dtype=str)
        ),
        "id": search.int_field(np.array([paging.gid_number(op) for op in ops], dtype=np.int64)),
        "created_at": search.date_field(
            np.array([_epoch(op["createdAt"]) for op in ops], dtype=np.int64)
        ),
    }


def _has_connection(fields: list[Field]) -> bool:
    """True when a connection sits anywhere below these fields."""
    return any(
        f.kind == "connection" or _has_connection(f.children + f.edge_children) for f in fields
    )


def _check_shape(fields: list[Field]) -> str | None:
    """Shopify's limits on bulk queries, as an error message (None when the query is fine)."""
    connections: list[str] = []

    def walk(level: list[Field], depth: int) -> str | None:
        for f in level:
            if f.kind == "connection":
                connections.append(f.key)
                if depth + 1 > MAX_DEPTH:
                    return (
                        "Bulk queries cannot contain connections with a nesting depth "
                        f"greater than {MAX_DEPTH}."
                    )
                for children in (f.children, f.edge_children):
                    nested = [c.key for c in children if c.kind == "connection"]
                    has_id = any(c.kind == "leaf" and c.key == c.name == "id" for c in children)
                    if nested and not has_id:
                        return (
                            "The parent 'node' field for a nested connection must select the "
                            f"'id' field. Connection fields without 'id': {', '.join(nested)}."
                        )
                    problem = walk(children, depth + 1)
                    if problem:
                        return problem
            elif f.kind in ("object", "list"):
                if f.kind == "list" and _has_connection(f.children):
                    return LIST_CONNECTION
                problem = walk(f.children, depth)
                if problem:
                    return problem
        return None

    problem = walk(fields, 0)
    if problem:
        return problem
    if not connections:
        return "Bulk queries must contain at least one connection."
    if len(connections) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    return None


def flatten(fields: list[Field], data: dict[str, Any], group: bool) -> tuple[list[Record], int]:
    """Shopify's JSONL rows for a bulk query result, and the number of root objects.

    ``group`` puts every object right after its parent; otherwise all roots come first, then
    each level of children (Shopify only promises that a child follows... nothing, so sources
    must join on ``__parentId``).
    """
    grouped: list[Record] = []
    levels: list[list[Record]] = []
    connections: dict[int, list[Field]] = {}  # per selection: its nested connections

    def emit(item: dict[str, Any], level: list[Field], parent: str | None, depth: int) -> None:
        nested = connections.get(id(level))
        if nested is None:
            nested = connections[id(level)] = [f for f in level if f.kind == "connection"]
        # The result is built for this job only: the object itself becomes its line.
        values = [item.pop(f.key, None) for f in nested]
        if parent is not None:
            item["__parentId"] = parent
        if group:
            grouped.append(item)
        else:
            while len(levels) <= depth:
                levels.append([])
            levels[depth].append(item)
        for f, value in zip(nested, values, strict=True):
            if value is None:
                continue
            for children, node in connection_items(f, value):
                if node is not None:
                    emit(node, children, item.get("id"), depth + 1)

    roots = 0
    for f in fields:
        value = data.get(f.key)
        if value is None:
            continue
        if f.kind == "connection":
            for children, node in connection_items(f, value):
                if node is not None:
                    roots += 1
                    emit(node, children, None, 0)
        elif f.kind == "object":
            roots += 1
            emit(value, f.children, None, 0)
    lines = grouped if group else [line for level in levels for line in level]
    return lines, roots


class BulkOperations:
    """The shop's bulk query jobs (state in the StateStore, results as files next to it)."""

    def __init__(
        self, schema: GraphQLSchema, data: ShopifyData, state: StateStore, delay: float = 0.0
    ) -> None:
        self.schema = schema
        self.data = data
        self.state = state
        self.delay = delay
        self._lock = threading.Lock()
        self._building = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.state.folder / "shopify_bulk"

    # --- reading ------------------------------------------------------------------------
    def _ops(self) -> list[dict[str, Any]]:
        return list(self.state.read(VENDOR).get("bulk_operations", []))

    def render(self, op: dict[str, Any], base_url: str) -> Record:
        """A stored job as the GraphQL ``BulkOperation`` object."""
        done = op["status"] == "COMPLETED"
        objects = op.get("object_count") or 0
        return {
            "__typename": "BulkOperation",
            "id": op["id"],
            "status": op["status"],
            "type": op.get("type", "QUERY"),
            "query": op["query"],
            "createdAt": op["created_at"],
            "completedAt": op.get("completed_at"),
            "objectCount": str(objects),
            "rootObjectCount": str(op.get("root_object_count") or 0),
            "fileSize": str(op["file_size"]) if op.get("file_size") is not None else None,
            "url": f"{base_url}/_bulk/{op['file']}" if done and objects else None,
            "partialDataUrl": None,
            "errorCode": op.get("error_code"),
        }

    def current(self, op_type: str, base_url: str) -> Record | None:
        """The most recent job of a type (``currentBulkOperation``)."""
        ops = [op for op in self._ops() if op.get("type", "QUERY") == op_type]
        return self.render(ops[-1], base_url) if ops else None

    def get(self, gid: str, base_url: str) -> Record | None:
        """A job by its GID (``node(id:)`` / ``bulkOperation(id:)``)."""
        graph.parse_gid(gid)
        for op in self._ops():
            if op["id"] == gid:
                return self.render(op, base_url)
        return None

    def listing(self, args: dict[str, Any], ctx: graph.Context) -> dict[str, Any]:
        """``bulkOperations``: the app's jobs, newest first (``reverse``: oldest first)."""
        if query_slots(ctx.api_version) == 1:
            raise GraphQLError("Field 'bulkOperations' doesn't exist on type 'QueryRoot'")
        paging.check_window("bulkOperations", args)
        newest_first = {**args, "reverse": not args.get("reverse")}
        rendered = [self.render(op, ctx.base_url) for op in self._ops()]
        return paging.list_connection(rendered, newest_first, False, query_fields=_search_fields)

    def file(self, name: str) -> bytes | None:
        """The JSONL result file of a completed job."""
        if "/" in name or not name.endswith(".jsonl"):
            return None
        path = self.folder / name
        return path.read_bytes() if path.is_file() else None

    # --- writing ------------------------------------------------------------------------
    def _update(self, gid: str, **changes: Any) -> None:
        with self.state.change(VENDOR) as doc:
            for op in doc.get("bulk_operations", []):
                if op["id"] == gid:
                    op.update(changes)

    def run(self, query: str, group_objects: bool, ctx: graph.Context) -> Record:
        """``bulkOperationRunQuery``: validate, record a CREATED job and start it."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return _user_error(f"Invalid bulk query: {exc.message}", field=["query"])
        errors = validate(self.schema, document)
        if errors:
            message = graph.shopify_error(errors[0])["message"]
            return _user_error(f"Invalid bulk query: {message}", field=["query"])
        plan = compile_plan(self.schema, document, None)
        if plan is None or plan.operation != OperationType.QUERY:
            return _user_error("Invalid bulk query: expected exactly one query operation.")
        problem = _check_shape(plan.fields)
        if problem:
            return _user_error(problem, field=["query"])
        with self._lock:
            ops = self._ops()
            running = [op for op in ops if op["status"] in ACTIVE and op["type"] == "QUERY"]
            slots = query_slots(ctx.api_version)
            if len(running) >= slots:
                message = (
                    "A bulk query operation for this app and shop is already in progress: "
                    f"{running[-1]['id']}."
                    if slots == 1
                    else f"This app already runs {slots} bulk query operations on this shop, "
                    "the most allowed at a time: wait until one of them finishes."
                )
                return _user_error(message, code="OPERATION_IN_PROGRESS")
            number = FIRST_ID + len(ops) + 1
            op = {
                "id": f"gid://shopify/BulkOperation/{number}",
                "status": "CREATED",
                "type": "QUERY",
                "query": query,
                "group_objects": bool(group_objects),
                "created_at": _now(),
                "completed_at": None,
                "object_count": 0,
                "root_object_count": 0,
                "file_size": None,
                "file": f"{number}.jsonl",
                "error_code": None,
            }
            with self.state.change(VENDOR) as doc:
                doc.setdefault("bulk_operations", []).append(dict(op))
        worker = threading.Thread(
            target=self._execute,
            args=(op, document, plan.fields, ctx.base_url),
            name=f"shopify-bulk-{number}",
            daemon=True,
        )
        worker.start()
        return {"bulkOperation": self.render(op, ctx.base_url), "userErrors": []}

    def _execute(self, op: dict[str, Any], document: Any, fields: list[Field], base: str) -> None:
        self._update(op["id"], status="RUNNING")
        context = graph.Context(self.data, self, base, bulk=True)
        # One process builds the results: one at a time, in the order they were asked, so the
        # first is ready as early as if each had its own worker (threads would only share the
        # GIL, every result ready late) and only one result is held in memory.
        with self._building:
            if not self._still_running(op["id"]):
                return  # cancelled (or the state was reset) while waiting
            # The served world is long-lived: keep the collector from walking it again and again
            # while the result's million objects are allocated (a quarter of the build time).
            gc.freeze()
            try:
                lines, roots, body = self._build(document, fields, context, op)
            except Exception:
                self._update(op["id"], status="FAILED", error_code="INTERNAL_SERVER_ERROR")
                return
        if self.delay:
            time.sleep(self.delay)
        if not self._still_running(op["id"]):
            return  # cancelled (or the state was reset) meanwhile
        self._update(
            op["id"],
            status="COMPLETED",
            completed_at=_now(),
            object_count=len(lines),
            root_object_count=roots,
            file_size=len(body),
        )

    def _still_running(self, gid: str) -> bool:
        current = {o["id"]: o for o in self._ops()}.get(gid)
        return current is not None and current["status"] in ("RUNNING", "CREATED")

    def _build(
        self, document: Any, fields: list[Field], context: graph.Context, op: dict[str, Any]
    ) -> tuple[list[Record], int, bytes]:
        """Run the query, write its JSONL file; (lines, root objects, file body)."""
        result = graph.run(self.schema, document, context, None, None)
        if result.errors or not isinstance(result.data, dict):
            raise RuntimeError(result.errors[0].message if result.errors else "no data")
        lines, roots = flatten(fields, result.data, op["group_objects"])
        body = b"".join(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE) for line in lines)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{op['file']}.tmp"
        tmp.write_bytes(body)
        os.replace(tmp, self.folder / op["file"])
        return lines, roots, body

    def cancel(self, gid: str, base_url: str) -> Record:
        """``bulkOperationCancel``: stop a job that has not finished."""
        graph.parse_gid(gid)
        with self._lock:
            op = {o["id"]: o for o in self._ops()}.get(gid)
            if op is None:
                return {
                    "bulkOperation": None,
                    "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
                }
            if op["status"] not in ACTIVE:
                message = f"A bulk operation cannot be canceled when it is {op['status'].lower()}"
                return {
                    "bulkOperation": self.render(op, base_url),
                    "userErrors": [{"field": None, "message": message}],
                }
            self._update(gid, status="CANCELED")
            op["status"] = "CANCELED"
        return {"bulkOperation": self.render(op, base_url), "userErrors": []}
