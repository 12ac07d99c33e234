"""HubSpot: wholesale buyers with companies and deals, support callers with tickets, synced
shoppers and newsletter subscribers as contacts; notes and calls; some records archived."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.context import DAY, HOUR, MINUTE, SECOND, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import gapped_ids
from pipelines.sandbox.sim.names import pools
from pipelines.sandbox.sim.noise import type_emails, type_first_names, type_last_names, type_phones
from pipelines.sandbox.sim.people import Population

NEVER = np.iinfo(np.int64).max
INTEGRATION_AFTER_DAYS = 120  # the Shopify -> HubSpot integration is installed then
SYNCED_SHARE = 0.9  # accounts created after that which the integration syncs to HubSpot
TICKET_RATE = 0.04  # real web orders that lead to a support ticket
PROBLEM_TICKET_RATE = 0.6  # lost or returned parcels that lead to a ticket
SUBSCRIBER_CONTACT_SHARE = 0.8  # newsletter sign-ups captured by the HubSpot form
CART_LEAD_SHARE = 0.5  # shoppers whose abandoned cart the integration turns into a lead
STALE_ARCHIVE_RATE = 0.6  # leads and subscribers who never buy, archived in a clean-up
ARCHIVE_RATE = 0.02  # any other contact, archived at some point
INDUSTRIES = [
    "Retail",
    "Hospitality",
    "Sporting Goods",
    "Gift Shop",
    "Outdoor Recreation",
    "Hotel & Resort",
    "Museum Store",
]
TICKET_KINDS = [
    ("Where is my order {}?", "Customer asks for the delivery status of {}.", "MEDIUM"),
    ("Return request for {}", "Customer wants to return items from {}.", "LOW"),
    ("Damaged item in {}", "An item in {} arrived damaged; photos attached.", "MEDIUM"),
    ("Wrong size in {}", "Customer received the wrong size in {}.", "LOW"),
]
PROBLEM_KIND = ("Package lost or returned: {}", "Carrier shows a delivery problem for {}.", "HIGH")
DEAL_KINDS = ["Spring wholesale order", "Holiday wholesale order", "Restock", "Custom merch"]


@dataclass(frozen=True)
class Crm:
    """HubSpot timeline tables."""

    companies: pl.DataFrame
    contacts: pl.DataFrame
    deals: pl.DataFrame
    tickets: pl.DataFrame
    engagements: pl.DataFrame


def _earliest(n: int, person: np.ndarray, time: np.ndarray) -> np.ndarray:
    out = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(out, person, time)
    return out


def simulate_crm(
    ctx: Context,
    pop: Population,
    orders: pl.DataFrame,
    customers: pl.DataFrame,
    checkouts: pl.DataFrame,
    outcomes: pl.DataFrame,
    subscribed_at: np.ndarray,
    first_order_at: np.ndarray,
) -> Crm:
    """Simulate the CRM: contacts from five sources, one per person."""
    rng = ctx.rng("crm")
    people = pop.frame
    n = people.height
    persona = pop.col("persona")
    joined = pop.col("_joined")

    # support tickets about web orders
    real = orders.filter(~pl.col("is_test") & pl.col("cancelled_at").is_null()).join(
        outcomes, on="order_id", how="left"
    )
    problem = real.get_column("_outcome").is_in(["failure", "return_to_sender"]).to_numpy()
    asked = np.where(
        problem,
        rng.random(real.height) < PROBLEM_TICKET_RATE,
        rng.random(real.height) < TICKET_RATE,
    )
    t_orders = real.filter(pl.Series(asked))
    t_problem = problem[asked]
    t_created = np.where(
        t_problem,
        t_orders.get_column("_outcome_at").fill_null(0).to_numpy()
        + rng.integers(HOUR, 2 * DAY, t_orders.height),
        t_orders.get_column("created_at").dt.epoch("us").to_numpy()
        + rng.integers(2 * DAY, 20 * DAY, t_orders.height),
    )
    t_person = t_orders.get_column("person_id").to_numpy() - 1

    # synced accounts
    accounts = customers.filter(pl.col("state") == "ENABLED")
    a_created = accounts.get_column("created_at").dt.epoch("us").to_numpy()
    synced = (a_created >= ctx.start_us + INTEGRATION_AFTER_DAYS * DAY) & (
        rng.random(accounts.height) < SYNCED_SHARE
    )
    s_person = accounts.get_column("person_id").to_numpy()[synced] - 1
    s_time = a_created[synced] + rng.integers(MINUTE, 30 * MINUTE, int(synced.sum()))
    shopify_id = np.zeros(n, dtype=np.int64)
    shopify_id[s_person] = accounts.get_column("customer_id").to_numpy()[synced]

    # abandoned carts synced by the integration become leads
    k_time = checkouts.get_column("created_at").dt.epoch("us").to_numpy()
    k_person = checkouts.get_column("person_id").to_numpy() - 1
    first_cart = _earliest(n, k_person, k_time)
    cart_lead = (first_cart >= ctx.start_us + INTEGRATION_AFTER_DAYS * DAY) & (first_cart < NEVER)
    cart_lead &= rng.random(n) < CART_LEAD_SHARE
    cart_at = np.where(cart_lead, first_cart + rng.integers(MINUTE, 30 * MINUTE, n), NEVER)

    wholesale = persona == "wholesale"
    signed_up = pop.col("_signup") < NEVER
    subscriber = signed_up & (subscribed_at < NEVER) & (rng.random(n) < SUBSCRIBER_CONTACT_SHARE)
    first_call = _earliest(n, t_person, t_created)
    created = np.minimum.reduce(
        [
            np.where(wholesale, joined, NEVER),
            np.where(subscriber, subscribed_at, NEVER),
            _earliest(n, s_person, s_time),
            first_call,
            cart_at,
        ]
    )
    who = np.flatnonzero(created < NEVER)
    who = who[np.lexsort((who, created[who]))]
    m = len(who)
    contact_ids = gapped_ids(rng, m, 100, 120)
    contact_of = np.zeros(n, dtype=np.int64)
    contact_of[who] = contact_ids
    canon = people[who]
    # a contact first created by a support call may have only the caller's phone
    caller_only = (first_call[who] == created[who]) & ~wholesale[who]
    no_email = caller_only & (rng.random(m) < 0.15)
    email = type_emails(rng, canon.get_column("email")).str.strip_chars().str.to_lowercase()
    phone_p = np.where(caller_only, 0.9, np.where(wholesale[who], 0.9, 0.35))
    phone = type_phones(rng, canon.get_column("phone")).set(
        pl.Series(rng.random(m) >= phone_p), None
    )

    # wholesale companies and deals
    company_index = pop.col("_company")
    used = np.unique(company_index[wholesale])
    pool = pools()
    first_contact = np.full(len(used), NEVER, dtype=np.int64)
    np.minimum.at(first_contact, np.searchsorted(used, company_index[wholesale]), joined[wholesale])
    c_created = first_contact - rng.integers(HOUR, 5 * DAY, len(used))
    c_order = np.argsort(c_created, kind="stable")
    used, c_created = used[c_order], c_created[c_order]
    company_ids = gapped_ids(rng, len(used), 5_000_000_000, 5_000)
    c_archived = np.where(
        rng.random(len(used)) < 0.05,
        c_created + rng.integers(100 * DAY, 700 * DAY, len(used)),
        NEVER,
    )
    companies = pl.DataFrame(
        {
            "company_id": company_ids,
            "name": pool.company.gather(used),
            "domain": pool.company_domain.gather(used),
            "industry": np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), len(used))],
            "city": pool.city.gather(rng.integers(0, len(pool.city), len(used))),
            "createdate": ts(c_created),
            "archived_at": ts_or_null(c_archived, c_archived < NEVER),
        }
    )
    company_of = np.zeros(n, dtype=np.int64)
    rank = np.argsort(used)
    company_of[wholesale] = company_ids[rank][np.searchsorted(used[rank], company_index[wholesale])]

    w_people = np.flatnonzero(wholesale)
    n_deals = np.minimum(1 + rng.poisson(2.0, len(w_people)), 8)
    d_person = np.repeat(w_people, n_deals)
    d_created = joined[d_person] + (
        rng.random(len(d_person)) * (ctx.horizon_us - joined[d_person])
    ).astype(np.int64)
    first_deal = np.isin(np.arange(len(d_person)), np.cumsum(n_deals) - n_deals)
    d_created = np.where(
        first_deal, joined[d_person] + rng.integers(DAY, 30 * DAY, len(d_person)), d_created
    )
    d_order = np.argsort(d_created, kind="stable")
    d_person, d_created = d_person[d_order], d_created[d_order]
    k = len(d_person)
    d_close = d_created + rng.integers(10 * DAY, 60 * DAY, k)
    d_qualified = d_created + ((d_close - d_created) * rng.uniform(0.2, 0.6, k)).astype(np.int64)
    won = rng.random(k) < 0.55
    d_archived = np.where(rng.random(k) < 0.02, d_close + rng.integers(DAY, 90 * DAY, k), NEVER)
    kinds = np.array(DEAL_KINDS)[rng.integers(0, len(DEAL_KINDS), k)]
    deal_company = company_of[d_person]
    company_name = dict(zip(company_ids.tolist(), pool.company.gather(used).to_list(), strict=True))
    deals = pl.DataFrame(
        {
            "deal_id": gapped_ids(rng, k, 9_000_000_000, 3_000),
            "dealname": pl.Series(deal_company).replace_strict(company_name, return_dtype=pl.String)
            + " - "
            + pl.Series(kinds),
            "amount_cents": (np.exp(rng.normal(8.0, 0.8, k)) * 100).astype(np.int64) // 100 * 100,
            "pipeline": "default",
            "closedate": ts(d_close),
            "contact_id": contact_of[d_person],
            "company_id": deal_company,
            "createdate": ts(d_created),
            "archived_at": ts_or_null(d_archived, d_archived < NEVER),
            "_qualified_at": ts(d_qualified),
            "_final_stage": np.where(won, "closedwon", "closedlost"),
        }
    )
    opportunity_at = _earliest(n, d_person, d_created)
    won_at = _earliest(n, d_person[won], d_close[won])

    # lifecycle: wholesale lead -> opportunity -> customer; others subscriber/lead -> customer
    customer_at = np.where(wholesale, won_at, first_order_at)
    stage0 = np.where(wholesale, "lead", np.where(subscriber, "subscriber", "lead"))
    stale_at = created[who] + rng.integers(45 * DAY, 240 * DAY, m)
    stale = (customer_at[who] > stale_at) & (rng.random(m) < STALE_ARCHIVE_RATE)
    archived = np.where(
        stale,
        stale_at,
        np.where(
            rng.random(m) < ARCHIVE_RATE, created[who] + rng.integers(30 * DAY, 600 * DAY, m), NEVER
        ),
    )
    contacts = pl.DataFrame(
        {
            "contact_id": contact_ids,
            "person_id": who + 1,
            "email": email.set(pl.Series(no_email), None),
            "firstname": type_first_names(rng, canon.get_column("first_name")),
            "lastname": type_last_names(rng, canon.get_column("last_name")),
            "phone": phone,
            "company_id": pl.Series(company_of[who]).set(pl.Series(company_of[who] == 0), None),
            "shopify_customer_id": pl.Series(shopify_id[who])
            .cast(pl.String)
            .set(pl.Series(shopify_id[who] == 0), None),
            "createdate": ts(created[who]),
            "archived_at": ts_or_null(archived, archived < NEVER),
            "_stage0": stage0[who],
            "_opportunity_at": ts_or_null(opportunity_at[who], opportunity_at[who] < NEVER),
            "_customer_at": ts_or_null(
                np.maximum(customer_at[who], created[who]), customer_at[who] < NEVER
            ),
        }
    )

    # tickets and the notes/calls logged on them and on deals
    t_sort = np.argsort(t_created, kind="stable")
    t_created, t_person, t_problem = t_created[t_sort], t_person[t_sort], t_problem[t_sort]
    names = t_orders.get_column("name").gather(t_sort)
    q = len(t_created)
    kind = rng.integers(0, len(TICKET_KINDS), q)
    subject_t = np.where(t_problem, PROBLEM_KIND[0], np.array([k[0] for k in TICKET_KINDS])[kind])
    content_t = np.where(t_problem, PROBLEM_KIND[1], np.array([k[1] for k in TICKET_KINDS])[kind])

    def filled(templates: np.ndarray) -> pl.Series:
        """Each "... {} ..." template with its ticket's order name in place of ``{}``."""
        head = pl.Series(templates).str.split_exact("{}", 1)
        return head.struct.field("field_0") + names + head.struct.field("field_1")

    priority = np.where(t_problem, PROBLEM_KIND[2], np.array([k[2] for k in TICKET_KINDS])[kind])
    t_closed = t_created + rng.integers(4 * HOUR, 7 * DAY, q)
    t_progress = t_created + ((t_closed - t_created) * rng.uniform(0.1, 0.5, q)).astype(np.int64)
    ticket_ids = gapped_ids(rng, q, 3_000_000_000, 2_000)
    tickets = pl.DataFrame(
        {
            "ticket_id": ticket_ids,
            "contact_id": contact_of[t_person],
            "subject": filled(subject_t),
            "content": filled(content_t),
            "hs_pipeline": "0",
            "hs_ticket_priority": priority,
            "order_name": names,
            "createdate": ts(t_created),
            "closed_date": ts(t_closed),
            "archived_at": pl.Series([None] * q, dtype=pl.Datetime("us", "UTC")),
            "_progress_at": ts(t_progress),
            "_progress_stage": np.where(rng.random(q) < 0.5, "2", "3"),
        }
    )
    called = rng.random(q) < 0.7
    deal_called = rng.random(k) < 0.8
    parts = [
        pl.DataFrame(
            {
                "kind": "call",
                "contact_id": contact_of[t_person[called]],
                "ticket_id": ticket_ids[called],
                "_at": t_created[called],
                "body": "Inbound call about " + names.filter(pl.Series(called)),
                "call_direction": "INBOUND",
                "call_duration_ms": rng.integers(60, 900, int(called.sum())) * 1000,
            }
        ),
        pl.DataFrame(
            {
                "kind": "note",
                "contact_id": contact_of[t_person],
                "ticket_id": ticket_ids,
                "_at": t_created + rng.integers(5 * MINUTE, 2 * HOUR, q),
                "body": "Followed up on " + names + "; customer informed.",
            }
        ),
        pl.DataFrame(
            {
                "kind": "call",
                "contact_id": contact_of[d_person[deal_called]],
                "_at": d_created[deal_called] + rng.integers(HOUR, 3 * DAY, int(deal_called.sum())),
                "body": "Discovery call: "
                + deals.get_column("dealname").filter(pl.Series(deal_called)),
                "call_direction": "OUTBOUND",
                "call_duration_ms": rng.integers(300, 2_400, int(deal_called.sum())) * 1000,
            }
        ),
        pl.DataFrame(
            {
                "kind": "note",
                "contact_id": contact_of[d_person],
                "_at": d_close + 10 * SECOND,
                "body": pl.Series(np.where(won, "Deal won: ", "Deal lost: "))
                + deals.get_column("dealname"),
            }
        ),
    ]
    eng = pl.concat(parts, how="diagonal_relaxed").sort("_at", "contact_id", "kind")
    engagements = eng.select(
        pl.Series(gapped_ids(rng, eng.height, 20_000_000_000, 500)).alias("engagement_id"),
        "kind",
        "contact_id",
        pl.col("ticket_id").cast(pl.Int64),
        pl.col("_at").map_batches(lambda s: ts(s.to_numpy())).alias("hs_timestamp"),
        "body",
        pl.col("call_direction").cast(pl.String),
        pl.col("call_duration_ms").cast(pl.Int64),
        pl.col("_at").map_batches(lambda s: ts(s.to_numpy())).alias("createdate"),
        pl.col("_at").map_batches(lambda s: ts(s.to_numpy())).alias("hs_lastmodifieddate"),
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("archived_at"),
    )
    return Crm(
        companies=companies,
        contacts=contacts,
        deals=deals,
        tickets=tickets,
        engagements=engagements,
    )
