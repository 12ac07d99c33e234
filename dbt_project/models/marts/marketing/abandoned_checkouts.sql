{#- One row per Shopify abandoned checkout, with its customer, whether it was recovered and what
    the abandoned-checkout flow did for it.

    Recovered (DESIGN): the same customer_id places a counted order on any channel within 7 days
    after the checkout: created_at < order time <= created_at + 168 h. The recovering order is the
    first such order.

    Flow emails: events of the abandoned-checkout flow(s) (flows whose name matches
    `abandoned_checkout_flow_name_pattern`) belong to a checkout when they reach the checkout's
    customer_id, or the Klaviyo profile that started the checkout (its Started Checkout event),
    at or after the checkout and within 7 days of it; an email that could belong to several
    checkouts of one person belongs to the latest one created at or before it. -#}
{%- set recovery_hours = var('checkout_recovery_window_hours', 168) %}
{%- set flow_name_pattern = var('abandoned_checkout_flow_name_pattern', '%abandon%') %}

with

checkouts as (
    select * from {{ ref('stg_shopify__abandoned_checkouts') }}
),

checkout_lines as (
    select * from {{ ref('stg_shopify__abandoned_checkout_lines') }}
),

klaviyo_events as (
    select * from {{ ref('stg_klaviyo__events') }}
),

flows as (
    select * from {{ ref('stg_klaviyo__flows') }}
),

email_events as (
    select * from {{ ref('email_events') }}
),

orders as (
    select * from {{ ref('orders') }}
    where is_counted
        and customer_id is not null
),

customer_identities as (
    select * from {{ ref('customer_identities') }}
),

checkout_customers as (
    select
        checkouts.checkout_id,
        checkouts.record_id,
        checkouts.customer_id as shopify_customer_id,
        customer_identities.customer_id,
        checkouts.created_at,
        checkouts.subtotal,
        checkouts.total_price,
        checkouts.discount_code,
        checkouts.is_completed
    from checkouts
    left join customer_identities
        on customer_identities.source = 'shopify'
        and customer_identities.record_type = 'abandoned_checkout'
        and checkouts.record_id = customer_identities.record_id
),

lines_per_checkout as (
    select
        checkout_id,
        count(*) as line_count,
        sum(quantity) as units
    from checkout_lines
    group by checkout_id
),

recoveries as (
    select
        checkout_customers.checkout_id,
        orders.order_id,
        orders.channel,
        orders.ordered_at,
        orders.net_revenue,
        row_number() over (
            partition by checkout_customers.checkout_id
            order by orders.ordered_at, orders.order_id
        ) as order_rank
    from checkout_customers
    inner join orders
        on checkout_customers.customer_id = orders.customer_id
        and orders.ordered_at > checkout_customers.created_at
        and orders.ordered_at <= {{ dbt.dateadd('hour', recovery_hours, 'checkout_customers.created_at') }}
),

first_recoveries as (
    select * from recoveries
    where order_rank = 1
),

checkout_profiles as (
    -- the Klaviyo profile that started the checkout (Shopify's Started Checkout event)
    select distinct
        checkout_id,
        profile_id
    from klaviyo_events
    where metric_name = 'Started Checkout'
        and checkout_id is not null
        and profile_id is not null
),

abandoned_flows as (
    select flow_id
    from flows
    where lower(name) like '{{ flow_name_pattern }}'
),

flow_events as (
    select
        email_events.event_id,
        email_events.event_type,
        email_events.profile_id,
        email_events.customer_id,
        email_events.occurred_at
    from email_events
    inner join abandoned_flows
        on email_events.flow_id = abandoned_flows.flow_id
),

flow_events_by_customer as (
    select
        flow_events.event_id,
        checkout_customers.checkout_id,
        checkout_customers.created_at
    from flow_events
    inner join checkout_customers
        on flow_events.customer_id = checkout_customers.customer_id
    where flow_events.occurred_at >= checkout_customers.created_at
        and flow_events.occurred_at <= {{ dbt.dateadd('hour', recovery_hours, 'checkout_customers.created_at') }}
),

flow_events_by_profile as (
    select
        flow_events.event_id,
        checkout_customers.checkout_id,
        checkout_customers.created_at
    from flow_events
    inner join checkout_profiles
        on flow_events.profile_id = checkout_profiles.profile_id
    inner join checkout_customers
        on checkout_profiles.checkout_id = checkout_customers.checkout_id
    where flow_events.occurred_at >= checkout_customers.created_at
        and flow_events.occurred_at <= {{ dbt.dateadd('hour', recovery_hours, 'checkout_customers.created_at') }}
),

flow_event_candidates as (
    -- pairs already within the window: the union dedups only those (all of a customer's flow
    -- emails times all of their checkouts is 1.4M pairs at M scale)
    select event_id, checkout_id, created_at from flow_events_by_customer
    union
    select event_id, checkout_id, created_at from flow_events_by_profile
),

flow_event_checkouts as (
    select
        event_id,
        checkout_id
    from (
        select
            flow_event_candidates.event_id,
            flow_event_candidates.checkout_id,
            row_number() over (
                partition by flow_event_candidates.event_id
                order by flow_event_candidates.created_at desc, flow_event_candidates.checkout_id desc
            ) as checkout_rank
        from flow_event_candidates
    ) as ranked
    where checkout_rank = 1
),

flow_engagement as (
    select
        flow_event_checkouts.checkout_id,
        sum(case when flow_events.event_type = 'received' then 1 else 0 end) as flow_emails_received,
        sum(case when flow_events.event_type = 'opened' then 1 else 0 end) as flow_email_opens,
        sum(case when flow_events.event_type = 'clicked' then 1 else 0 end) as flow_email_clicks,
        min(case when flow_events.event_type = 'received' then flow_events.occurred_at end)
            as first_flow_email_at,
        min(case when flow_events.event_type = 'clicked' then flow_events.occurred_at end)
            as first_flow_click_at
    from flow_event_checkouts
    inner join flow_events
        on flow_event_checkouts.event_id = flow_events.event_id
    group by flow_event_checkouts.checkout_id
),

final as (
    select
        checkout_customers.checkout_id,
        checkout_customers.record_id,
        checkout_customers.customer_id,
        checkout_customers.shopify_customer_id,
        checkout_customers.created_at,
        {{ to_utc_date('checkout_customers.created_at') }} as created_date,
        checkout_customers.subtotal,
        checkout_customers.total_price,
        checkout_customers.total_price as value,
        checkout_customers.discount_code,
        coalesce(lines_per_checkout.line_count, 0) as line_count,
        coalesce(lines_per_checkout.units, 0) as units,
        first_recoveries.checkout_id is not null as is_recovered,
        first_recoveries.order_id as recovered_order_id,
        first_recoveries.channel as recovered_order_channel,
        first_recoveries.ordered_at as recovered_at,
        first_recoveries.net_revenue as recovered_net_revenue,
        {{ hours_between('checkout_customers.created_at', 'first_recoveries.ordered_at') }}
            as hours_to_recover,
        coalesce(flow_engagement.flow_emails_received, 0) as flow_emails_received,
        coalesce(flow_engagement.flow_emails_received, 0) > 0 as flow_email_received,
        coalesce(flow_engagement.flow_email_opens, 0) > 0 as flow_email_opened,
        coalesce(flow_engagement.flow_email_clicks, 0) > 0 as flow_email_clicked,
        flow_engagement.first_flow_email_at,
        flow_engagement.first_flow_click_at
    from checkout_customers
    left join lines_per_checkout
        on checkout_customers.checkout_id = lines_per_checkout.checkout_id
    left join first_recoveries
        on checkout_customers.checkout_id = first_recoveries.checkout_id
    left join flow_engagement
        on checkout_customers.checkout_id = flow_engagement.checkout_id
)

select * from final
