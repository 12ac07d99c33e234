"""Suite-wide settings: every file the tests write goes under a temporary data dir."""

from __future__ import annotations

import os
import tempfile

# Before any project import reads it: the suite never writes into the repository's data/.
os.environ.setdefault("CDP_DATA_DIR", tempfile.mkdtemp(prefix="cdp-test-data-"))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
