with

source as (
    select * from {{ source_or_empty('hubspot', 'contacts') }}
),

company as (
    select * from {{ hubspot_first_association('contacts__associated_companies', 'contact_id', 'company_id') }}
),

renamed as (
    select
        source.id as contact_id,
        {{ dbt.safe_cast('source.id', dbt.type_string()) }} as record_id,
        source.email,
        {{ normalize_email('source.email') }} as email_normalized,
        coalesce(source.phone, source.mobilephone) as phone,
        {{ normalize_phone('coalesce(source.phone, source.mobilephone)') }} as phone_e164,
        source.firstname as first_name,
        source.lastname as last_name,
        coalesce(source.associatedcompanyid, company.company_id) as company_id,
        source.company as company_name,
        source.lifecyclestage as lifecycle_stage,
        source.hs_lead_status as lead_status,
        {{ digits_to_bigint('trim(source.shopify_customer_id)') }} as shopify_customer_id,
        case
            when {{ is_all_digits('trim(source.shopify_customer_id)') }}
                then {{ shopify_gid('Customer', 'trim(source.shopify_customer_id)') }}
        end as shopify_customer_record_id,
        source.hs_merged_object_ids as merged_contact_ids,
        source.city,
        source.state,
        source.zip,
        source.country,
        {{ to_money('source.total_revenue') }} as total_revenue,
        {{ to_utc_timestamp('source.createdate') }} as created_at,
        {{ to_utc_timestamp('source.lastmodifieddate') }} as updated_at,
        {{ to_utc_timestamp('source.archived_at') }} as deleted_at,
        coalesce(source.archived, false) or source.archived_at is not null as is_deleted
    from source
    left join company on source.id = company.contact_id
)

select * from renamed
