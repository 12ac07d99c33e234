"""POS source: the pop-up till's daily CSV exports dropped in the landing folder.

Files are listed with dlt's filesystem source, incrementally on their modification date: a run
reads only files added or rewritten since the last run. Every line is parsed and validated;
valid lines are merged into ``sales_lines`` on (transaction_id, line_no) with delete-insert on
``_source_file``, so a rewritten file replaces exactly the lines it held before (lines it no
longer holds are deleted, none are duplicated). Malformed lines, and files whose header lacks a
required column, are appended to ``rejects`` with the file, line number, raw line and reason,
and the rest of the file loads. Valid lines go to dlt as Arrow tables (one per page of files).

A file copied in with an older modification date than the last run's newest file (``cp -p``,
``rsync -t``) is not picked up: drop files with their arrival time, or run with --full-refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources import DltResource
from dlt.sources.filesystem import filesystem

from pipelines import config
from pipelines.sources.pos.helpers import landing_folder, parse_export, sales_table
from pipelines.sources.pos.settings import (
    DEFAULT_FILE_GLOB,
    FILES_PER_PAGE,
    REJECT_COLUMNS,
    SALES_LINE_COLUMNS,
)

logger = logging.getLogger(__name__)


@dlt.source(name="pos", max_table_nesting=0)
def pos_source(
    landing_dir: str | None = None,
    file_glob: str = DEFAULT_FILE_GLOB,
) -> Iterator[DltResource]:
    """The till's sales lines (merged) and the lines and files it rejected (appended)."""
    folder = landing_folder(landing_dir or str(config.paths().pos_landing))
    files = filesystem(
        bucket_url=folder.as_uri(),
        file_glob=file_glob,
        files_per_page=FILES_PER_PAGE,
        incremental=dlt.sources.incremental("modification_date", row_order="asc"),
    ).with_name("pos_files")
    yield _with_rejects_table(files | sales_lines)


def _with_rejects_table(resource: DltResource) -> DltResource:
    """Declare the ``rejects`` table the resource also yields to: append, no keys, own columns."""
    # a table variant starts as a copy of the resource's hints: clear keys and columns first
    variant: dict[str, Any] = {"table_name": "rejects", "create_table_variant": True}
    resource.apply_hints(write_disposition="append", primary_key=[], columns={}, **variant)
    return resource.apply_hints(columns=REJECT_COLUMNS, **variant)


# dlt types a transformer's write_disposition narrower than a resource's; the dict form works
@dlt.transformer(  # type: ignore[call-overload]
    name="sales_lines",
    primary_key=("transaction_id", "line_no"),
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    columns=SALES_LINE_COLUMNS,
)
def sales_lines(files: list[FileItemDict]) -> Iterator[Any]:
    """Parse a page of listed exports: their valid lines as Arrow tables, their rejects as rows."""
    pages: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # lines by column set
    for file in files:
        name = file["relative_path"]
        parsed = parse_export(file.read_bytes(), name, file["modification_date"])
        if parsed.lines:
            pages.setdefault(tuple(parsed.lines[0]), []).extend(parsed.lines)
        if parsed.rejects:
            yield dlt.mark.with_table_name(parsed.rejects, "rejects")
            if parsed.file_rejected:
                logger.warning("pos: %s rejected: %s", name, parsed.rejects[0]["reason"])
            else:
                count = len(parsed.rejects)
                logger.warning("pos: %d line(s) of %s rejected (see raw_pos.rejects)", count, name)
    load_id = dlt.current.load_package_state()["load_id"]
    for lines in pages.values():
        yield sales_table(lines, load_id)
