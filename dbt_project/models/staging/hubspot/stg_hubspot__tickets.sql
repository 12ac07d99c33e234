with

source as (
    select * from {{ source_or_empty('hubspot', 'tickets') }}
),

contact as (
    select * from {{ hubspot_first_association('tickets__associated_contacts', 'ticket_id', 'contact_id') }}
),

renamed as (
    select
        source.id as ticket_id,
        contact.contact_id,
        source.subject,
        source.content,
        source.hs_pipeline as pipeline,
        source.hs_pipeline_stage as pipeline_stage,
        -- the default support pipeline's stages
        case source.hs_pipeline_stage
            when '1' then 'new'
            when '2' then 'waiting on contact'
            when '3' then 'waiting on us'
            when '4' then 'closed'
            else source.hs_pipeline_stage
        end as pipeline_stage_name,
        source.closed_date is not null or coalesce(source.hs_pipeline_stage = '4', false) as is_closed,
        upper(source.hs_ticket_priority) as priority,
        source.hs_ticket_category as category,
        nullif(trim(source.order_name), '') as order_name,
        {{ to_utc_timestamp('source.createdate') }} as created_at,
        {{ to_utc_timestamp('source.closed_date') }} as closed_at,
        {{ to_utc_timestamp('source.hs_lastmodifieddate') }} as updated_at,
        {{ to_utc_timestamp('source.archived_at') }} as deleted_at,
        coalesce(source.archived, false) or source.archived_at is not null as is_deleted
    from source
    left join contact on source.id = contact.ticket_id
)

select * from renamed
