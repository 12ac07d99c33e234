"""The ``cdp`` command line (typer + rich)."""

from __future__ import annotations

import signal
import threading
import time
from datetime import date

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from pipelines import config
from pipelines.errors import UserError

console = Console()
err_console = Console(stderr=True)


class _Group(TyperGroup):
    """Shows a :class:`UserError` as one line on stderr and exits with code 2."""

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except UserError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
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
    _print_world(
        info.meta, title=f"World written to {root} in {time.perf_counter() - started:.1f} s"
    )


@sandbox_app.command("advance")
def sandbox_advance(
    days: int = typer.Option(1, min=1, help="How many days to move the world's clock forward."),
) -> None:
    """Move the served world forward: new people and orders, refunds, deliveries, archivals."""
    from pipelines.sandbox.generate import advance_world

    root = config.paths().sandbox
    with console.status(f"Advancing the world by {days} day(s)"):
        info = advance_world(root, days)
    _print_world(info.meta, title=f"World advanced to {info.meta['clock']}")


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
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with running_sandbox(
            root, port=port, faults=faults, fault_seed=fault_seed, rate_limits=mode
        ) as server:
            table = Table(title=f"Sandbox APIs on {server.url} (Ctrl-C stops)")
            table.add_column("vendor")
            table.add_column("base URL")
            for vendor in server.emulators:
                table.add_row(vendor, server.base_url(vendor))
            console.print(table)
            console.print(f"faults: {faults:.0%} (seed {fault_seed}), rate limits: {mode.value}")
            stop.wait()
    except OSError as exc:
        raise UserError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): pick --port"
        ) from None
    except KeyboardInterrupt:
        pass
    console.print("Sandbox stopped.")


def _print_world(meta: dict[str, object], title: str) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    rows = meta.get("rows", {})
    assert isinstance(rows, dict)
    for name, count in rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"clock {meta.get('clock')}, seed {meta.get('seed')}, scale {meta.get('scale')}")


def main() -> None:
    """Entry point of the ``cdp`` console script."""
    config.configure_runtime()
    app()
