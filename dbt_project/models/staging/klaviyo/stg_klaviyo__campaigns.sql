{#- Klaviyo keeps an email's subject on the campaign message, which the source does not load; the
    campaign's events carry it ("Subject"), so the subject is read from them. -#}
with

source as (
    select * from {{ source_or_empty('klaviyo', 'campaigns') }}
),

events as (
    select message_id, subject from {{ source_or_empty('klaviyo', 'events') }}
),

message_subjects as (
    select message_id, min(subject) as subject
    from events
    where message_id is not null and subject is not null
    group by message_id
),

renamed as (
    select
        source.id as campaign_id,
        source.name,
        source.status,
        message_subjects.subject,
        source.message_id,
        {{ json_text('source.audiences', ['included', 0]) }} as list_id,
        source.send_strategy__method as send_strategy,
        coalesce(source.tracking_options__is_tracking_opens, false) as is_tracking_opens,
        coalesce(source.tracking_options__is_tracking_clicks, false) as is_tracking_clicks,
        coalesce(source.archived, false) as is_archived,
        {{ to_utc_timestamp('source.send_time') }} as send_at,
        {{ to_utc_timestamp('source.scheduled_at') }} as scheduled_at,
        {{ to_utc_timestamp('source.created_at') }} as created_at,
        {{ to_utc_timestamp('source.updated_at') }} as updated_at
    from source
    left join message_subjects on source.message_id = message_subjects.message_id
)

select * from renamed
