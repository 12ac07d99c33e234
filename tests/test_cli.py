"""The `cdp` command line through typer's CliRunner: help, happy paths, clear one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def _one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_cli_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "sandbox" in result.output
    sandbox_help = runner.invoke(app, ["sandbox", "--help"])
    for command in ("generate", "serve", "advance", "export-pos"):
        assert command in sandbox_help.output


@pytest.mark.parametrize("command", ["generate", "serve", "advance", "export-pos"])
def test_cli_every_sandbox_command_has_help(command: str) -> None:
    result = runner.invoke(app, ["sandbox", command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_cli_generate_rejects_an_unknown_scale() -> None:
    line = _one_line_error(["sandbox", "generate", "--scale", "XL"])
    assert "unknown scale 'XL'" in line and "S" in line and "M" in line and "L" in line


def test_cli_generate_rejects_a_bad_date() -> None:
    line = _one_line_error(["sandbox", "generate", "--as-of", "2026-13-01"])
    assert "--as-of '2026-13-01' is not a date" in line and "YYYY-MM-DD" in line


def test_cli_serve_rejects_a_fault_rate_above_one() -> None:
    assert "--faults" in _one_line_error(["sandbox", "serve", "--faults", "5"])


def test_cli_serve_rejects_an_unknown_rate_limit_mode() -> None:
    assert "realistic, fast or off" in _one_line_error(["sandbox", "serve", "--rate-limits", "x"])


def test_cli_serve_without_a_world_says_to_generate_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path))
    assert "cdp sandbox generate" in _one_line_error(["sandbox", "serve", "--port", "0"])


def test_cli_generate_then_advance_writes_the_world(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["sandbox", "generate", "--scale", "S", "--seed", "3"])
    assert result.exit_code == 0, result.output
    meta = (tmp_path / "sandbox" / "world" / "meta.json").read_text()
    assert '"seed": 3' in meta
    advanced = runner.invoke(app, ["sandbox", "advance", "--days", "2"])
    assert advanced.exit_code == 0, advanced.output
    assert "2026-11-02" in advanced.output


def test_cli_advance_without_a_world_says_to_generate_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path))
    assert "generate" in _one_line_error(["sandbox", "advance", "--days", "1"])
