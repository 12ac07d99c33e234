{#-
    One row per UTC day with store-wide marketing and shipping activity, for kpi_daily, counted
    from the marketing and shipping marts so that each definition lives in one place:
    - abandoned_checkouts: Shopify abandoned checkouts created that day; recovered_checkouts:
      those the marketing mart marks recovered (the customer placed a counted order on any
      channel within 7 days after the checkout), counted on the checkout's day.
    - emails_sent / emails_opened / emails_clicked / email_unsubscribes: email_events of type
      received, opened, clicked, unsubscribed that day (events, not unique people).
    - shipments: non-voided shipments by ship date; deliveries: shipments delivered that day;
      late_deliveries: those delivered after the carrier's estimated date (shipments.is_late).
-#}

with

abandoned_checkouts as (
    select * from {{ ref('abandoned_checkouts') }}
),

email_events as (
    select * from {{ ref('email_events') }}
),

shipments as (
    select * from {{ ref('shipments') }}
    where not is_voided
),

checkout_days as (
    select
        {{ to_utc_date('created_at') }} as activity_date,
        count(*) as abandoned_checkouts,
        sum(case when is_recovered then 1 else 0 end) as recovered_checkouts
    from abandoned_checkouts
    group by {{ to_utc_date('created_at') }}
),

email_days as (
    select
        {{ to_utc_date('occurred_at') }} as activity_date,
        sum(case when event_type = 'received' then 1 else 0 end) as emails_sent,
        sum(case when event_type = 'opened' then 1 else 0 end) as emails_opened,
        sum(case when event_type = 'clicked' then 1 else 0 end) as emails_clicked,
        sum(case when event_type = 'unsubscribed' then 1 else 0 end) as email_unsubscribes
    from email_events
    group by {{ to_utc_date('occurred_at') }}
),

shipment_days as (
    select
        shipped_date as activity_date,
        count(*) as shipments
    from shipments
    group by shipped_date
),

delivery_days as (
    select
        delivered_date as activity_date,
        count(*) as deliveries,
        sum(case when is_late then 1 else 0 end) as late_deliveries
    from shipments
    where is_delivered
    group by delivered_date
),

activity_dates as (
    select activity_date from checkout_days
    union
    select activity_date from email_days
    union
    select activity_date from shipment_days
    union
    select activity_date from delivery_days
),

final as (
    select
        activity_dates.activity_date,
        coalesce(checkout_days.abandoned_checkouts, 0) as abandoned_checkouts,
        coalesce(checkout_days.recovered_checkouts, 0) as recovered_checkouts,
        coalesce(email_days.emails_sent, 0) as emails_sent,
        coalesce(email_days.emails_opened, 0) as emails_opened,
        coalesce(email_days.emails_clicked, 0) as emails_clicked,
        coalesce(email_days.email_unsubscribes, 0) as email_unsubscribes,
        coalesce(shipment_days.shipments, 0) as shipments,
        coalesce(delivery_days.deliveries, 0) as deliveries,
        coalesce(delivery_days.late_deliveries, 0) as late_deliveries
    from activity_dates
    left join checkout_days
        on activity_dates.activity_date = checkout_days.activity_date
    left join email_days
        on activity_dates.activity_date = email_days.activity_date
    left join shipment_days
        on activity_dates.activity_date = shipment_days.activity_date
    left join delivery_days
        on activity_dates.activity_date = delivery_days.activity_date
    where activity_dates.activity_date is not null
)

select * from final
