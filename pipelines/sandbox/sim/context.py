"""Simulation parameters, time helpers and independent random streams per module."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

SCALES: dict[str, int] = {"S": 5_000, "M": 100_000, "L": 1_000_000}
DEFAULT_AS_OF = date(2026, 10, 31)
HISTORY_DAYS = 730
FUTURE_DAYS = 365

SECOND = 1_000_000  # timestamps are int64 microseconds since the Unix epoch, UTC
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

SHOP_DOMAIN = "tidewatersupply.com"
CURRENCY = "USD"


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def from_us(value: int) -> datetime:
    """The aware UTC datetime of a microsecond timestamp."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def midnight_us(day: date) -> int:
    """Microseconds since the epoch of a date's midnight, UTC."""
    return to_us(datetime(day.year, day.month, day.day, tzinfo=UTC))


def ts(values: np.ndarray) -> pl.Series:
    """A UTC datetime series (whole seconds) from int64 microseconds."""
    seconds = values.astype(np.int64) // SECOND * SECOND
    return pl.Series(seconds).cast(pl.Datetime("us", "UTC"))


def ts_or_null(values: np.ndarray, present: np.ndarray) -> pl.Series:
    """A UTC datetime series (whole seconds) that is null where ``present`` is false."""
    return ts(values).set(pl.Series(~present), None)


@dataclass(frozen=True)
class Context:
    """The knobs of one simulation: seed, scale, people at ``as_of`` and the time window."""

    seed: int
    scale: str
    people: int
    as_of: date

    @property
    def clock_us(self) -> int:
        """The default served clock: midnight (UTC) at the start of ``as_of``."""
        return midnight_us(self.as_of)

    @property
    def start_us(self) -> int:
        """Start of the simulated history."""
        return self.clock_us - HISTORY_DAYS * DAY

    @property
    def horizon_us(self) -> int:
        """End of the hidden timeline: the clock may advance up to here."""
        return self.clock_us + FUTURE_DAYS * DAY

    def rng(self, name: str) -> np.random.Generator:
        """An independent random stream for one module or purpose, derived from the seed."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        return np.random.default_rng(np.random.SeedSequence([self.seed, key]))


def make_context(scale: str, seed: int, as_of: date, people: int | None) -> Context:
    """Validate the parameters and build the context."""
    if scale not in SCALES:
        raise ValueError(f"unknown sandbox scale {scale!r}: choose one of {sorted(SCALES)}")
    count = SCALES[scale] if people is None else int(people)
    if count < 50:
        raise ValueError(f"a sandbox world needs at least 50 people, got {count}")
    return Context(seed=int(seed), scale=scale, people=count, as_of=as_of)
