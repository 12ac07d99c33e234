"""The executable schema: the SDL in ``sdl.py`` bound to resolvers over the rendered records.

graphql-core parses, validates and executes every request. Objects whose selected fields are plain
(no arguments, no resolver, no abstract types below) are completed by a projector compiled once per
selection, instead of field by field: the same result as graphql-core's own completion (records
are pre-rendered in their serialised form), fast enough to page 250 orders in a few milliseconds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.execution.values import get_argument_values
from graphql.language import DocumentNode, FieldNode
from graphql.pyutils import Path, Undefined

from pipelines.sandbox.vendors.shopify import paging
from pipelines.sandbox.vendors.shopify.records import QUANTITY_NAMES, Record, ShopifyData
from pipelines.sandbox.vendors.shopify.sdl import SDL
from pipelines.sandbox.vendors.shopify.search import SearchResult

if TYPE_CHECKING:
    from pipelines.sandbox.vendors.shopify.bulk import BulkOperations

_UNDEFINED_FIELD = re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\.")
_UNKNOWN_ARGUMENT = re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\.")
GID = re.compile(r"^gid://shopify/(\w+)/(\d+)(?:\?.*)?$")
DEFAULT_SORT = {
    "orders": "PROCESSED_AT",
    "customers": "ID",
    "products": "ID",
    "productVariants": "ID",
    "locations": "NAME",
    "abandonedCheckouts": "ID",
    "inventoryItems": "ID",
}


@dataclass
class Context:
    """Per-request state handed to resolvers."""

    data: ShopifyData
    bulk_ops: BulkOperations
    base_url: str
    bulk: bool = False  # a bulk operation's query: connections return everything
    api_version: str = "unstable"  # the version of the request (some rules depend on it)
    search: list[dict[str, Any]] = field(default_factory=list)

    def warner(self, info: GraphQLResolveInfo, query: str) -> Callable[[SearchResult], None]:
        """A callback recording search warnings for ``extensions.search``."""

        def warn(found: SearchResult) -> None:
            self.search.append(
                {
                    "path": [p for p in info.path.as_list() if isinstance(p, str)],
                    "query": query,
                    "parsed": found.parsed,
                    "warnings": found.warnings,
                }
            )

        return warn


def shopify_error(error: GraphQLError) -> dict[str, Any]:
    """A graphql-core error in the wording Shopify's (graphql-ruby) server uses."""
    formatted = dict(error.formatted)
    message = error.message
    found = _UNDEFINED_FIELD.match(message)
    if found:
        name, type_name = found.groups()
        formatted["message"] = f"Field '{name}' doesn't exist on type '{type_name}'"
        formatted["extensions"] = {
            "code": "undefinedField",
            "typeName": type_name,
            "fieldName": name,
        }
    found = _UNKNOWN_ARGUMENT.match(message)
    if found:
        argument, _, name = found.groups()
        formatted["message"] = f"Field '{name}' doesn't accept argument '{argument}'"
        formatted["extensions"] = {"code": "argumentNotAccepted", "name": name}
    return formatted


def parse_gid(value: str) -> tuple[str, int]:
    """(type, legacy id) of a Shopify GID; the Admin API's error for anything else."""
    found = GID.match(value or "")
    if not found:
        raise GraphQLError(f"Invalid global id '{value}'")
    return found.group(1), int(found.group(2))


# --- fast completion ----------------------------------------------------------------------
Projector = Callable[[Any], Any]
# How one plain field is read: ("leaf", name) | ("const", value) | ("object"|"list", name, sub),
# where ``sub`` is the signature of the nested object's projection.
Spec = tuple[Any, ...]
_COMPILED: dict[tuple[Any, ...], Projector] = {}
_COMPILED_LOCK = threading.Lock()


def _compile(signature: tuple[tuple[str, Spec], ...]) -> Projector:
    """A generated function building the output dict of one plain selection (memoised)."""
    with _COMPILED_LOCK:
        found = _COMPILED.get(signature)
    if found is not None:
        return found
    namespace: dict[str, Any] = {}
    parts = []
    for n, (key, spec) in enumerate(signature):
        kind = spec[0]
        if kind == "leaf":
            parts.append(f"{key!r}: g({spec[1]!r})")
        elif kind == "const":
            namespace[f"c{n}"] = spec[1]
            parts.append(f"{key!r}: c{n}")
        else:
            namespace[f"p{n}"] = _compile(spec[2])
            value = (
                f"p{n}(v{n})"
                if kind == "object"
                else (f"[None if x is None else p{n}(x) for x in v{n}]")
            )
            parts.append(f"{key!r}: (None if (v{n} := g({spec[1]!r})) is None else {value})")
    source = "def project(s):\n    g = s.get\n    return {" + ", ".join(parts) + "}\n"
    exec(source, namespace)
    project: Projector = namespace["project"]
    with _COMPILED_LOCK:
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        _COMPILED[signature] = project
    return project


@dataclass
class _Resolved:
    """A selected field that needs its resolver (arguments coerced once per execution)."""

    key: str
    details: Any
    field_def: Any
    args: dict[str, Any] | None = None
    fallback: bool = False  # arguments could not be prepared: use graphql-core's path


@dataclass
class _Plan:
    signature: tuple[tuple[str, Spec], ...] | None  # set when every selected field is plain
    full: Projector | None
    partial: Projector  # plain fields projected, resolved ones as None placeholders (in order)
    resolved: list[_Resolved]


class FastExecutor(Executor):
    """graphql-core's executor with compiled projections for plain selections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, int], tuple[Any, _Plan]] = {}

    def _plan(self, parent: GraphQLObjectType, details: Any) -> _Plan:
        key = (parent.name, id(details))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        grouped = self.collect_subfields(parent, details)[0]
        layout: list[tuple[str, Spec]] = []
        resolved: list[_Resolved] = []
        for response_key, field_details in grouped.items():
            spec = self._spec(parent, field_details)
            if spec is None:
                field_def = parent.fields.get(field_details[0].node.name.value)
                resolved.append(_Resolved(response_key, field_details, field_def))
                spec = ("const", None)
            layout.append((response_key, spec))
        signature = tuple(layout) if not resolved else None
        partial = _compile(tuple(layout))
        plan = _Plan(signature, partial if signature else None, partial, resolved)
        self._plans[key] = (details, plan)
        return plan

    def _resolve(
        self, parent: GraphQLObjectType, source: Any, field: _Resolved, path: Path, context: Any
    ) -> Any:
        """``execute_field`` with the field's arguments coerced once, not once per object."""
        field_def = field.field_def
        if field_def is None or field.fallback:
            return self.execute_field(parent, source, field.details, path, context)
        if field.args is None:
            node = field.details[0].node
            try:
                field.args = (
                    get_argument_values(field_def, node, self.variable_values)
                    if field_def.args or node.arguments
                    else {}
                )
            except Exception:  # let graphql-core report it
                field.fallback = True
                return self.execute_field(parent, source, field.details, path, context)
        return_type = field_def.type
        info = self.build_resolve_info(field_def, [d.node for d in field.details], parent, path)
        try:
            result = (field_def.resolve or self.field_resolver)(source, info, **field.args)
            return self.complete_value(return_type, field.details, info, path, result, context)
        except Exception as raw_error:  # graphql-core's own field-error handling
            self.handle_field_error(raw_error, return_type, field.details, path)
            return None

    def _spec(self, parent: GraphQLObjectType, details: Any) -> Spec | None:
        name = details[0].node.name.value
        if name == "__typename":
            return ("const", parent.name)
        field_def = parent.fields.get(name)
        if field_def is None or field_def.resolve is not None or field_def.args:
            return None
        output = field_def.type
        if is_non_null_type(output):
            output = output.of_type
        many = is_list_type(output)
        if many:
            item = output.of_type
            if is_list_type(item.of_type if is_non_null_type(item) else item):
                return None
        named = get_named_type(output)
        if is_leaf_type(named):
            return ("leaf", name)
        if is_abstract_type(named) or not is_object_type(named):
            return None
        inner = self._plan(named, details)
        if inner.signature is None:
            return None
        return ("list" if many else "object", name, inner.signature)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Project plain fields directly; execute the others the usual way."""
        plan = self._plan(return_type, field_details_list)
        if plan.full is not None:
            return plan.full(result)
        out = plan.partial(result)
        for selected in plan.resolved:
            field_path = Path(path, selected.key, return_type.name)
            value = self._resolve(return_type, result, selected, field_path, position_context)
            if value is Undefined:
                del out[selected.key]
            else:
                out[selected.key] = value
        return out

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Lists of plain objects in one comprehension."""
        item_type = return_type.of_type
        if is_non_null_type(item_type):
            item_type = item_type.of_type
        if is_object_type(item_type) and isinstance(result, list):
            plan = self._plan(item_type, field_details_list)
            if plan.full is not None:
                project = plan.full
                return [None if item is None else project(item) for item in result]
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )


# --- resolvers ----------------------------------------------------------------------------
def _ctx(info: GraphQLResolveInfo) -> Context:
    context: Context = info.context
    return context


def _root_list(name: str) -> Callable[..., Any]:
    def resolve(_source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx = _ctx(info)
        if not ctx.bulk:
            paging.check_window(info.field_name, args)
        resource = ctx.data.resource(name)
        sort_key = args.get("sortKey") or DEFAULT_SORT[name]
        warn = ctx.warner(info, args.get("query") or "")
        return paging.resource_connection(resource, args, sort_key, ctx.bulk, warn)

    return resolve


def _nested_list(
    key: str,
    order_key: Callable[[Record], int] = paging.gid_number,
    filtered: bool = False,
) -> Callable[..., Any]:
    def resolve(source: Record, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx = _ctx(info)
        if not ctx.bulk:
            paging.check_window(info.field_name, args)
        warn = ctx.warner(info, args.get("query") or "")
        fields = paging.level_fields if filtered else None
        return paging.list_connection(source[key], args, ctx.bulk, order_key, fields, warn)

    return resolve


def _first_of(key: str) -> Callable[..., Any]:
    def resolve(source: Record, _info: GraphQLResolveInfo, first: int | None = None) -> Any:
        items = source[key]
        return items if first is None else items[: max(first, 0)]

    return resolve


def _selects_cursor(info: GraphQLResolveInfo) -> bool:
    """Whether the edges' ``cursor`` is asked for (a fragment might: then it is assumed)."""
    for node in info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode) or selection.name.value == "cursor":
                return True
    return False


def _edges(source: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return paging.edges(source, _selects_cursor(info))


def _lookup(kind: str) -> Callable[..., Any]:
    def resolve(_source: Any, info: GraphQLResolveInfo, id: str | None = None) -> Any:
        data = _ctx(info).data
        if id is None:  # location(id: null): the shop's primary location
            records = data.resource("locations").records
            return records[0] if records else None
        found_kind, legacy_id = parse_gid(id)
        return data.by_gid(kind, legacy_id) if found_kind == kind else None

    return resolve


def _node(ctx: Context, value: str) -> Any:
    kind, legacy_id = parse_gid(value)
    if kind == "BulkOperation":
        return ctx.bulk_ops.get(value, ctx.base_url)
    return ctx.data.by_gid(kind, legacy_id)


def _quantities(level: Record, _info: GraphQLResolveInfo, names: list[str]) -> list[Record]:
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity name: '{unknown[0]}'. Valid names are: {', '.join(QUANTITY_NAMES)}."
        )
    values = level["_quantities"]
    base = level["id"].replace("InventoryLevel", "InventoryQuantity", 1)
    return [
        {
            "__typename": "InventoryQuantity",
            "id": f"{base}&name={name}",
            "name": name,
            "quantity": values.get(name, 0),
            "updatedAt": level["updatedAt"],
        }
        for name in names
    ]


def _level_at(key: str, param: str) -> Callable[..., Any]:
    def resolve(source: Record, _info: GraphQLResolveInfo, **args: Any) -> Any:
        _, wanted = parse_gid(args[param])
        for level in source["_levels"]:
            if int(level[key]["legacyResourceId"]) == wanted:
                return level
        return None

    return resolve


SHOP = {
    "__typename": "Shop",
    "id": "gid://shopify/Shop/1",
    "name": "Archipelago Sandbox",
    "email": "owner@archipelago.example",
    "currencyCode": "USD",
    "ianaTimezone": "Etc/UTC",
    "myshopifyDomain": "archipelago-sandbox.myshopify.com",
}


def build_executable_schema() -> GraphQLSchema:
    """The Admin API subset with every resolver bound."""
    schema = build_schema(SDL)
    query = schema.query_type
    assert query is not None
    for name in DEFAULT_SORT:
        query.fields[name].resolve = _root_list(name)
    for field_name, kind in (
        ("order", "Order"),
        ("customer", "Customer"),
        ("product", "Product"),
        ("productVariant", "ProductVariant"),
        ("location", "Location"),
        ("inventoryItem", "InventoryItem"),
    ):
        query.fields[field_name].resolve = _lookup(kind)
    query.fields["node"].resolve = lambda _s, info, id: _node(_ctx(info), id)
    query.fields["nodes"].resolve = lambda _s, info, ids: [_node(_ctx(info), i) for i in ids]
    query.fields["shop"].resolve = lambda _s, _info: SHOP
    query.fields["currentBulkOperation"].resolve = lambda _s, info, type="QUERY": _ctx(
        info
    ).bulk_ops.current(type, _ctx(info).base_url)
    query.fields["bulkOperations"].resolve = lambda _s, info, **args: _ctx(info).bulk_ops.listing(
        args, _ctx(info)
    )
    query.fields["bulkOperation"].resolve = lambda _s, info, id: _ctx(info).bulk_ops.get(
        id, _ctx(info).base_url
    )
    mutation = schema.mutation_type
    assert mutation is not None
    mutation.fields["bulkOperationRunQuery"].resolve = lambda _s, info, **args: _ctx(
        info
    ).bulk_ops.run(args["query"], args.get("groupObjects", False), _ctx(info))
    mutation.fields["bulkOperationCancel"].resolve = lambda _s, info, id: _ctx(
        info
    ).bulk_ops.cancel(id, _ctx(info).base_url)

    def type_(name: str) -> GraphQLObjectType:
        found = schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    type_("Order").fields["lineItems"].resolve = _nested_list("_line_items")
    type_("Order").fields["refunds"].resolve = _first_of("_refunds")
    type_("Order").fields["fulfillments"].resolve = _first_of("_fulfillments")
    type_("Fulfillment").fields["trackingInfo"].resolve = _first_of("_tracking_info")
    type_("Refund").fields["refundLineItems"].resolve = _nested_list("_refund_line_items")
    type_("Customer").fields["addresses"].resolve = _first_of("_addresses")
    type_("Product").fields["variants"].resolve = _nested_list("_variants")
    type_("AbandonedCheckout").fields["lineItems"].resolve = _nested_list("_line_items")
    type_("Location").fields["inventoryLevels"].resolve = _nested_list(
        "_levels", lambda level: level["_item_id"], filtered=True
    )
    type_("InventoryItem").fields["inventoryLevels"].resolve = _nested_list(
        "_levels", lambda level: int(level["location"]["legacyResourceId"]), filtered=True
    )
    type_("Location").fields["inventoryLevel"].resolve = _level_at("item", "inventoryItemId")
    type_("InventoryItem").fields["inventoryLevel"].resolve = _level_at("location", "locationId")
    type_("InventoryLevel").fields["quantities"].resolve = _quantities
    for type_name in schema.type_map:
        if type_name.endswith("Connection"):
            type_(type_name).fields["edges"].resolve = _edges
    return schema


def run(
    schema: GraphQLSchema,
    document: DocumentNode,
    context: Context,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    """Execute a validated document with the fast executor."""
    result = execute(
        schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=FastExecutor,
    )
    assert isinstance(result, ExecutionResult)
    return result
