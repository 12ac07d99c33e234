"""Injected faults: deterministic for a seed, so a faulty run can be replayed exactly.

Whether a request fails depends only on the seed, the request (method, path, query, body) and how
many times that same request was seen before. So a client's retry of a failed call sees a fresh
draw, and the sequence of faults is the same on every run whatever the thread interleaving.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from pipelines.sandbox.http import Request


class FaultKind(StrEnum):
    HTTP_500 = "500"
    HTTP_502 = "502"
    HTTP_503 = "503"
    SLOW = "slow"  # answer normally after FaultPlan.slow_seconds
    RESET = "reset"  # close the connection without an answer
    TRUNCATED = "truncated"  # send the headers and half the body, then close


# Share of each kind among injected faults (cumulative order matters for the draw).
FAULT_MIX: tuple[tuple[FaultKind, float], ...] = (
    (FaultKind.HTTP_500, 0.20),
    (FaultKind.HTTP_502, 0.15),
    (FaultKind.HTTP_503, 0.15),
    (FaultKind.SLOW, 0.15),
    (FaultKind.RESET, 0.15),
    (FaultKind.TRUNCATED, 0.20),
)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    after_apply: bool  # on a write: the change is applied before the fault (the client can't tell)


class FaultPlan:
    """Decides, per request, whether and how it fails."""

    def __init__(self, rate: float = 0.0, seed: int = 0, slow_seconds: float = 1.5) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {rate}")
        self.rate = rate
        self.seed = seed
        self.slow_seconds = slow_seconds
        self._seen: Counter[bytes] = Counter()
        self._lock = threading.Lock()

    def draw(self, request: Request) -> Fault | None:
        """The fault for this request, or None."""
        if self.rate == 0.0:
            return None
        key = hashlib.blake2b(digest_size=16)
        for part in (request.method, request.path, repr(sorted(request.query.items()))):
            key.update(part.encode())
        key.update(request.body)
        digest = key.digest()
        with self._lock:
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        roll = hashlib.blake2b(
            digest + occurrence.to_bytes(8, "big") + self.seed.to_bytes(8, "big", signed=True),
            digest_size=16,
        ).digest()
        unit = int.from_bytes(roll[:8], "big") / 2**64
        if unit >= self.rate:
            return None
        pick = int.from_bytes(roll[8:15], "big") / 2**56
        after_apply = bool(roll[15] & 1)
        cumulative = 0.0
        for kind, share in FAULT_MIX:
            cumulative += share
            if pick < cumulative:
                return Fault(kind, after_apply)
        return Fault(FAULT_MIX[-1][0], after_apply)
