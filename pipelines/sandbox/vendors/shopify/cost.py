"""Calculated query cost, as Shopify charges it (https://shopify.dev/docs/api/usage/rate-limits).

Scalars and enums cost 0, objects 1, a connection 2 plus its page size (``first``/``last``) times
the cost of one node; a mutation field costs 10. The requested cost is computed from the query
before it runs; the actual cost from the data it returned (the sizes of the pages it really got).
The same field plan tells bulk operations where the connections are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)

MUTATION_COST = 10


@dataclass
class Field:
    """One selected field with what costing and bulk flattening need to know."""

    key: str  # response key (alias or name)
    name: str
    kind: str  # leaf | object | list | connection
    node: FieldNode
    children: list[Field] = field(default_factory=list)  # object/list fields; connection `nodes`
    edge_children: list[Field] = field(default_factory=list)  # connection `edges { node }`
    nodes_key: str | None = None
    edges_key: str | None = None
    edge_node_key: str | None = None
    fixed: int | None = None  # cost of a non-null object whose subtree has no list or connection
    children_fixed: int | None = None  # constant cost of `children` (per list item or node)
    edge_children_fixed: int | None = None

    def page_size(self, variables: dict[str, Any]) -> int | None:
        """The literal or variable value of ``first`` (else ``last``)."""
        for argument in ("first", "last"):
            for arg in self.node.arguments or ():
                if arg.name.value != argument:
                    continue
                value = arg.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    found = variables.get(value.name.value)
                    if isinstance(found, int) and not isinstance(found, bool):
                        return found
        return None


@dataclass
class Plan:
    """The costed field tree of one operation."""

    operation: OperationType
    fields: list[Field]


def _merge(fields: list[Field], new: Field) -> None:
    for existing in fields:
        if existing.key == new.key and existing.kind == new.kind:
            for child in new.children:
                _merge(existing.children, child)
            for child in new.edge_children:
                _merge(existing.edge_children, child)
            existing.nodes_key = existing.nodes_key or new.nodes_key
            existing.edges_key = existing.edges_key or new.edges_key
            existing.edge_node_key = existing.edge_node_key or new.edge_node_key
            return
    fields.append(new)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def selections(
        self, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str]
    ) -> list[tuple[Any, FieldNode]]:
        """(parent type, field node) pairs with fragments expanded."""
        out: list[tuple[Any, FieldNode]] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                out.append((parent, selection))
            elif isinstance(selection, InlineFragmentNode):
                on = selection.type_condition
                target = self.schema.get_type(on.name.value) if on else parent
                out += self.selections(target or parent, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                out += self.selections(target or parent, fragment.selection_set, seen | {name})
        return out

    def fields(self, parent: Any, selection_set: SelectionSetNode | None) -> list[Field]:
        out: list[Field] = []
        for owner, node in self.selections(parent, selection_set, frozenset()):
            name = node.name.value
            owner_fields = getattr(owner, "fields", None) or {}
            field_def = owner_fields.get(name)
            if name.startswith("__") or field_def is None:
                continue
            key = node.alias.value if node.alias else name
            output = field_def.type
            if is_non_null_type(output):
                output = output.of_type
            named = get_named_type(output)
            if is_leaf_type(named):
                _merge(out, Field(key, name, "leaf", node))
            elif named.name.endswith("Connection"):
                _merge(out, self.connection(key, name, node, named))
            else:
                kind = "list" if is_list_type(output) else "object"
                _merge(out, Field(key, name, kind, node, self.fields(named, node.selection_set)))
        return out

    def connection(self, key: str, name: str, node: FieldNode, connection: Any) -> Field:
        result = Field(key, name, "connection", node)
        node_type = get_named_type(connection.fields["nodes"].type)
        edge_type = get_named_type(connection.fields["edges"].type)
        for _, child in self.selections(connection, node.selection_set, frozenset()):
            child_key = child.alias.value if child.alias else child.name.value
            if child.name.value == "nodes":
                result.nodes_key = child_key
                for sub in self.fields(node_type, child.selection_set):
                    _merge(result.children, sub)
            elif child.name.value == "edges":
                result.edges_key = child_key
                for _, edge_child in self.selections(edge_type, child.selection_set, frozenset()):
                    if edge_child.name.value == "node":
                        alias = edge_child.alias
                        result.edge_node_key = alias.value if alias else "node"
                        for sub in self.fields(node_type, edge_child.selection_set):
                            _merge(result.edge_children, sub)
        return result


def _constant(fields: list[Field]) -> int | None:
    total = 0
    for f in fields:
        if f.fixed is None:
            return None
        total += f.fixed
    return total


def _finalize(fields: list[Field]) -> None:
    for f in fields:
        _finalize(f.children)
        _finalize(f.edge_children)
        f.children_fixed = _constant(f.children)
        f.edge_children_fixed = _constant(f.edge_children)
        if f.kind == "leaf":
            f.fixed = 0
        elif f.kind == "object" and f.children_fixed is not None:
            f.fixed = 1 + f.children_fixed


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan | None:
    """The field plan of the operation that would run (None when it is ambiguous)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    compiler = _Compiler(schema, document)
    fields = compiler.fields(root, operation.selection_set)
    _finalize(fields)
    return Plan(operation.operation, fields)


def _requested(fields: list[Field], variables: dict[str, Any]) -> int:
    total = 0
    for f in fields:
        if f.kind in ("object", "list"):
            size = f.page_size(variables) if f.kind == "list" else None
            total += (size if size is not None else 1) * (1 + _requested(f.children, variables))
        elif f.kind == "connection":
            size = f.page_size(variables) or 0
            per_node = 0
            if f.nodes_key:
                per_node += 1 + _requested(f.children, variables)
            if f.edges_key and f.edge_node_key:
                per_node += 1 + _requested(f.edge_children, variables)
            total += 2 + size * per_node
    return total


def requested_cost(plan: Plan, variables: dict[str, Any]) -> int:
    """The cost Shopify charges before running the operation."""
    if plan.operation == OperationType.MUTATION:
        return MUTATION_COST * len(plan.fields)
    return _requested(plan.fields, variables)


def _items_cost(children: list[Field], fixed: int | None, items: Any) -> int:
    if fixed is not None:
        items = list(items)
        return (len(items) - items.count(None)) * (1 + fixed)
    return sum(1 + _actual(children, item) for item in items if item is not None)


def connection_items(f: Field, value: dict[str, Any]) -> list[tuple[list[Field], Any]]:
    """(node fields, node) for every node a connection value returned."""
    items: list[tuple[list[Field], Any]] = []
    if f.nodes_key:
        items += [(f.children, node) for node in value.get(f.nodes_key) or ()]
    if f.edges_key and f.edge_node_key:
        items += [
            (f.edge_children, edge.get(f.edge_node_key))
            for edge in value.get(f.edges_key) or ()
            if isinstance(edge, dict)
        ]
    return items


def _actual(fields: list[Field], data: Any) -> int:
    if not isinstance(data, dict):
        return 0
    total = 0
    for f in fields:
        value = data.get(f.key)
        if value is None or f.kind == "leaf":
            continue
        if f.kind == "object":
            total += f.fixed if f.fixed is not None else 1 + _actual(f.children, value)
        elif f.kind == "list":
            total += _items_cost(f.children, f.children_fixed, value)
        else:
            total += 2
            if f.nodes_key:
                total += _items_cost(f.children, f.children_fixed, value.get(f.nodes_key) or ())
            if f.edges_key and f.edge_node_key:
                nodes = [e.get(f.edge_node_key) for e in value.get(f.edges_key) or ()]
                total += _items_cost(f.edge_children, f.edge_children_fixed, nodes)
    return total


def actual_cost(plan: Plan, data: Any) -> int:
    """The cost of what the operation actually returned."""
    if plan.operation == OperationType.MUTATION:
        return MUTATION_COST * len(plan.fields)
    return _actual(plan.fields, data)
