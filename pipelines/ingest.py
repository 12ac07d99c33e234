"""`cdp ingest`: run the dlt sources into the warehouse, one pipeline per source.

Each source loads into its own ``raw_<source>`` schema of ``warehouse.duckdb`` through its own dlt
pipeline (its own state and incremental cursors), in its own process, several at once. A failing
source is recorded and reported and does not stop the others. Every run of every source is
recorded in ``ops.pipeline_runs``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import config, locks, ops
from pipelines.errors import UserError, setting_name
from pipelines.sandbox.credentials import SANDBOX_CREDENTIALS


@dataclass(frozen=True)
class SourceSpec:
    """Where a source's ``@dlt.source`` function lives and how the sandbox configures it."""

    name: str
    factory: str  # "module:function"
    sandbox_settings: Callable[[str], dict[str, str]]

    def load_factory(self) -> Callable[..., Any]:
        module, _, function = self.factory.partition(":")
        factory: Callable[..., Any] = getattr(importlib.import_module(module), function)
        return factory


def _with_credentials(vendor: str, **settings: str) -> Callable[[str], dict[str, str]]:
    """A vendor's sandbox settings: dummy credentials plus ``settings`` (``{url}``: its base)."""

    def build(sandbox_url: str) -> dict[str, str]:
        url = f"{sandbox_url.rstrip('/')}/{vendor}"
        values = {**SANDBOX_CREDENTIALS[vendor], **settings}
        return {key: value.format(url=url) for key, value in values.items()}

    return build


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            "shopify",
            "pipelines.sources.shopify:shopify_source",
            _with_credentials("shopify", shop_url="{url}"),
        ),
        SourceSpec(
            "amazon",
            "pipelines.sources.amazon:amazon_source",
            _with_credentials("amazon", base_url="{url}", lwa_token_url="{url}/auth/o2/token"),
        ),
        SourceSpec("pos", "pipelines.sources.pos:pos_source", lambda _url: {}),
        SourceSpec(
            "hubspot",
            "pipelines.sources.hubspot:hubspot_source",
            _with_credentials("hubspot", base_url="{url}"),
        ),
        SourceSpec(
            "klaviyo",
            "pipelines.sources.klaviyo:klaviyo_source",
            _with_credentials("klaviyo", base_url="{url}"),
        ),
        SourceSpec(
            "shipstation",
            "pipelines.sources.shipstation:shipstation_source",
            _with_credentials("shipstation", base_url="{url}"),
        ),
        SourceSpec(
            "easypost",
            "pipelines.sources.easypost:easypost_source",
            _with_credentials("easypost", base_url="{url}"),
        ),
    )
}


@dataclass
class SourceRun:
    """The outcome of one source in one `cdp ingest`."""

    run_id: str
    source: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # succeeded | failed
    rows: dict[str, int] = field(default_factory=dict)
    new_columns: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def seconds(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values())


def resolve_sources(names: Iterable[str] | None) -> list[SourceSpec]:
    """The sources to run (all when none are named); an unknown name is a UserError."""
    if not names:
        return list(SOURCES.values())
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        names_given = ", ".join(repr(n) for n in unknown)
        raise UserError(f"unknown source {names_given}: choose from {', '.join(SOURCES)}")
    return [SOURCES[name] for name in dict.fromkeys(names)]


def sandbox_environment(sandbox_url: str, specs: Iterable[SourceSpec]) -> dict[str, str]:
    """dlt's environment variables that point the sources at the sandbox, with its credentials."""
    return {
        setting_name(spec.name, setting): value
        for spec in specs
        for setting, value in spec.sandbox_settings(sandbox_url).items()
    }


def make_pipeline(source: str) -> dlt.Pipeline:
    """The dlt pipeline that loads ``source`` into ``raw_<source>`` of the warehouse."""
    paths = config.paths()
    paths.root.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"archipelago_{source}",
        destination=dlt.destinations.duckdb(str(paths.warehouse)),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(paths.dlt_pipelines),
    )


def _columns(pipeline: dlt.Pipeline) -> set[str]:
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    if schema is None:
        return set()
    return {
        f"{table}.{column}"
        for table, spec in schema.tables.items()
        if not table.startswith("_dlt")
        for column in spec.get("columns", {})
    }


def _explain(exc: BaseException, source: str) -> str:
    """One line for a failed source: the user-fixable cause if there is one, else the bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UserError):
            return str(current).removeprefix(f"{source}: ")
        if isinstance(current, ConfigFieldMissingException):
            missing = ", ".join(setting_name(source, f) for f in current.fields)
            return f"missing setting: set {missing} (or add it to .dlt/secrets.toml)"
        nested = getattr(current, "exception", None)
        current = nested if isinstance(nested, BaseException) else current.__cause__
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def run_source(name: str, run_id: str, full_refresh: bool = False) -> SourceRun:
    """Extract, normalise and load one source; never raises for a source failure."""
    run = SourceRun(run_id=run_id, source=name, started_at=datetime.now(UTC))
    try:
        with locks.pipeline(name):
            pipeline = make_pipeline(name)
            columns_before = _columns(pipeline)
            rows = _extract_normalize_load(pipeline, SOURCES[name], full_refresh)
        run.rows = {t: n for t, n in sorted(rows.items()) if not t.startswith("_dlt")}
        if columns_before:
            run.new_columns = sorted(_columns(pipeline) - columns_before)
        run.status = "succeeded"
    except (PipelineStepFailed, UserError, ConfigFieldMissingException) as exc:
        run.status, run.error = "failed", _explain(exc, name)
    except Exception as exc:  # a bug: keep the traceback in the run record
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        run.error += "\n" + traceback.format_exc()
    run.finished_at = datetime.now(UTC)
    ops.record_pipeline_run(run)
    return run


def _extract_normalize_load(
    pipeline: dlt.Pipeline, spec: SourceSpec, full_refresh: bool
) -> Counter[str]:
    """dlt's ``run``, with the steps that open the warehouse (restoring state, loading) under its
    lock so that several sources extract at once while their loads take turns. Packages a killed
    run left behind load first, then this run extracts as usual (``run`` would stop there)."""
    rows: Counter[str] = Counter()
    with locks.warehouse():
        pipeline.sync_destination()
    if pipeline.list_extracted_load_packages():
        rows.update(pipeline.normalize().row_counts)
    if pipeline.list_normalized_load_packages():
        with locks.warehouse():
            pipeline.load()
    pipeline.extract(spec.load_factory()(), refresh="drop_sources" if full_refresh else None)
    rows.update(pipeline.normalize().row_counts)
    with locks.warehouse():
        pipeline.load()
    return rows


def run_ingest(
    names: Iterable[str] | None = None,
    *,
    full_refresh: bool = False,
    sandbox_url: str | None = None,
    workers: int = config.INGEST_WORKERS,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[SourceRun], None] | None = None,
) -> list[SourceRun]:
    """Run the named sources (all by default), up to ``workers`` at once in their own processes
    (1: one after another in this process); returns their outcomes in the order named."""
    specs = resolve_sources(names)
    if workers < 1:
        raise UserError(f"workers must be at least 1 (got {workers})")
    if sandbox_url:
        os.environ.update(sandbox_environment(sandbox_url, specs))
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    start, done = on_start or (lambda _name: None), on_done or (lambda _run: None)
    runs: dict[str, SourceRun] = {}
    if workers == 1 or len(specs) == 1:
        for spec in specs:
            start(spec.name)
            runs[spec.name] = run_source(spec.name, run_id, full_refresh)
            done(runs[spec.name])
        return [runs[spec.name] for spec in specs]
    waiting = deque(spec.name for spec in specs)
    running: dict[Future[SourceRun], str] = {}
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads
    pool = ProcessPoolExecutor(
        min(workers, len(specs)),
        mp_context=spawn,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    with pool:
        while waiting or running:
            while waiting and len(running) < workers:
                name = waiting.popleft()
                start(name)
                running[pool.submit(run_source, name, run_id, full_refresh)] = name
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                runs[name] = _outcome(future, name, run_id)
                done(runs[name])
    return [runs[spec.name] for spec in specs]


def _exit_with_parent(parent: int) -> None:
    """A worker's watchdog: die when the `cdp ingest` that started it is gone (killed), so no
    orphan keeps loading while the next run resumes its source."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _outcome(future: Future[SourceRun], name: str, run_id: str) -> SourceRun:
    """The run a worker returned, or a failed run when the worker process itself died."""
    try:
        return future.result()
    except Exception as exc:  # the process was killed or crashed: run_source never returned
        now = datetime.now(UTC)
        run = SourceRun(run_id, name, now, now, "failed", error=f"worker died: {exc!r}")
        ops.record_pipeline_run(run)
        return run
