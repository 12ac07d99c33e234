{#- Events name their email by its message ($message), not its campaign: a campaign email's
    campaign is the campaign with that message (a lookup on the campaigns table, one message per
    campaign). Flow emails carry their flow ($flow). -#}
with

events as (
    select * from {{ source_or_empty('klaviyo', 'events') }}
),

metrics as (
    select id, name from {{ source_or_empty('klaviyo', 'metrics') }}
),

campaigns as (
    select id, message_id from {{ source_or_empty('klaviyo', 'campaigns') }}
),

renamed as (
    select
        events.id as event_id,
        events.metric_id,
        metrics.name as metric_name,
        events.profile_id,
        {{ to_utc_timestamp('events.datetime') }} as occurred_at,
        case when events.flow_id is null then campaigns.id end as campaign_id,
        events.flow_id,
        events.message_id,
        events.campaign_name as message_name,
        events.subject,
        {{ digits_to_bigint('trim(events.checkout_id)') }} as checkout_id,
        case
            when {{ is_all_digits('trim(events.checkout_id)') }}
                then {{ shopify_gid('AbandonedCheckout', 'trim(events.checkout_id)') }}
        end as checkout_record_id,
        {{ to_money('events.value') }} as value,
        events.value_currency as currency,
        events.event_id as source_event_id
    from events
    left join metrics on events.metric_id = metrics.id
    left join campaigns on events.message_id = campaigns.message_id
)

select * from renamed
