{#- One row per Klaviyo campaign and per flow (send_type + campaign_or_flow_id), including those
    that sent nothing yet.

    A send is one `received` event; an open, click or unsubscribe counts for the send it belongs
    to (email_events.send_event_id), so rates are per send: open_rate = sends opened / sends,
    click_rate = sends clicked / sends, click_to_open_rate = sends clicked / sends opened,
    unsubscribe_rate = unsubscribes / sends. A flow re-sends a message to the same person, so
    recipients (distinct profiles) can be fewer than sends. Attributed orders and net revenue come
    from order_attribution; revenue_per_recipient = attributed net revenue / recipients. -#}
with

campaigns as (
    select * from {{ ref('stg_klaviyo__campaigns') }}
),

flows as (
    select * from {{ ref('stg_klaviyo__flows') }}
),

email_events as (
    select * from {{ ref('email_events') }}
),

order_attribution as (
    select * from {{ ref('order_attribution') }}
),

senders as (
    select
        'campaign' as send_type,
        campaign_id as campaign_or_flow_id,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as flow_id,
        name,
        status,
        subject,
        send_at
    from campaigns
    union all
    select
        'flow' as send_type,
        flow_id as campaign_or_flow_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        flow_id,
        name,
        status,
        cast(null as {{ dbt.type_string() }}) as subject,
        cast(null as {{ type_timestamptz() }}) as send_at
    from flows
),

sender_events as (
    select
        send_type,
        coalesce(flow_id, campaign_id) as campaign_or_flow_id,
        event_type,
        event_id,
        profile_id,
        send_event_id,
        occurred_at
    from email_events
    where send_type is not null
),

event_counts as (
    select
        send_type,
        campaign_or_flow_id,
        sum(case when event_type = 'received' then 1 else 0 end) as sends,
        count(distinct case when event_type = 'received' then profile_id end) as recipients,
        count(distinct case when event_type = 'opened' then send_event_id end) as unique_opens,
        count(distinct case when event_type = 'clicked' then send_event_id end) as unique_clicks,
        sum(case when event_type = 'opened' then 1 else 0 end) as total_opens,
        sum(case when event_type = 'clicked' then 1 else 0 end) as total_clicks,
        sum(case when event_type = 'unsubscribed' then 1 else 0 end) as unsubscribes,
        sum(case when event_type = 'bounced' then 1 else 0 end) as bounces,
        sum(case when event_type = 'marked_as_spam' then 1 else 0 end) as spam_complaints,
        min(case when event_type = 'received' then occurred_at end) as first_sent_at,
        max(case when event_type = 'received' then occurred_at end) as last_sent_at
    from sender_events
    group by send_type, campaign_or_flow_id
),

attributed as (
    select
        attributed_send_type as send_type,
        coalesce(attributed_flow_id, attributed_campaign_id) as campaign_or_flow_id,
        count(*) as attributed_orders,
        count(distinct customer_id) as attributed_customers,
        sum(case when touch_type = 'click' then 1 else 0 end) as attributed_orders_by_click,
        sum(net_revenue) as attributed_net_revenue
    from order_attribution
    where is_attributed
    group by attributed_send_type, coalesce(attributed_flow_id, attributed_campaign_id)
),

final as (
    select
        {{ dbt.concat(['senders.send_type', "':'", 'senders.campaign_or_flow_id']) }} as campaign_performance_id,
        senders.send_type,
        senders.campaign_or_flow_id,
        senders.campaign_id,
        senders.flow_id,
        senders.name,
        senders.status,
        senders.subject,
        senders.send_at,
        event_counts.first_sent_at,
        event_counts.last_sent_at,
        coalesce(event_counts.sends, 0) as sends,
        coalesce(event_counts.recipients, 0) as recipients,
        coalesce(event_counts.unique_opens, 0) as unique_opens,
        coalesce(event_counts.unique_clicks, 0) as unique_clicks,
        coalesce(event_counts.total_opens, 0) as total_opens,
        coalesce(event_counts.total_clicks, 0) as total_clicks,
        coalesce(event_counts.unsubscribes, 0) as unsubscribes,
        coalesce(event_counts.bounces, 0) as bounces,
        coalesce(event_counts.spam_complaints, 0) as spam_complaints,
        {{ safe_ratio('event_counts.unique_opens', 'event_counts.sends') }} as open_rate,
        {{ safe_ratio('event_counts.unique_clicks', 'event_counts.sends') }} as click_rate,
        {{ safe_ratio('event_counts.unique_clicks', 'event_counts.unique_opens') }} as click_to_open_rate,
        {{ safe_ratio('event_counts.unsubscribes', 'event_counts.sends') }} as unsubscribe_rate,
        coalesce(attributed.attributed_orders, 0) as attributed_orders,
        coalesce(attributed.attributed_orders_by_click, 0) as attributed_orders_by_click,
        coalesce(attributed.attributed_customers, 0) as attributed_customers,
        {{ to_money('coalesce(attributed.attributed_net_revenue, 0)') }} as attributed_net_revenue,
        {{ to_money(safe_ratio('coalesce(attributed.attributed_net_revenue, 0)', 'event_counts.recipients')) }}
            as revenue_per_recipient
    from senders
    left join event_counts
        on senders.send_type = event_counts.send_type
        and senders.campaign_or_flow_id = event_counts.campaign_or_flow_id
    left join attributed
        on senders.send_type = attributed.send_type
        and senders.campaign_or_flow_id = attributed.campaign_or_flow_id
)

select * from final
