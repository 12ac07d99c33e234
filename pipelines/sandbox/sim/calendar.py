"""Seasonality: daily demand (weekday, month, Black Friday, promotions), hours, pop-up days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from pipelines.sandbox.sim.context import (
    DAY,
    FUTURE_DAYS,
    HISTORY_DAYS,
    HOUR,
    MINUTE,
    Context,
    midnight_us,
)

MONTH_FACTOR = np.array([0.8, 0.78, 0.9, 0.95, 1.0, 0.95, 0.92, 0.97, 1.0, 1.05, 1.3, 1.55])
WEEKDAY_FACTOR = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.9, 1.1])  # Monday first
# Share of a day's orders per UTC hour: US evenings (00-04 UTC) peak, US nights (07-12) trough.
HOUR_WEIGHT = np.array(
    [9, 8, 7, 5, 3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 7, 7, 8, 9], dtype=float
)
POPUP_OPENS_AFTER_DAYS = 150  # the pop-up shop opens this long after the start of the history
POPUP_HOURS_UTC = (15, 23)  # 10:00-18:00 US Eastern


@dataclass(frozen=True)
class Promotion:
    """A discount code valid (and advertised) on a window of days."""

    code: str
    percent: int
    first_day: date
    last_day: date
    boost: float  # demand multiplier on the window


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + timedelta(days=1)


def promotions(first_year: int, last_year: int) -> list[Promotion]:
    """The shop's recurring promotions in the given years."""
    found: list[Promotion] = []
    for year in range(first_year, last_year + 1):
        friday = black_friday(year)
        found += [
            Promotion("SPRING20", 20, date(year, 4, 8), date(year, 4, 14), 1.5),
            Promotion("SUMMER15", 15, date(year, 7, 8), date(year, 7, 14), 1.4),
            Promotion("BFCM25", 25, friday, friday + timedelta(days=3), 2.6),
            Promotion("HOLIDAY15", 15, date(year, 12, 1), date(year, 12, 18), 1.2),
        ]
    return found


EVERGREEN_CODES = {"WELCOME10": 10, "THANKYOU10": 10}


class Calendar:
    """Daily demand curves over the whole timeline and samplers of event times."""

    def __init__(self, ctx: Context) -> None:
        self.first_day = ctx.as_of - timedelta(days=HISTORY_DAYS + 7)
        n_days = HISTORY_DAYS + FUTURE_DAYS + 14
        self.day0_us = midnight_us(self.first_day)
        days = [self.first_day + timedelta(days=i) for i in range(n_days)]
        months = np.array([d.month for d in days])
        weekdays = np.array([d.weekday() for d in days])
        demand = MONTH_FACTOR[months - 1] * WEEKDAY_FACTOR[weekdays]
        self.promotions = promotions(days[0].year, days[-1].year)
        self.promo_of_day = np.full(n_days, -1, dtype=np.int64)
        for index, promo in enumerate(self.promotions):
            lo = (promo.first_day - self.first_day).days
            hi = (promo.last_day - self.first_day).days + 1
            if hi <= 0 or lo >= n_days:
                continue
            lo, hi = max(lo, 0), min(hi, n_days)
            demand[lo:hi] *= promo.boost
            self.promo_of_day[lo:hi] = index
        for i, d in enumerate(days):
            if d.month == 12 and 24 <= d.day <= 26:
                demand[i] *= 0.55
            if d == black_friday(d.year):
                demand[i] *= 1.5  # Black Friday itself, on top of the BFCM boost
        growth = 1.0 + 0.6 * np.arange(n_days) / n_days
        self.edges_us = self.day0_us + np.arange(n_days + 1, dtype=np.int64) * DAY
        self._cum = {
            "orders": np.concatenate([[0.0], np.cumsum(demand)]),
            "joins": np.concatenate([[0.0], np.cumsum(demand * growth)]),
        }
        hour_cdf = np.concatenate([[0.0], np.cumsum(HOUR_WEIGHT)])
        self._hour_cdf = hour_cdf / hour_cdf[-1]
        self._hour_grid = np.arange(25, dtype=float) / 24.0
        popup_from = ctx.start_us + POPUP_OPENS_AFTER_DAYS * DAY
        open_day = (weekdays >= 4) | ((months == 12) & (np.array([d.day for d in days]) <= 23))
        open_day |= np.array([d == black_friday(d.year) for d in days])
        self.popup_open_from_us = popup_from
        self.popup_days_us = self.edges_us[:-1][open_day & (self.edges_us[:-1] >= popup_from)]

    def day_index(self, times_us: np.ndarray) -> np.ndarray:
        """Index of each timestamp's day in the calendar."""
        return (times_us - self.day0_us) // DAY

    def weight(self, lo_us: int, hi_us: int, kind: str = "orders") -> float:
        """The demand curve's mass between two times (``orders`` or ``joins``)."""
        cum, edges = self._cum[kind], self.edges_us.astype(float)
        return float(np.interp(hi_us, edges, cum) - np.interp(lo_us, edges, cum))

    def sample(
        self, rng: np.random.Generator, lo_us: np.ndarray, hi_us: np.ndarray, kind: str = "orders"
    ) -> np.ndarray:
        """Random times in [lo, hi] following the demand curve (``orders`` or ``joins``)."""
        cum = self._cum[kind]
        edges = self.edges_us.astype(float)
        lo_c = np.interp(lo_us.astype(float), edges, cum)
        hi_c = np.interp(hi_us.astype(float), edges, cum)
        u = lo_c + rng.random(len(lo_us)) * (hi_c - lo_c)
        raw = np.interp(u, cum, edges)
        day_start = np.floor((raw - self.day0_us) / DAY) * DAY + self.day0_us
        frac = np.interp(rng.random(len(lo_us)), self._hour_cdf, self._hour_grid)
        shaped = day_start + frac * DAY
        return np.clip(shaped, lo_us, hi_us).astype(np.int64)

    def promo_at(self, times_us: np.ndarray) -> np.ndarray:
        """Index into ``promotions`` of the promotion running at each time, or -1."""
        index = np.clip(self.day_index(times_us), 0, len(self.promo_of_day) - 1)
        return self.promo_of_day[index]

    def popup_time(
        self, rng: np.random.Generator, times_us: np.ndarray, not_before: np.ndarray
    ) -> np.ndarray:
        """Each time moved to the nearest pop-up opening day (not before ``not_before``)."""
        days = self.popup_days_us
        pos = np.clip(np.searchsorted(days, times_us), 1, len(days) - 1)
        before, after = days[pos - 1], days[pos]
        lo, hi = POPUP_HOURS_UTC
        before = np.where(before + hi * HOUR <= not_before, after, before)
        day = np.where(times_us - before <= after - times_us, before, after)
        moment = day + rng.integers(lo * HOUR, hi * HOUR, len(times_us))
        return np.maximum(moment, not_before + MINUTE)
