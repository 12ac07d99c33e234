"""Klaviyo's ``filter`` query grammar: parse, type-check per endpoint, and evaluate on arrays.

Grammar (https://developers.klaviyo.com/en/docs/filtering_)::

    filter     := expression ("," expression)*          # comma = implicit AND
    expression := "and(" expression ("," expression)* ")" | operator "(" field "," value ")"
                | "has(" field ")"
    value      := 'text' | "text" | number | true | false | null | datetime | "[" value, ... "]"

Datetimes are written *without* quotes (``greater-than(updated,2024-01-01T00:00:00Z)``); a quoted
datetime on a datetime field is rejected as Klaviyo does. Each endpoint declares which fields and
operators it allows (from the OpenAPI spec); anything else is a 400 with ``source.parameter``
``filter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import polars as pl

from pipelines.sandbox.vendors.klaviyo.errors import KlaviyoError, bad_parameter

COMPARISONS = ("greater-than", "greater-or-equal", "less-than", "less-or-equal")
OPERATORS = (
    "equals",
    "any",
    "contains",
    "contains-any",
    "contains-all",
    "starts-with",
    "ends-with",
    "has",
    *COMPARISONS,
)


@dataclass(frozen=True)
class Field:
    """A filterable field: its value type and allowed operators."""

    kind: str  # string | datetime | number | boolean
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """One ``operator(field, value)`` term of a conjunction."""

    op: str
    field: str
    value: Any


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str) -> KlaviyoError:
        return bad_parameter(
            "filter", f"Invalid filter provided: {reason} (at position {self.pos})."
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of filter"
            raise self.fail(f"expected {char!r}, found {found}")
        self.pos += 1

    def name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "_-.$"
        ):
            self.pos += 1
        if start == self.pos:
            raise self.fail("expected a name")
        return self.text[start : self.pos]

    def expressions(self) -> list[Condition]:
        found = self.expression()
        while self.peek() == ",":
            self.pos += 1
            found += self.expression()
        return found

    def expression(self) -> list[Condition]:
        op = self.name()
        self.expect("(")
        if op == "and":
            found = self.expressions()
            self.expect(")")
            return found
        if op in ("or", "not"):
            raise bad_parameter(
                "filter", f"The '{op}' operator is not supported for this resource."
            )
        if op not in OPERATORS:
            raise bad_parameter("filter", f"'{op}' is not a valid filter operator.")
        field = self.name()
        if op == "has":
            self.expect(")")
            return [Condition(op, field, None)]
        self.expect(",")
        value = self.value()
        self.expect(")")
        return [Condition(op, field, value)]

    def value(self) -> Any:
        char = self.peek()
        if char in ("'", '"'):
            return self.quoted(char)
        if char == "[":
            self.pos += 1
            items: list[Any] = []
            if self.peek() != "]":
                items.append(self.value())
                while self.peek() == ",":
                    self.pos += 1
                    items.append(self.value())
            self.expect("]")
            return items
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",)]":
            self.pos += 1
        token = self.text[start : self.pos].strip()
        if not token:
            raise self.fail("expected a value")
        return bare_value(token, self)

    def quoted(self, quote: str) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated string")
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == quote:
                return "".join(out)
            else:
                out.append(char)


def bare_value(token: str, parser: _Parser) -> Any:
    """An unquoted token: boolean, null, number or datetime."""
    if token in ("true", "false"):
        return token == "true"
    if token == "null":
        return None
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        pass
    moment = parse_datetime(token)
    if moment is None:
        raise parser.fail(f"{token!r} is not a valid value (strings must be quoted)")
    return moment


def parse_datetime(token: str) -> datetime | None:
    """An ISO 8601 datetime (naive means UTC), or None."""
    try:
        moment = datetime.fromisoformat(token)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse(text: str, fields: dict[str, Field], resource: str) -> list[Condition]:
    """The filter as a list of AND-ed conditions, checked against the endpoint's fields."""
    parser = _Parser(text.strip())
    if not parser.text:
        raise bad_parameter("filter", "Invalid filter provided: the filter is empty.")
    conditions = parser.expressions()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected trailing characters")
    for condition in conditions:
        check(condition, fields, resource)
    return conditions


def check(condition: Condition, fields: dict[str, Field], resource: str) -> None:
    """Raise the Klaviyo 400 when the field, operator or value type is not allowed."""
    spec = fields.get(condition.field)
    if spec is None:
        raise bad_parameter(
            "filter", f"'{condition.field}' is not a valid field for the resource '{resource}'."
        )
    if condition.op not in spec.ops:
        raise bad_parameter(
            "filter",
            f"'{condition.op}' is not a valid operator for the field '{condition.field}'; "
            f"allowed: {', '.join(spec.ops)}.",
        )
    if condition.op == "has":
        return
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    if condition.op == "any" and not isinstance(condition.value, list):
        raise bad_parameter("filter", f"The 'any' operator on '{condition.field}' needs a list.")
    if condition.op in COMPARISONS and isinstance(condition.value, list):
        raise bad_parameter("filter", f"'{condition.op}' on '{condition.field}' needs one value.")
    for value in values:
        if not _fits(spec.kind, value):
            raise bad_parameter(
                "filter",
                f"Invalid filter provided: {value!r} is not a valid {spec.kind} for "
                f"'{condition.field}'.",
            )


def _fits(kind: str, value: Any) -> bool:
    if kind == "datetime":
        return isinstance(value, datetime)
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


NULL_TIME = np.iinfo(np.int64).min


class Columns(Protocol):
    """What a collection offers the evaluator."""

    size: int

    def column(self, field: str) -> np.ndarray | pl.Series:
        """int64 numbers (microseconds or seconds; nulls are NULL_TIME) or a string Series."""

    def lookup(self, field: str, values: list[Any]) -> np.ndarray:
        """A boolean mask of the rows whose ``field`` equals one of ``values``."""


def evaluate(conditions: list[Condition], columns: Columns) -> np.ndarray:
    """A boolean mask of the rows matching every condition."""
    mask = np.ones(columns.size, dtype=bool)
    for condition in conditions:
        mask &= _match(condition, columns)
    return mask


def _match(condition: Condition, columns: Columns) -> np.ndarray:
    op, value = condition.op, condition.value
    values = columns.column(condition.field)
    if isinstance(values, np.ndarray):
        if op == "has":
            return values != NULL_TIME
        target = micros(value) if isinstance(value, datetime) else value
        present = values != NULL_TIME
        if op == "greater-than":
            return present & (values > target)
        if op == "greater-or-equal":
            return present & (values >= target)
        if op == "less-than":
            return present & (values < target)
        if op == "less-or-equal":
            return present & (values <= target)
        return present & (values == target)
    if op in ("equals", "any"):
        return columns.lookup(condition.field, value if isinstance(value, list) else [value])
    if op == "has":
        found = values.is_not_null()
    elif op == "contains":
        found = values.str.contains(str(value), literal=True)
    elif op == "starts-with":
        found = values.str.starts_with(str(value))
    elif op == "ends-with":
        found = values.str.ends_with(str(value))
    else:
        raise bad_parameter("filter", f"'{op}' is not supported on '{condition.field}'.")
    return found.fill_null(False).to_numpy()
