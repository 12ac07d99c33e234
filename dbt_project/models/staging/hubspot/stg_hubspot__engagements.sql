{#- Notes and calls share HubSpot's engagement id space: one model, engagement_type note | call. -#}
with

notes as (
    select * from {{ source_or_empty('hubspot', 'notes') }}
),

calls as (
    select * from {{ source_or_empty('hubspot', 'calls') }}
),

note_contact as (
    select * from {{ hubspot_first_association('notes__associated_contacts', 'note_id', 'contact_id') }}
),

note_ticket as (
    select * from {{ hubspot_first_association('notes__associated_tickets', 'note_id', 'ticket_id') }}
),

call_contact as (
    select * from {{ hubspot_first_association('calls__associated_contacts', 'call_id', 'contact_id') }}
),

call_ticket as (
    select * from {{ hubspot_first_association('calls__associated_tickets', 'call_id', 'ticket_id') }}
),

note_engagements as (
    select
        notes.id as engagement_id,
        'note' as engagement_type,
        note_contact.contact_id,
        note_ticket.ticket_id,
        {{ to_utc_timestamp('coalesce(notes.hs_timestamp, notes.hs_createdate)') }} as occurred_at,
        cast(null as {{ dbt.type_string() }}) as title,
        notes.hs_note_body as body,
        cast(null as {{ dbt.type_string() }}) as call_direction,
        cast(null as {{ dbt.type_string() }}) as call_status,
        cast(null as {{ dbt.type_bigint() }}) as call_duration_ms,
        {{ to_utc_timestamp('notes.hs_createdate') }} as created_at,
        {{ to_utc_timestamp('notes.hs_lastmodifieddate') }} as updated_at,
        coalesce(notes.archived, false) or notes.archived_at is not null as is_deleted
    from notes
    left join note_contact on notes.id = note_contact.note_id
    left join note_ticket on notes.id = note_ticket.note_id
),

call_engagements as (
    select
        calls.id as engagement_id,
        'call' as engagement_type,
        call_contact.contact_id,
        call_ticket.ticket_id,
        {{ to_utc_timestamp('coalesce(calls.hs_timestamp, calls.hs_createdate)') }} as occurred_at,
        calls.hs_call_title as title,
        calls.hs_call_body as body,
        upper(calls.hs_call_direction) as call_direction,
        calls.hs_call_status as call_status,
        cast(calls.hs_call_duration as {{ dbt.type_bigint() }}) as call_duration_ms,
        {{ to_utc_timestamp('calls.hs_createdate') }} as created_at,
        {{ to_utc_timestamp('calls.hs_lastmodifieddate') }} as updated_at,
        coalesce(calls.archived, false) or calls.archived_at is not null as is_deleted
    from calls
    left join call_contact on calls.id = call_contact.call_id
    left join call_ticket on calls.id = call_ticket.call_id
),

unioned as (
    select * from note_engagements
    union all
    select * from call_engagements
)

select * from unioned
