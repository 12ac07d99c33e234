"""Parsing and validation of one till export file: typed sales lines plus the lines it rejects."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.errors import SourceError, setting_name
from pipelines.sources.pos.settings import (
    MAX_RAW_LINE_CHARS,
    MONEY_COLUMNS,
    MONEY_PRECISION,
    MONEY_SCALE,
    REQUIRED_COLUMNS,
    REQUIRED_VALUES,
)

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")  # fits a BIGINT
_MONEY = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,2})?")  # fits DECIMAL(18, 2)
_NOT_A_NAME = re.compile(r"[^a-z0-9]+")
_CENT = Decimal("0.01")
_UTC_MICROS = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "line_no": pa.int64(),
    "timestamp": _UTC_MICROS,
    "quantity": pa.int64(),
    **{name: pa.decimal128(MONEY_PRECISION, MONEY_SCALE) for name in MONEY_COLUMNS},
    "_source_line": pa.int64(),
    "_source_modified_at": _UTC_MICROS,
}  # every other column is text
_NOT_NULL = frozenset({"transaction_id", "line_no", "_source_file"})


@dataclass
class ParsedFile:
    """What one file yields: valid lines (typed, with lineage) and rejected lines (with reasons)."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    file_rejected: bool = False


class _Invalid(ValueError):
    """A value that does not parse; the message is the reason shown in rejects."""


def landing_folder(landing_dir: str) -> Path:
    """The landing folder as an absolute path; a SourceError naming the setting if it is missing."""
    folder = Path(landing_dir).expanduser().resolve()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise SourceError(
            "pos",
            f"the landing folder {folder} {what}: create it, or set "
            f"{setting_name('pos', 'landing_dir')} (or landing_dir in the sources.pos section of "
            ".dlt/config.toml) to the folder the till's CSV exports are dropped in",
        )
    return folder


def parse_export(content: bytes, source_file: str, modified_at: datetime) -> ParsedFile:
    """Parse a till export; a file without the required columns is rejected whole."""
    lineage = {"_source_file": source_file, "_source_modified_at": modified_at}
    result = ParsedFile()

    def reject_file(line_no: int | None, raw: str | None, reason: str) -> ParsedFile:
        result.rejects.append(_reject(lineage, line_no, raw, f"{reason}; file not loaded"))
        result.file_rejected = True
        return result

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = content.count(b"\n", 0, exc.start) + 1
        raw = content.splitlines()[line_no - 1].decode("utf-8", "replace")
        return reject_file(line_no, raw, f"not UTF-8 text (byte {exc.start})")
    raw_lines = list(io.StringIO(text, newline=""))  # splits on \r\n, \n and \r only
    reader = csv.reader(raw_lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return reject_file(1, _raw(raw_lines, 0, 1), f"unreadable header ({exc})")
    if not header:
        return reject_file(1, _raw(raw_lines, 0, 1) or None, "empty file: no header line")
    columns = [column_name(name) or f"column_{i}" for i, name in enumerate(header, start=1)]
    header_raw = _raw(raw_lines, 0, reader.line_num)
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        return reject_file(1, header_raw, f"duplicate column(s) {', '.join(duplicated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        return reject_file(1, header_raw, f"header lacks required column(s) {', '.join(missing)}")

    layout = _Layout.of(columns)
    seen: dict[tuple[str, int], int] = {}
    position = reader.line_num
    while True:
        start = position + 1  # the physical line the record starts on
        reason = None
        try:
            values = next(reader, None)
        except csv.Error as exc:
            values, reason = [], f"unreadable CSV ({exc})"
        position = reader.line_num
        if values is None:
            break
        if reason is None:
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line
            if len(values) != layout.width:
                reason = f"wrong number of fields: {len(values)} instead of {layout.width}"
            else:
                try:
                    line = layout.typed_line(values)
                except _Invalid as exc:
                    reason = str(exc)
        if reason is None:
            key = (line["transaction_id"], line["line_no"])
            if key in seen:
                reason = f"duplicate of line {seen[key]} (same transaction_id and line_no)"
        if reason is not None:
            raw = _raw(raw_lines, start - 1, position)
            result.rejects.append(_reject(lineage, start, raw, reason))
            continue
        seen[key] = start
        line["_source_file"] = source_file
        line["_source_line"] = start
        line["_source_modified_at"] = modified_at
        result.lines.append(line)
    return result


def column_name(header: str) -> str:
    """A header cell as a column name: ``" Transaction ID"`` → ``"transaction_id"``."""
    return _NOT_A_NAME.sub("_", header.strip().lower()).strip("_")


def sales_table(lines: list[dict[str, Any]], load_id: str) -> pa.Table:
    """Parsed lines with the same columns as one Arrow table (dlt loads it without per-row work)."""
    fields = [
        pa.field(name, _ARROW_TYPES.get(name, pa.string()), nullable=name not in _NOT_NULL)
        for name in lines[0]  # the caller groups lines by their columns
    ]
    table = pa.Table.from_pylist(lines, schema=pa.schema(fields))
    # dlt adds _dlt_load_id to Arrow data only when configured globally: add it here
    load_ids = pa.array([load_id] * table.num_rows, pa.string())
    return table.append_column(pa.field("_dlt_load_id", pa.string(), nullable=False), load_ids)


@dataclass(frozen=True)
class _Layout:
    """Where each column sits in a file's records, and how to type its values."""

    width: int
    required: tuple[tuple[str, int], ...]
    typed: tuple[tuple[str, int, Callable[[str], Any]], ...]
    absent: tuple[str, ...]
    extra: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, columns: list[str]) -> _Layout:
        index = {name: i for i, name in enumerate(columns)}
        return cls(
            width=len(columns),
            required=tuple((name, index[name]) for name in REQUIRED_VALUES),
            typed=tuple((n, index[n], parse) for n, parse in _PARSERS.items() if n in index),
            absent=tuple(name for name in _PARSERS if name not in index),
            extra=tuple((n, i) for n, i in index.items() if n not in _PARSERS),
        )

    def typed_line(self, values: list[str]) -> dict[str, Any]:
        """One record as typed values; raises _Invalid listing every problem found."""
        problems = [f"{name} is missing" for name, i in self.required if not values[i].strip()]
        if problems:
            raise _Invalid("; ".join(problems))
        line: dict[str, Any] = dict.fromkeys(self.absent)  # optional columns the file lacks
        for name, i, parse in self.typed:
            try:
                line[name] = parse(values[i])
            except _Invalid as exc:
                problems.append(f"{name} {exc}")
        if problems:
            raise _Invalid("; ".join(problems))
        if line["net"] != line["gross"] - line["discount"]:
            raise _Invalid(
                f"net {line['net']} is not gross {line['gross']} minus discount {line['discount']}"
            )
        for name, i in self.extra:
            line[name] = values[i].strip() or None  # a column the till added: carried as text
        return line


def _timestamp(value: str) -> datetime:
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"{text!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _Invalid(f"{text!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _integer(value: str) -> int:
    text = value.strip()
    if not _INTEGER.fullmatch(text):
        raise _Invalid(f"{text!r} is not a whole number (at most 18 digits)")
    return int(text)


def _money(value: str) -> Decimal:
    text = value.strip()
    if not _MONEY.fullmatch(text):
        raise _Invalid(f"{text!r} is not an amount (at most 16 digits and 2 decimals)")
    return Decimal(text).quantize(_CENT)


def _money_or_zero(value: str) -> Decimal:
    return _money(value) if value.strip() else Decimal("0.00")


def _optional_text(value: str) -> str | None:
    return value.strip() or None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "transaction_id": str.strip,
    "timestamp": _timestamp,
    "location": _optional_text,
    "line_no": _integer,
    "sku": str.strip,
    "quantity": _integer,
    "gross": _money,
    "discount": _money_or_zero,
    "net": _money,
    "customer_email": _optional_text,
    "customer_phone": _optional_text,
}


def _raw(raw_lines: Sequence[str], start: int, end: int) -> str:
    """The physical lines ``start`` (0-based) to ``end`` (exclusive), without the last line end."""
    text = "".join(raw_lines[start:end]).rstrip("\r\n")
    if len(text) > MAX_RAW_LINE_CHARS:
        text = text[:MAX_RAW_LINE_CHARS] + "…"
    return text


def _reject(
    lineage: dict[str, Any], line_no: int | None, raw: str | None, reason: str
) -> dict[str, Any]:
    return {**lineage, "_source_line": line_no, "raw_line": raw, "reason": reason}
