"""Shopify's search syntax for the ``query:`` argument of list connections.

Grammar (https://shopify.dev/docs/api/usage/search-syntax): terms separated by whitespace
(implicit AND) or ``AND``/``OR``, ``NOT`` or a leading ``-`` to negate, parentheses to group; a
term is ``field:value``, ``field:>value`` (also ``>=``, ``<``, ``<=``) or a bare word (free text);
values may be quoted with ``'`` or ``"``; a trailing ``*`` matches a prefix. Dates are
``YYYY-MM-DD`` or ISO timestamps (no offset = the shop's time zone, UTC in the sandbox).

Like Shopify, an unknown field or an unusable value never fails the request: the term is ignored
(matches everything) and reported under ``extensions.search`` with the warning Shopify gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

Mask = np.ndarray
FIELD = re.compile(r"^([A-Za-z_][\w.]*):(.*)$", re.S)
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COMPARATORS = (">=", "<=", ">", "<")
INVALID_FIELD = "Invalid search field for this query."


class InvalidValue(ValueError):
    """A term's value cannot be used for its field."""


@dataclass
class Term:
    field: str | None
    op: str  # ":" | ">" | ">=" | "<" | "<="
    value: str
    quoted: bool = False


@dataclass
class Node:
    kind: str  # "and" | "or" | "not" | "term"
    children: list[Node] = field(default_factory=list)
    term: Term | None = None


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()":
                if text[j] in "'\"":
                    close = text.find(text[j], j + 1)
                    j = n if close < 0 else close + 1
                else:
                    j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def _unquote(value: str) -> tuple[str, bool]:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1], True
    if value[:1] in "'\"":
        return value[1:], True
    return value, False


def _term(token: str) -> Node:
    negate = token.startswith("-") and len(token) > 1
    if negate:
        token = token[1:]
    found = FIELD.match(token)
    if found:
        name, rest = found.group(1), found.group(2)
        op = ":"
        for comparator in COMPARATORS:
            if rest.startswith(comparator):
                op, rest = comparator, rest[len(comparator) :]
                break
        value, quoted = _unquote(rest)
        node = Node("term", term=Term(name.lower(), op, value, quoted))
    else:
        value, quoted = _unquote(token)
        node = Node("term", term=Term(None, ":", value, quoted))
    return Node("not", [node]) if negate else node


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            if self.peek() in (None, ")"):
                break
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", parts)

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.take()
                if self.peek() in (None, ")", "OR"):
                    break
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Node("and", parts)

    def unary(self) -> Node:
        token = self.peek()
        if token == "NOT":
            self.take()
            if self.peek() in (None, ")"):
                return Node("and")
            return Node("not", [self.unary()])
        if token == "(":
            self.take()
            inner = self.expression() if self.peek() not in (None, ")") else Node("and")
            if self.peek() == ")":
                self.take()
            return inner
        if token == ")":  # unbalanced: skip it
            self.take()
            return Node("and")
        return _term(self.take())


def parse(text: str) -> Node:
    """The query string as a tree (an empty query is an empty AND: everything)."""
    tokens = _tokens(text or "")
    if not tokens:
        return Node("and")
    parser = _Parser(tokens)
    parts = [parser.expression()]
    while parser.peek() is not None:  # stray ")" at top level
        parser.take()
        if parser.peek() is not None:
            parts.append(parser.expression())
    return parts[0] if len(parts) == 1 else Node("and", parts)


def parsed_form(node: Node) -> dict[str, Any]:
    """The ``parsed`` rendering Shopify reports next to search warnings."""
    if node.kind == "term" and node.term is not None:
        term = node.term
        key = {
            ":": "match_phrase" if term.quoted else "match_all",
            ">": "range_gt",
            ">=": "range_gte",
            "<": "range_lt",
            "<=": "range_lte",
        }[term.op]
        return {"field": term.field or "default", key: term.value}
    if node.kind == "not":
        return {"not": parsed_form(node.children[0])}
    return {node.kind: [parsed_form(child) for child in node.children]}


# --- values -------------------------------------------------------------------------------
def time_range(value: str) -> tuple[int, int]:
    """A date or timestamp as [start, end) in epoch seconds at its own granularity."""
    text = value.strip()
    if DATE_ONLY.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        start = int(day.timestamp())
        return start, start + 86400
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise InvalidValue(value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    start = int(moment.timestamp() // 1)
    return start, start + 1


def compare_range(column: np.ndarray, op: str, start: int, end: int) -> Mask:
    """``column op value`` where the value covers [start, end)."""
    if op == ">":
        return column >= end
    if op == ">=":
        return column >= start
    if op == "<":
        return column < start
    if op == "<=":
        return column < end
    return (column >= start) & (column < end)


def _int_value(value: str) -> int:
    text = value.strip().rsplit("/", 1)[-1].split("?", 1)[0]
    try:
        return int(text)
    except ValueError:
        raise InvalidValue(value) from None


Matcher = Callable[[str, str], Mask]


def date_field(column: np.ndarray) -> Matcher:
    """A timestamp column (epoch seconds) compared with dates/timestamps."""

    def match(op: str, value: str) -> Mask:
        start, end = time_range(value)
        return compare_range(column, op, start, end)

    return match


def int_field(column: np.ndarray) -> Matcher:
    """An integer column (ids accept legacy ids or GIDs)."""

    def match(op: str, value: str) -> Mask:
        number = _int_value(value)
        return compare_range(column, op, number, number + 1)

    return match


def text_field(column: np.ndarray, aliases: Callable[[str], str] | None = None) -> Matcher:
    """Exact case-insensitive match (``value*``: prefix); comparators compare text."""

    def match(op: str, value: str) -> Mask:
        wanted = value.strip().lower()
        if aliases is not None:
            wanted = aliases(wanted)
        if op != ":":
            return compare_range(column, op, wanted, wanted + "\x00")  # type: ignore[arg-type]
        if wanted.endswith("*"):
            return np.char.startswith(column, wanted[:-1])
        return column == wanted

    return match


def list_field(column: np.ndarray) -> Matcher:
    """Membership in a per-record list (tags, SKUs)."""

    def match(op: str, value: str) -> Mask:
        wanted = value.strip().lower()
        return np.fromiter(
            (any(v.lower() == wanted for v in values) for values in column),
            dtype=bool,
            count=len(column),
        )

    return match


def bool_field(column: np.ndarray) -> Matcher:
    """A boolean column (``true``/``false``)."""

    def match(op: str, value: str) -> Mask:
        wanted = value.strip().lower()
        if wanted not in ("true", "false"):
            raise InvalidValue(value)
        return column == (wanted == "true")

    return match


def choice_field(choices: dict[str, Callable[[], Mask]]) -> Matcher:
    """A field with named values (``status:open``)."""

    def match(op: str, value: str) -> Mask:
        build = choices.get(value.strip().lower())
        if build is None:
            raise InvalidValue(value)
        return build()

    return match


@dataclass
class SearchResult:
    """The matching records and what Shopify would say about the query."""

    mask: Mask
    warnings: list[dict[str, str]]
    parsed: dict[str, Any]


def evaluate(
    text: str,
    size: int,
    fields: dict[str, Matcher],
    free_text: np.ndarray | None,
) -> SearchResult:
    """Evaluate a query over ``size`` records; unknown fields and bad values are warnings."""
    tree = parse(text)
    warnings: list[dict[str, str]] = []

    def every() -> Mask:
        return np.ones(size, dtype=bool)

    def run(node: Node) -> Mask:
        if node.kind == "and":
            mask = every()
            for child in node.children:
                mask &= run(child)
            return mask
        if node.kind == "or":
            mask = np.zeros(size, dtype=bool)
            for child in node.children:
                mask |= run(child)
            return mask
        if node.kind == "not":
            return ~run(node.children[0])
        term = node.term
        assert term is not None
        if term.field is None:
            if free_text is None or not term.value.strip():
                return every()
            return np.char.find(free_text, term.value.strip().lower()) >= 0
        matcher = fields.get(term.field)
        if matcher is None:
            warnings.append(
                {"field": term.field, "message": INVALID_FIELD, "code": "invalid_field"}
            )
            return every()
        try:
            return np.asarray(matcher(term.op, term.value), dtype=bool)
        except (InvalidValue, TypeError, ValueError):
            warnings.append(
                {
                    "field": term.field,
                    "message": f"Invalid value '{term.value}' for field '{term.field}'.",
                    "code": "invalid_value",
                }
            )
            return every()

    mask = run(tree)
    return SearchResult(mask, warnings, parsed_form(tree))
