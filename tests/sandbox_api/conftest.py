"""Fixtures for the emulator conformance suites: one server over the session's small world
(``world_root``, tests/conftest.py), with clean write-side state and request log per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox


@pytest.fixture
def fresh_world(world_root: Path, tmp_path: Path) -> Path:
    """A private copy of the world, for tests that advance it or write to it."""
    root = tmp_path / "sandbox"
    shutil.copytree(world_root, root, ignore=shutil.ignore_patterns("state"))
    return root


@pytest.fixture(scope="session")
def _session_server(world_root: Path) -> Iterator[SandboxHTTPServer]:
    with running_sandbox(world_root, rate_limits="off") as server:
        yield server


@pytest.fixture
def sandbox(_session_server: SandboxHTTPServer) -> SandboxHTTPServer:
    """The shared server (no rate limits, no faults) with empty write state and request log."""
    _session_server.ctx.state.reset()
    _session_server.log.clear()
    return _session_server
