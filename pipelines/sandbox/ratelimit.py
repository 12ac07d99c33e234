"""Rate limiting primitives for the emulators (token buckets on a monotonic clock)."""

from __future__ import annotations

import threading
import time
from enum import StrEnum


class RateLimitMode(StrEnum):
    """How strictly the emulators limit request rates."""

    REALISTIC = "realistic"  # the vendor's published limits
    FAST = "fast"  # same mechanisms, limits x FAST_FACTOR: throttling still shows, tests stay quick
    OFF = "off"  # never throttle


FAST_FACTOR = 20.0


class TokenBucket:
    """A leaky/token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = capacity
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if available; False (nothing taken) when the bucket is short."""
        with self._lock:
            self._refill()
            if self._tokens >= cost:
                self._tokens -= cost
                return True
            return False

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def seconds_until(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available."""
        with self._lock:
            self._refill()
            return max(0.0, (cost - self._tokens) / self.rate) if self.rate else float("inf")


def scaled_bucket(mode: RateLimitMode, capacity: float, rate: float) -> TokenBucket | None:
    """A bucket for the mode: the vendor's numbers, FAST_FACTOR times them, or None (off)."""
    if mode is RateLimitMode.OFF:
        return None
    factor = FAST_FACTOR if mode is RateLimitMode.FAST else 1.0
    return TokenBucket(capacity * factor, rate * factor)
