with

source as (
    select * from {{ source_or_empty('hubspot', 'deals') }}
),

contact as (
    select * from {{ hubspot_first_association('deals__associated_contacts', 'deal_id', 'contact_id') }}
),

company as (
    select * from {{ hubspot_first_association('deals__associated_companies', 'deal_id', 'company_id') }}
),

renamed as (
    select
        source.id as deal_id,
        contact.contact_id,
        company.company_id,
        source.dealname as deal_name,
        {{ to_money('source.amount') }} as amount,
        source.deal_currency_code as currency,
        source.pipeline,
        source.dealstage as deal_stage,
        coalesce(source.dealstage = 'closedwon', false) as is_closed_won,
        coalesce(source.dealstage in ('closedwon', 'closedlost'), false) as is_closed,
        -- closedate is the expected close date while a deal is open
        case
            when source.dealstage in ('closedwon', 'closedlost')
                then {{ to_utc_timestamp('source.closedate') }}
        end as closed_at,
        {{ to_utc_timestamp('source.closedate') }} as close_date_at,
        {{ to_utc_timestamp('source.createdate') }} as created_at,
        {{ to_utc_timestamp('source.hs_lastmodifieddate') }} as updated_at,
        {{ to_utc_timestamp('source.archived_at') }} as deleted_at,
        coalesce(source.archived, false) or source.archived_at is not null as is_deleted
    from source
    left join contact on source.id = contact.deal_id
    left join company on source.id = company.deal_id
)

select * from renamed
