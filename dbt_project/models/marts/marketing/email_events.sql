{#- One row per Klaviyo email event (received, opened, clicked, unsubscribed, bounced, dropped,
    marked as spam), with the customer behind the profile and the send it belongs to: an open,
    click or unsubscribe belongs to the latest receipt of the same message by the same profile at
    or before it (`send_event_id`; a receipt is its own send). -#}
with

events as (
    select * from {{ ref('stg_klaviyo__events') }}
),

campaigns as (
    select * from {{ ref('stg_klaviyo__campaigns') }}
),

flows as (
    select * from {{ ref('stg_klaviyo__flows') }}
),

customer_identities as (
    select * from {{ ref('customer_identities') }}
),

email_events as (
    select
        event_id,
        case metric_name
            when 'Received Email' then 'received'
            when 'Opened Email' then 'opened'
            when 'Clicked Email' then 'clicked'
            when 'Unsubscribed' then 'unsubscribed'
            when 'Unsubscribed from Email Marketing' then 'unsubscribed'
            when 'Bounced Email' then 'bounced'
            when 'Dropped Email' then 'dropped'
            when 'Marked Email as Spam' then 'marked_as_spam'
        end as event_type,
        metric_name,
        profile_id,
        occurred_at,
        campaign_id,
        flow_id,
        message_id,
        subject
    from events
    where metric_name in (
        'Received Email',
        'Opened Email',
        'Clicked Email',
        'Unsubscribed',
        'Unsubscribed from Email Marketing',
        'Bounced Email',
        'Dropped Email',
        'Marked Email as Spam'
    )
),

sends as (
    select
        event_id as send_event_id,
        profile_id,
        message_id,
        occurred_at as received_at,
        lead(occurred_at) over (
            partition by profile_id, message_id
            order by occurred_at, event_id
        ) as next_received_at
    from email_events
    where event_type = 'received'
),

engagement_sends as (
    select
        email_events.event_id,
        sends.send_event_id
    from email_events
    inner join sends
        on email_events.profile_id = sends.profile_id
        and email_events.message_id = sends.message_id
        and email_events.occurred_at >= sends.received_at
        and (sends.next_received_at is null or email_events.occurred_at < sends.next_received_at)
    where email_events.event_type <> 'received'
),

final as (
    select
        email_events.event_id,
        email_events.event_type,
        email_events.metric_name,
        email_events.profile_id,
        customer_identities.customer_id,
        case
            when email_events.flow_id is not null then 'flow'
            when email_events.campaign_id is not null then 'campaign'
        end as send_type,
        email_events.campaign_id,
        campaigns.name as campaign_name,
        email_events.flow_id,
        flows.name as flow_name,
        email_events.message_id,
        email_events.subject,
        case
            when email_events.event_type = 'received' then email_events.event_id
            else engagement_sends.send_event_id
        end as send_event_id,
        email_events.occurred_at,
        {{ to_utc_date('email_events.occurred_at') }} as occurred_date
    from email_events
    left join engagement_sends
        on email_events.event_id = engagement_sends.event_id
    left join campaigns
        on email_events.campaign_id = campaigns.campaign_id
    left join flows
        on email_events.flow_id = flows.flow_id
    left join customer_identities
        on customer_identities.source = 'klaviyo'
        and customer_identities.record_type = 'profile'
        and email_events.profile_id = customer_identities.record_id
)

select * from final
