"""Klaviyo: profiles, consent over time, lists, campaigns, flows and email engagement events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from pipelines.sandbox.sim.calendar import black_friday
from pipelines.sandbox.sim.context import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Context,
    from_us,
    midnight_us,
    ts,
    ts_or_null,
)
from pipelines.sandbox.sim.ids import short_ids, ulids
from pipelines.sandbox.sim.noise import type_emails, type_first_names, type_last_names
from pipelines.sandbox.sim.people import Population

NEVER = np.iinfo(np.int64).max
AUDIENCE_SHARE = (0.05, 0.13)  # each campaign goes to this share (range) of eligible profiles
CLICK_GIVEN_OPEN = 0.12
UNSUBSCRIBE_GIVEN_OPEN = 0.012
SPONTANEOUS_UNSUBSCRIBE = 0.03  # subscribers who unsubscribe outside email (preference page)
VIP_ORDERS = 3
PHONE_SHARE = 0.3  # profiles that carry an SMS-ready phone number
METRICS = [
    ("Received Email", "Klaviyo"),
    ("Opened Email", "Klaviyo"),
    ("Clicked Email", "Klaviyo"),
    ("Unsubscribed", "Klaviyo"),
    ("Started Checkout", "Shopify"),
]
RECEIVED, OPENED, CLICKED, UNSUBSCRIBED, STARTED = range(5)
LISTS = [
    ("Newsletter", "double_opt_in"),
    ("VIP Customers", "single_opt_in"),
    ("Pop-up Shop Signups", "single_opt_in"),
]
NEWSLETTER, VIP, POPUP_LIST = range(3)
FLOWS = [
    ("Welcome Series", "Added to List", "live"),
    ("Abandoned Checkout", "Metric", "live"),
    ("Customer Winback", "Metric", "draft"),
]
WELCOME, ABANDONED = 0, 1
BLACK_FRIDAY_SUBJECT = "Black Friday starts now: 25% off everything"
SUBJECTS = [
    "New arrivals are here",
    "Back in stock: your favourites",
    "Weekend only: free shipping",
    "Our guide to layering for the season",
    "Meet the makers",
    "Last chance: spring sale",
    "The summer edit",
    "Staff picks this month",
    "A little something for you",
]


@dataclass(frozen=True)
class Marketing:
    """Klaviyo timeline tables and each person's consent history."""

    profiles: pl.DataFrame
    lists: pl.DataFrame
    members: pl.DataFrame
    metrics: pl.DataFrame
    campaigns: pl.DataFrame
    flows: pl.DataFrame
    events: pl.DataFrame
    subscribed_at: np.ndarray  # per person, NEVER if never subscribed
    unsubscribed_at: np.ndarray  # per person, NEVER if never unsubscribed
    confirmed: np.ndarray  # per person: double opt-in (newsletter signup)


@dataclass
class _Sends:
    """Email events collected so far: person, metric, time, campaign, flow step, checkout."""

    person: list[np.ndarray]
    metric: list[np.ndarray]
    time: list[np.ndarray]
    send: list[np.ndarray]  # received time of the send the event belongs to
    campaign: list[np.ndarray]
    step: list[np.ndarray]

    def add(
        self,
        person: np.ndarray,
        metric: int,
        time: np.ndarray,
        send: np.ndarray,
        campaign: int,
        step: int,
    ) -> None:
        """Append events of one kind from one send (compact dtypes: events are many)."""
        n = len(person)
        self.person.append(person.astype(np.int32))
        self.metric.append(np.full(n, metric, dtype=np.int8))
        self.time.append(time)
        self.send.append(send)
        self.campaign.append(np.full(n, campaign, dtype=np.int16))
        self.step.append(np.full(n, step, dtype=np.int8))


def _engage(
    rng: np.random.Generator,
    sends: _Sends,
    person: np.ndarray,
    received: np.ndarray,
    open_p: np.ndarray,
    campaign: int,
    step: int,
    click_p: float = CLICK_GIVEN_OPEN,
    open_at: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Record received/opened/clicked/unsubscribed events; returns who unsubscribed and when."""
    n = len(person)
    sends.add(person, RECEIVED, received, received, campaign, step)
    opened = rng.random(n) < open_p
    when = received + np.minimum(rng.exponential(4 * HOUR, n).astype(np.int64), 3 * DAY)
    if open_at is not None:
        when = np.where(open_at > 0, open_at, when)
    sends.add(person[opened], OPENED, when[opened], received[opened], campaign, step)
    clicked = opened & (rng.random(n) < click_p)
    click_at = when + rng.integers(10 * SECOND, 10 * MINUTE, n)
    sends.add(person[clicked], CLICKED, click_at[clicked], received[clicked], campaign, step)
    gone = opened & ~clicked & (rng.random(n) < UNSUBSCRIBE_GIVEN_OPEN)
    gone_at = when + rng.integers(10 * SECOND, 5 * MINUTE, n)
    sends.add(person[gone], UNSUBSCRIBED, gone_at[gone], received[gone], campaign, step)
    return person[gone], gone_at[gone]


def _campaign_dates(ctx: Context, rng: np.random.Generator) -> np.ndarray:
    """Send times: 2-4 campaigns a month on Tuesdays/Thursdays, plus Black Friday."""
    first = from_us(ctx.start_us).date().replace(day=1)
    last = from_us(ctx.horizon_us).date()
    times: list[int] = []
    month = first
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        days = [month + timedelta(days=i) for i in range((following - month).days)]
        slots = [d for d in days if d.weekday() in (1, 3)]
        count = int(rng.integers(2, 5))
        for index in sorted(rng.choice(len(slots), count, replace=False)):
            times.append(midnight_us(slots[index]) + 15 * HOUR)
        if month.month == 11:
            times.append(midnight_us(black_friday(month.year)) + 13 * HOUR)
        month = following
    found = np.array(sorted(times), dtype=np.int64)
    return found[(found >= ctx.start_us) & (found <= ctx.horizon_us)]


def simulate_marketing(
    ctx: Context,
    pop: Population,
    orders: pl.DataFrame,
    customers: pl.DataFrame,
    checkouts: pl.DataFrame,
    pos_people: np.ndarray,
) -> Marketing:
    """Simulate Klaviyo: who has a profile, who subscribes, what they receive and do."""
    rng = ctx.rng("marketing")
    people = pop.frame
    n = people.height
    persona = pop.col("persona")
    signup = pop.col("_signup")
    engage = pop.col("_engage")

    real = orders.filter(~pl.col("is_test"))
    o_person = real.get_column("person_id").to_numpy() - 1
    o_time = real.get_column("created_at").dt.epoch("us").to_numpy()
    first_web = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(first_web, o_person, o_time)
    k_person = checkouts.get_column("person_id").to_numpy() - 1
    k_time = checkouts.get_column("created_at").dt.epoch("us").to_numpy()
    first_checkout = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(first_checkout, k_person, k_time)
    created = np.minimum.reduce([signup, first_web, first_checkout])
    created = np.where(persona == "staff", NEVER, created)
    has_profile = created < NEVER

    optin = pop.col("_optin") & (first_web < NEVER)
    sub_at = np.where(signup < NEVER, signup, np.where(optin, first_web, NEVER))
    confirmed = signup < NEVER
    spontaneous = (sub_at < NEVER) & (rng.random(n) < SPONTANEOUS_UNSUBSCRIBE)
    unsub_at = np.where(spontaneous, sub_at + rng.integers(7 * DAY, 500 * DAY, n), NEVER).astype(
        np.int64
    )

    # list memberships
    vip_at = np.full(n, NEVER, dtype=np.int64)
    ranked = pl.DataFrame({"p": o_person, "t": o_time}).sort("p", "t")
    ranked = ranked.with_columns(k=pl.int_range(pl.len()).over("p")).filter(
        pl.col("k") == VIP_ORDERS - 1
    )
    vip_at[ranked.get_column("p").to_numpy()] = ranked.get_column("t").to_numpy()
    popup_signup = (persona == "subscriber_only") & (rng.random(n) < 0.2)
    popup_signup[pos_people] |= confirmed[pos_people]
    joins = {
        NEWSLETTER: np.where(~popup_signup, sub_at, NEVER),
        VIP: np.where(has_profile, vip_at, NEVER),
        POPUP_LIST: np.where(popup_signup, sub_at, NEVER),
    }
    sends = _Sends([], [], [], [], [], [])

    # flows: welcome series on joining the newsletter, abandoned checkout reminders
    joiners = np.flatnonzero(joins[NEWSLETTER] < NEVER)
    for step, delay in enumerate((5 * MINUTE, 3 * DAY)):
        received = joins[NEWSLETTER][joiners] + delay
        keep = unsub_at[joiners] > received
        who = joiners[keep]
        gone, when = _engage(rng, sends, who, received[keep], engage[who] * 1.4, -1, step)
        np.minimum.at(unsub_at, gone, when)
    recovered_at = checkouts.get_column("_recovered_at").dt.epoch("us").fill_null(NEVER).to_numpy()
    for step, delay in enumerate((HOUR, DAY)):
        received = k_time + delay
        keep = (sub_at[k_person] <= received) & (unsub_at[k_person] > received)
        keep &= recovered_at > received
        who, recv, rec = k_person[keep], received[keep], recovered_at[keep]
        will_recover = rec < NEVER
        # shoppers who come back open the reminder first; the others mostly ignore it, more so
        # the second time
        open_p = np.where(will_recover, 0.85, engage[who] * (0.8 if step == 0 else 0.5))
        open_at = np.where(
            will_recover,
            recv + ((rec - recv) * rng.uniform(0.05, 0.5, len(who))).astype(np.int64),
            0,
        )
        gone, when = _engage(
            rng, sends, who, recv, open_p, -1, 2 + step, click_p=0.35, open_at=open_at
        )
        np.minimum.at(unsub_at, gone, when)

    # campaigns, in send order, each to a sample of the list's subscribed members
    send_times = _campaign_dates(ctx, rng)
    c_list = np.where(rng.random(len(send_times)) < 0.8, NEWSLETTER, VIP)
    c_list = np.where(rng.random(len(send_times)) < 0.05, POPUP_LIST, c_list)
    for index, (when_sent, audience) in enumerate(zip(send_times, c_list, strict=True)):
        eligible = (joins[audience] <= when_sent) & (sub_at <= when_sent) & (unsub_at > when_sent)
        who = np.flatnonzero(eligible)
        share = rng.uniform(*AUDIENCE_SHARE) if audience == NEWSLETTER else 0.5
        who = who[rng.random(len(who)) < share]
        received = when_sent + rng.integers(0, 20 * MINUTE, len(who))
        gone, when = _engage(rng, sends, who, received, engage[who], index, -1)
        np.minimum.at(unsub_at, gone, when)

    # all email events, one row each
    events = pl.DataFrame(
        {
            "p": np.concatenate(sends.person),
            "m": np.concatenate(sends.metric),
            "t": np.concatenate(sends.time),
            "s": np.concatenate(sends.send),
            "c": np.concatenate(sends.campaign),
            "f": np.concatenate(sends.step),
        }
    )
    # Every send happened while its recipient was subscribed, and unsubscribe times only moved
    # earlier as sends were drawn: drop the sends that an earlier unsubscribe (found later) rules
    # out. The earliest unsubscribe's own send always survives, so ``unsub_at`` stays exact.
    events = events.filter(pl.col("s") < pl.lit(pl.Series(unsub_at)).gather(pl.col("p")))
    events = events.drop("s")
    started = pl.DataFrame(
        {
            "p": k_person.astype(np.int32),
            "m": np.full(len(k_person), STARTED, dtype=np.int8),
            "t": k_time,
            "c": np.full(len(k_person), -1, dtype=np.int16),
            "f": np.full(len(k_person), -1, dtype=np.int8),
            "checkout_id": checkouts.get_column("checkout_id"),
            "value_cents": checkouts.get_column("total_price_cents"),
        }
    ).filter(pl.lit(pl.Series(created[k_person] <= k_time)))
    events = pl.concat([events, started], how="diagonal_relaxed")
    return _tables(
        ctx,
        rng,
        pop,
        customers,
        events,
        has_profile,
        created,
        sub_at,
        unsub_at,
        confirmed,
        joins,
        send_times,
        c_list,
    )


def _tables(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    customers: pl.DataFrame,
    events: pl.DataFrame,
    has_profile: np.ndarray,
    created: np.ndarray,
    sub_at: np.ndarray,
    unsub_at: np.ndarray,
    confirmed: np.ndarray,
    joins: dict[int, np.ndarray],
    send_times: np.ndarray,
    c_list: np.ndarray,
) -> Marketing:
    """Assemble the Klaviyo tables from the simulated sends."""
    people = pop.frame
    n = people.height
    who = np.flatnonzero(has_profile)
    who = who[np.lexsort((who, created[who]))]
    profile_ids = ulids(rng, created[who])
    profile_of = pl.Series([None] * n, dtype=pl.String).scatter(who, profile_ids)
    first_customer = (
        customers.sort("created_at", "customer_id")
        .group_by("person_id", maintain_order=True)
        .first()
        .select(
            (pl.col("person_id") - 1).alias("p"),
            pl.col("customer_id").cast(pl.String).alias("external_id"),
            pl.col("created_at").alias("_external_at"),
        )
    )
    persona = pop.col("persona")
    named = (persona[who] != "subscriber_only") | (rng.random(len(who)) < 0.5)
    with_phone = pl.Series(rng.random(len(who)) < PHONE_SHARE)
    canon = people[who]
    profiles = (
        pl.DataFrame(
            {
                "profile_id": profile_ids,
                "person_id": who + 1,
                "p": who,
                "email": type_emails(rng, canon.get_column("email")),
                "phone_number": canon.get_column("phone").set(~with_phone, None),
                "first_name": type_first_names(rng, canon.get_column("first_name")).set(
                    pl.Series(~named), None
                ),
                "last_name": type_last_names(rng, canon.get_column("last_name")).set(
                    pl.Series(~named), None
                ),
                "city": canon.get_column("city").set(pl.Series(~named), None),
                "region": canon.get_column("province_code").set(pl.Series(~named), None),
                "zip": canon.get_column("zip").set(pl.Series(~named), None),
                "created": ts(created[who]),
                "_sub_at": ts_or_null(sub_at[who], sub_at[who] < NEVER),
                "_unsub_at": ts_or_null(unsub_at[who], unsub_at[who] < NEVER),
            }
        )
        .join(first_customer, on="p", how="left")
        .drop("p")
        .sort("profile_id")
    )

    list_ids = short_ids(rng, len(LISTS))
    lists = pl.DataFrame(
        {
            "list_id": list_ids,
            "name": [name for name, _ in LISTS],
            "opt_in_process": [process for _, process in LISTS],
            "created": ts(
                np.array(
                    [ctx.start_us - 200 * DAY, ctx.start_us - 150 * DAY, ctx.start_us + 140 * DAY]
                )
            ),
        }
    )
    members = []
    for index, joined in joins.items():
        member = np.flatnonzero((joined < NEVER) & has_profile)
        members.append(
            pl.DataFrame(
                {
                    "list_id": list_ids[index],
                    "profile_id": profile_of.gather(member),
                    "joined_at": ts(joined[member]),
                }
            )
        )
    member_table = pl.concat(members).sort("list_id", "profile_id")

    metric_ids = short_ids(rng, len(METRICS))
    metric_created = ctx.start_us - 400 * DAY
    metrics = pl.DataFrame(
        {
            "metric_id": metric_ids,
            "name": [name for name, _ in METRICS],
            "integration": [source for _, source in METRICS],
            "created": ts(np.full(len(METRICS), metric_created)),
            "updated": ts(np.full(len(METRICS), metric_created)),
        }
    )

    m = len(send_times)
    c_created = send_times - rng.integers(2 * DAY, 10 * DAY, m)
    c_scheduled = send_times - rng.integers(HOUR, 2 * DAY, m)
    campaign_ids = ulids(rng, c_created)
    subjects = np.array(SUBJECTS)[rng.integers(0, len(SUBJECTS), m)]
    days = [from_us(int(t)).date() for t in send_times]
    on_black_friday = np.array([d == black_friday(d.year) for d in days], dtype=bool)
    subjects = np.where(on_black_friday, BLACK_FRIDAY_SUBJECT, subjects)
    sent_dates = ts(send_times).dt.strftime("%Y-%m-%d")
    campaigns = pl.DataFrame(
        {
            "campaign_id": campaign_ids,
            "name": sent_dates + " " + pl.Series(subjects),
            "channel": "email",
            "subject": pl.Series(subjects),
            "list_id": list_ids.gather(c_list),
            "send_time": ts(send_times),
            "created_at": ts(c_created),
            "scheduled_at": ts(c_scheduled),
        }
    )
    message_ids = short_ids(rng, m + 4)  # one message per campaign, then per flow step

    flow_ids = short_ids(rng, len(FLOWS))
    flows = pl.DataFrame(
        {
            "flow_id": flow_ids,
            "name": [name for name, _, _ in FLOWS],
            "trigger_type": [trigger for _, trigger, _ in FLOWS],
            "status": [status for _, _, status in FLOWS],
            "created": ts(
                np.array(
                    [ctx.start_us - 300 * DAY, ctx.start_us - 250 * DAY, ctx.start_us + 400 * DAY]
                )
            ),
        }
    ).with_columns(updated=pl.col("created"))

    # events: built in time order so that their ULIDs come out sorted; ids repeated from small
    # tables are stored as enums (cast to strings at the cut) because events are the largest
    # table, and the profile as the person (its profile_id is joined in at the cut)
    step_flow = np.array([WELCOME, WELCOME, ABANDONED, ABANDONED])
    events = events.sort("t", "p", "m")
    times = events.get_column("t").to_numpy()
    person = events.get_column("p").to_numpy()
    campaign = events.get_column("c").to_numpy()
    step = events.get_column("f").to_numpy()
    message = np.where(campaign >= 0, campaign, np.where(step >= 0, m + step, -1))

    def enum(codes: np.ndarray, categories: pl.Series) -> pl.Series:
        present = codes >= 0
        physical = pl.Series(np.where(present, codes, 0).astype(np.uint32))
        return physical.cat.to(pl.Enum(categories)).set(pl.Series(~present), None)

    frame = pl.DataFrame(
        {
            "event_id": ulids(rng, times),
            "metric_id": enum(events.get_column("m").to_numpy(), metric_ids),
            "_person_id": (person + 1).astype(np.int32),  # profile_id is joined in at the cut
            "datetime": ts(times),
            "campaign_id": enum(campaign, campaign_ids),
            "flow_id": enum(np.where(step >= 0, step_flow[np.maximum(step, 0)], -1), flow_ids),
            "message_id": enum(message, message_ids),
            "checkout_id": events.get_column("checkout_id"),
            "value_cents": events.get_column("value_cents"),
        }
    )
    return Marketing(
        profiles=profiles,
        lists=lists.with_columns(updated=pl.col("created")),
        members=member_table,
        metrics=metrics,
        campaigns=campaigns,
        flows=flows,
        events=frame,
        subscribed_at=sub_at,
        unsubscribed_at=unsub_at,
        confirmed=confirmed,
    )
