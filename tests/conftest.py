"""Suite-wide settings and the shared small world."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before any project import reads it: the suite never writes into the repository's data/.
os.environ.setdefault("CDP_DATA_DIR", tempfile.mkdtemp(prefix="cdp-test-data-"))

from pipelines import config

config.configure_runtime()

WORLD_PEOPLE = 900
WORLD_SEED = 7


@pytest.fixture(scope="session")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated sandbox (world/ and truth/), shared read-only by the whole session."""
    from pipelines.sandbox.generate import generate_world

    root = tmp_path_factory.mktemp("sandbox")
    generate_world(root, people=WORLD_PEOPLE, seed=WORLD_SEED)
    return root
