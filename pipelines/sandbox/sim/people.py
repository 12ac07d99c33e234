"""The people behind every record: canonical identity, household, persona and behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.calendar import Calendar
from pipelines.sandbox.sim.context import DAY, HOUR, MINUTE, SHOP_DOMAIN, Context, ts
from pipelines.sandbox.sim.names import AREA_CODES, EMAIL_DOMAINS, pools, sample
from pipelines.sandbox.sim.noise import NOISE_RATES

STAFF = 4  # shop staff who place the occasional test order
WHOLESALE_SHARE = 0.012
SUBSCRIBER_SHARE = 0.12
BROWSER_SHARE = 0.12  # shoppers who only ever abandon checkouts
PHONE_SHARE = 0.88
SIGNUP_SHARE = 0.15  # shoppers who join the newsletter before their first order
OPTIN_SHARE = 0.45  # buyers who tick "email me news and offers" at their first web order

# Channel mixes of buyers: (share, web weight, amazon weight, pos weight).
CHANNEL_MIXES = np.array(
    [
        [0.58, 1.0, 0.0, 0.0],
        [0.16, 0.0, 1.0, 0.0],
        [0.06, 0.0, 0.0, 1.0],
        [0.10, 0.6, 0.4, 0.0],
        [0.06, 0.7, 0.0, 0.3],
        [0.01, 0.0, 0.7, 0.3],
        [0.03, 0.5, 0.3, 0.2],
    ]
)
# Purchase frequency classes: (share, orders per year after the first, mean active days).
FREQUENCY = np.array([[0.52, 0.0, 0.0], [0.34, 1.3, 540.0], [0.14, 5.0, 900.0]])
EMAIL_PATTERNS = np.array([0.30, 0.15, 0.15, 0.05, 0.10, 0.10, 0.05, 0.10])


@dataclass(frozen=True)
class Population:
    """All people of the timeline (``frame``: the ``people`` table plus ``_`` behaviour columns)."""

    frame: pl.DataFrame

    def col(self, name: str) -> np.ndarray:
        """A column as a numpy array."""
        return self.frame.get_column(name).to_numpy()


def _join_times(ctx: Context, cal: Calendar, rng: np.random.Generator) -> np.ndarray:
    """Join times: ``ctx.people`` before the clock, and more at the same pace up to the horizon."""
    before = cal.weight(ctx.start_us, ctx.clock_us, "joins")
    after = cal.weight(ctx.clock_us, ctx.horizon_us, "joins")
    n_before = ctx.people - STAFF
    n_after = round(n_before * after / before)
    early = cal.sample(
        rng, np.full(n_before, ctx.start_us), np.full(n_before, ctx.clock_us - 1), "joins"
    )
    late = cal.sample(
        rng, np.full(n_after, ctx.clock_us), np.full(n_after, ctx.horizon_us), "joins"
    )
    return np.sort(np.concatenate([np.full(STAFF, ctx.start_us), early, late]))


def _unique_emails(rng: np.random.Generator, local: pl.Series, domain: pl.Series) -> pl.Series:
    """``local@domain``, with digits appended where two people would share a normalised address."""
    frame = pl.DataFrame({"local": local, "domain": domain})
    while True:
        key = (
            pl.when(pl.col("domain") == "gmail.com")
            .then(pl.col("local").str.replace_all(".", "", literal=True))
            .otherwise(pl.col("local"))
            + "@"
            + pl.col("domain")
        )
        clash = frame.select(~key.is_first_distinct()).to_series().to_numpy()
        if not clash.any():
            break
        suffix = pl.Series(rng.integers(1, 1000, frame.height)).cast(pl.String)
        frame = frame.with_columns(
            pl.when(pl.lit(pl.Series(clash)))
            .then(pl.col("local") + pl.lit(suffix))
            .otherwise(pl.col("local"))
            .alias("local")
        )
    return frame.select(pl.col("local") + "@" + pl.col("domain")).to_series()


def _unique_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct 10-digit North American numbers (area code, exchange 200-999, line)."""

    def draw(k: int) -> np.ndarray:
        area = AREA_CODES[rng.integers(0, len(AREA_CODES), k)]
        return area * 10**7 + rng.integers(200, 1000, k) * 10**4 + rng.integers(0, 10**4, k)

    numbers = draw(n)
    while True:
        _, first = np.unique(numbers, return_index=True)
        again = np.ones(n, dtype=bool)
        again[first] = False
        if not again.any():
            return numbers
        numbers[again] = draw(int(again.sum()))


def _households(rng: np.random.Generator, eligible: np.ndarray, n: int) -> np.ndarray:
    """Per person, the index of the household's first member (whose landline they share).

    People are in join order, and a household's members are picked next to each other in that
    order (they join within days of each other), so the share of people in shared-phone
    households holds at any clock.
    """
    household = np.arange(n, dtype=np.int64)
    target = round(NOISE_RATES["household_phone"] * n)
    sizes = rng.choice([2, 3, 4], size=max(target // 2, 1), p=[0.6, 0.3, 0.1])
    sizes = sizes[np.cumsum(sizes) <= min(target, int(eligible.sum()))]
    candidates = np.flatnonzero(eligible)
    members = np.sort(rng.choice(candidates, int(sizes.sum()), replace=False))
    group = np.repeat(np.arange(len(sizes)), sizes)
    heads = members[np.concatenate([[0], np.cumsum(sizes)[:-1]])] if len(sizes) else members
    household[members] = heads[group]
    return household


def simulate_people(ctx: Context, cal: Calendar) -> Population:
    """Draw everyone who ever appears on the timeline, with canonical identifiers."""
    rng = ctx.rng("people")
    pool = pools()
    joined = _join_times(ctx, cal, rng)
    n = len(joined)
    persona = np.where(
        rng.random(n) < WHOLESALE_SHARE,
        "wholesale",
        np.where(rng.random(n) < SUBSCRIBER_SHARE, "subscriber_only", "shopper"),
    ).astype(object)
    persona[:STAFF] = "staff"
    female = rng.random(n) < 0.52
    first = pl.Series(
        np.where(
            female,
            sample(rng, pool.first_female, n).to_numpy(),
            sample(rng, pool.first_male, n).to_numpy(),
        )
    )
    last = sample(rng, pool.last, n).to_numpy()
    place = rng.integers(0, len(pool.city), n)
    has_phone = (rng.random(n) < PHONE_SHARE) | (persona == "wholesale") | (persona == "staff")
    head = _households(rng, has_phone & (persona != "staff") & (persona != "wholesale"), n)
    shares_head = head != np.arange(n)
    same_name = shares_head & (rng.random(n) < 0.7)
    last = np.where(same_name, last[head], last)
    place = place[head]

    letters = pl.DataFrame({"f": first, "l": pl.Series(last)}).select(
        pl.col("f").str.to_lowercase().str.replace_all("[^a-z]", ""),
        pl.col("l").str.to_lowercase().str.replace_all("[^a-z]", ""),
    )
    f, lname = pl.col("f"), pl.col("l")
    d2 = pl.lit(pl.Series(rng.integers(10, 100, n)).cast(pl.String))
    d4 = pl.lit(pl.Series(rng.integers(1, 10_000, n)).cast(pl.String))
    pattern = pl.lit(pl.Series(rng.choice(len(EMAIL_PATTERNS), n, p=EMAIL_PATTERNS)))
    shapes = [
        f + "." + lname,
        f + lname,
        f.str.slice(0, 1) + lname,
        f + "_" + lname,
        f + "." + lname + d2,
        f + d4,
        lname + "." + f,
        f + lname.str.slice(0, 1),
    ]
    local = letters.select(pl.concat_list(shapes).list.get(pattern).alias("local")).to_series()
    domains = np.array(list(EMAIL_DOMAINS), dtype=object)
    weights = np.array(list(EMAIL_DOMAINS.values()))
    domain = domains[rng.choice(len(domains), n, p=weights / weights.sum())]
    company = np.where(persona == "wholesale", rng.integers(0, len(pool.company), n), -1)
    work_local = letters.select(f + "." + lname).to_series()
    local = pl.Series(np.where(persona == "wholesale", work_local.to_numpy(), local.to_numpy()))
    domain = np.where(company >= 0, pool.company_domain.to_numpy()[np.maximum(company, 0)], domain)
    local = pl.Series(np.where(persona == "staff", letters["f"].to_numpy(), local.to_numpy()))
    domain = np.where(persona == "staff", SHOP_DOMAIN, domain)
    email = _unique_emails(rng, local, pl.Series(domain.astype(str)))

    digits = pl.Series(_unique_phones(rng, n)[head]).cast(pl.String)
    phone = ("+1" + digits).set(pl.Series(~has_phone[head]), None)

    # behaviour: channels, frequency, lifetime, marketing
    shopper = persona == "shopper"
    browser = shopper & (rng.random(n) < BROWSER_SHARE)
    buyer = shopper & ~browser
    mix = rng.choice(len(CHANNEL_MIXES), n, p=CHANNEL_MIXES[:, 0])
    mix = np.where(browser, 0, mix)
    freq = rng.choice(len(FREQUENCY), n, p=FREQUENCY[:, 0])
    rate = FREQUENCY[freq, 1] * np.exp(rng.normal(0.0, 0.45, n) - 0.1)
    first_gap = np.select(
        [rng.random(n) < 0.5, rng.random(n) < 0.7],
        [rng.integers(15 * MINUTE, 2 * HOUR, n), rng.integers(2 * HOUR, 3 * DAY, n)],
        rng.integers(3 * DAY, 60 * DAY, n),
    )
    signup = shopper & (rng.random(n) < SIGNUP_SHARE)
    first_gap = np.where(signup, rng.integers(1 * DAY, 60 * DAY, n), first_gap)
    first_order = joined + first_gap
    life = rng.exponential(1.0, n) * np.where(FREQUENCY[freq, 2] > 0, FREQUENCY[freq, 2], 1) * DAY
    active_until = np.minimum(first_order + life.astype(np.int64), ctx.horizon_us)
    active_until = np.maximum(active_until, first_order)
    extra = rng.poisson(rate * np.maximum(active_until - first_order, 0) / (365 * DAY))
    n_orders = np.where(buyer, 1 + extra, 0)
    subscribed = np.where(
        (persona == "subscriber_only") | signup, joined, np.iinfo(np.int64).max
    ).astype(np.int64)

    frame = pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "first_name": first,
            "last_name": pl.Series(last),
            "email": email,
            "phone": phone,
            "household_id": head + 1,
            "city": pool.city.gather(place),
            "province_code": pool.state.gather(place),
            "zip": pool.zip.gather(place),
            "country_code": "US",
            "persona": pl.Series(persona.astype(str)),
            "joined_at": ts(joined),
            "_joined": joined,
            "_mix": mix,
            "_freq": freq,
            "_n_orders": n_orders,
            "_first_order": first_order,
            "_active_until": active_until,
            "_signup": subscribed,
            "_optin": rng.random(n) < OPTIN_SHARE,
            "_engage": rng.beta(2.0, 4.5, n),
            "_company": company,
        }
    )
    return Population(frame=frame)
