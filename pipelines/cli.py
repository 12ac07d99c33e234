"""The ``cdp`` command line (typer + rich)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from datetime import date
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from pipelines import config
from pipelines.errors import UserError

if TYPE_CHECKING:
    from pipelines.sandbox.generate import WorldInfo
    from pipelines.sandbox.server import SandboxHTTPServer

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """One line on stderr (the message is text, not rich markup: ``[sources.x]`` stays)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """Shows a :class:`UserError` as one line on stderr and exits with code 2."""

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except UserError as exc:
            print_error(str(exc))
            ctx.exit(2)


app = typer.Typer(
    cls=_Group,
    help="Archipelago: a local-first customer data platform for online retailers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    help="The simulated retailer and the emulated vendor APIs (no accounts, no internet).",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")

SCALES = ("S", "M", "L")


def _parse_scale(value: str) -> str:
    scale = value.strip().upper()
    if scale not in SCALES:
        raise UserError(f"unknown scale {value!r}: choose S (~5k people), M (~100k) or L (~1M)")
    return scale


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


@sandbox_app.command("generate")
def sandbox_generate(
    scale: str = typer.Option("S", help="S (~5,000 people), M (~100,000) or L (~1,000,000)."),
    seed: int = typer.Option(42, help="Random seed: same seed, scale and date, same files."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The world's clock, YYYY-MM-DD (default: a fixed date)."
    ),
) -> None:
    """Simulate the retailer and write the world and its ground truth under the data dir."""
    scale = _parse_scale(scale)
    clock = _parse_date(as_of, "--as-of")

    from pipelines.sandbox.generate import DEFAULT_AS_OF, generate_world

    clock = clock or DEFAULT_AS_OF
    root = config.paths().sandbox
    started = time.perf_counter()
    with console.status(f"Simulating the retailer (scale {scale}, seed {seed}, as of {clock})"):
        info = generate_world(root, scale=scale, seed=seed, as_of=clock)
    seconds = time.perf_counter() - started
    _print_world(info, title=f"World written to {root} in {seconds:.1f} s")


@sandbox_app.command("advance")
def sandbox_advance(
    days: int = typer.Option(1, min=1, help="How many days to move the world's clock forward."),
) -> None:
    """Move the served world forward: new people and orders, refunds, deliveries, archivals."""
    from pipelines.sandbox.generate import advance_world

    root = config.paths().sandbox
    with console.status(f"Advancing the world by {days} day(s)"):
        info = advance_world(root, days)
    _print_world(info, title=f"World advanced to {info.clock:%Y-%m-%d %H:%M} UTC")


@sandbox_app.command("export-pos")
def sandbox_export_pos() -> None:
    """Write the pop-up till's sales as daily CSV exports into the POS landing folder."""
    from pipelines.sandbox.pos_export import export_pos

    paths = config.paths()
    written = export_pos(paths.sandbox, paths.pos_landing)
    console.print(f"{len(written)} new POS export file(s) in {paths.pos_landing}")


@sandbox_app.command("serve")
def sandbox_serve(
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0: any free port)."),
    faults: float = typer.Option(
        0.0, help="Share of requests that fail (5xx, resets, cut bodies)."
    ),
    fault_seed: int = typer.Option(0, help="Seed of the fault sequence (same seed, same faults)."),
    rate_limits: str = typer.Option(
        "realistic", help="realistic (the vendors' limits), fast (20x) or off."
    ),
) -> None:
    """Serve every vendor API over HTTP on 127.0.0.1 until Ctrl-C."""
    from pipelines.sandbox.ratelimit import RateLimitMode
    from pipelines.sandbox.server import running_sandbox

    if not 0.0 <= faults <= 1.0:
        raise UserError(f"--faults {faults} is not a share: use a number from 0 to 1, e.g. 0.05")
    try:
        mode = RateLimitMode(rate_limits)
    except ValueError:
        raise UserError(f"--rate-limits {rate_limits!r}: choose realistic, fast or off") from None
    root = config.paths().sandbox
    if not (root / "world" / "meta.json").exists():
        raise UserError(f"no sandbox world in {root}: run `cdp sandbox generate` first")
    try:
        with running_sandbox(
            root, port=port, faults=faults, fault_seed=fault_seed, rate_limits=mode
        ) as server:
            _print_endpoints(server)
            console.print(f"faults: {faults:.0%} (seed {fault_seed}), rate limits: {mode.value}")
            _wait_for_stop()
    except OSError as exc:
        raise _cannot_listen(port, exc) from None
    console.print("Sandbox stopped.")


def _cannot_listen(port: int, exc: OSError) -> UserError:
    return UserError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): pick another --port")


def _print_endpoints(server: SandboxHTTPServer) -> None:
    table = Table(title=f"Sandbox APIs on {server.url} (Ctrl-C stops)")
    table.add_column("vendor")
    table.add_column("base URL")
    for vendor in server.emulators:
        table.add_row(vendor, server.base_url(vendor))
    console.print(table)


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


@app.command("ingest")
def ingest(
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="A source to run (repeatable; default: all)."
    ),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Drop the sources' raw tables and state, then load all."
    ),
    sandbox: str | None = typer.Option(
        None, "--sandbox", help="Point every source at the sandbox, e.g. http://127.0.0.1:8765."
    ),
    workers: int = typer.Option(
        config.INGEST_WORKERS, "--workers", min=1, help="Sources to run at once (1: one by one)."
    ),
) -> None:
    """Load raw data from every source (or those named) into the warehouse."""
    if not _ingest_and_report(source, full_refresh, sandbox, workers):
        raise typer.Exit(1)


def _ingest_and_report(
    sources: list[str] | None,
    full_refresh: bool,
    sandbox_url: str | None,
    workers: int = config.INGEST_WORKERS,
) -> bool:
    """Run the sources with progress and a summary table; True when every source succeeded."""
    from pipelines.ingest import SourceRun, resolve_sources, run_ingest

    names = [spec.name for spec in resolve_sources(sources)]
    status = console.status("")
    running: list[str] = []
    finished = 0

    def show() -> None:
        status.update(
            f"Ingesting [bold]{', '.join(running)}[/] ({finished}/{len(names)} sources done)"
        )

    def started(name: str) -> None:
        running.append(name)
        show()

    def done(run: SourceRun) -> None:
        nonlocal finished
        running.remove(run.source)
        finished += 1
        mark = "[green]ok[/]" if run.status == "succeeded" else "[red]failed[/]"
        console.print(f"{mark} {run.source}: {run.rows_total:,} rows in {run.seconds:.1f} s")
        show()

    with status:
        runs = run_ingest(
            names,
            full_refresh=full_refresh,
            sandbox_url=sandbox_url,
            workers=workers,
            on_start=started,
            on_done=done,
        )
    table = Table(title="Ingestion summary")
    for column in ("source", "status", "table", "rows", "seconds"):
        table.add_column(column, justify="right" if column in ("rows", "seconds") else "left")
    for run in runs:
        style = "green" if run.status == "succeeded" else "red"
        table.add_row(
            run.source, f"[{style}]{run.status}[/]", "", f"{run.rows_total:,}", f"{run.seconds:.1f}"
        )
        for name, count in run.rows.items():
            table.add_row("", "", name, f"{count:,}", "")
        if run.new_columns:
            table.add_row("", "", f"new columns: {', '.join(run.new_columns)}", "", "")
    console.print(table)
    failed = [run for run in runs if run.status != "succeeded"]
    for run in failed:
        print_error(f"{run.source}: {(run.error or '').splitlines()[0]}")
    return not failed


@app.command("transform")
def transform(
    select: list[str] | None = typer.Option(
        None, "--select", help="dbt node selection (repeatable; default: everything)."
    ),
) -> None:
    """Build the dbt models and tests, then publish the marts to the serving copy."""
    _transform_and_report(select)


def _transform_and_report(select: list[str] | None = None) -> None:
    from pipelines.transform import run_transform

    with console.status("Building the dbt project (dbt build)"):
        result = run_transform(select)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.nodes.items()))
    console.print(f"dbt build: {counts or 'nothing to build'} in {result.dbt_seconds:.1f} s")
    console.print(
        f"published {result.published_tables} tables to {config.paths().serving} "
        f"in {result.publish_seconds:.1f} s"
    )


@app.command("demo")
def demo(
    scale: str = typer.Option("S", help="Size of the simulated retailer: S, M or L."),
    seed: int = typer.Option(42, help="Random seed of the simulated retailer."),
    port: int = typer.Option(8765, help="Port of the sandbox APIs on 127.0.0.1."),
    regenerate: bool = typer.Option(
        False, "--regenerate", help="Simulate the retailer again even if a world exists."
    ),
) -> None:
    """The main job on the simulated retailer: simulate, serve the APIs, ingest every source,
    build the models; then keep the sandbox serving until Ctrl-C."""
    from pipelines.sandbox.generate import generate_world
    from pipelines.sandbox.pos_export import export_pos
    from pipelines.sandbox.server import running_sandbox

    scale = _parse_scale(scale)
    paths = config.paths()
    if regenerate or not (paths.world / "meta.json").exists():
        with console.status(f"Simulating the retailer (scale {scale}, seed {seed})"):
            generate_world(paths.sandbox, scale=scale, seed=seed)
    export_pos(paths.sandbox, paths.pos_landing)
    try:
        with running_sandbox(paths.sandbox, port=port, rate_limits="off") as server:
            _print_endpoints(server)
            ingested = _ingest_and_report(None, False, server.url)
            _transform_and_report()
            console.print(
                f"Warehouse: {paths.warehouse}  serving copy: {paths.serving}"
                + ("" if ingested else "  (some sources failed: see above)")
            )
            _wait_for_stop()
    except OSError as exc:
        raise _cannot_listen(port, exc) from None


def _print_world(info: WorldInfo, title: str) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in info.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"clock {info.clock:%Y-%m-%d %H:%M} UTC, seed {info.seed}, scale {info.scale}")


def main() -> None:
    """Entry point of the ``cdp`` console script."""
    config.configure_runtime()
    app()


if __name__ == "__main__":
    main()
