"""Fixtures for the emulator conformance suites: one small generated world per test session,
one server over it, and a clean write-side state and request log for every test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.sandbox.generate import generate_world
from pipelines.sandbox.server import SandboxHTTPServer, running_sandbox

WORLD_PEOPLE = 900
WORLD_SEED = 7


@pytest.fixture(scope="session")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated sandbox (world/ and truth/), shared read-only by the whole session."""
    root = tmp_path_factory.mktemp("sandbox")
    generate_world(root, people=WORLD_PEOPLE, seed=WORLD_SEED)
    return root


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
