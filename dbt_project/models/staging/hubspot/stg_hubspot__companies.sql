with

source as (
    select * from {{ source_or_empty('hubspot', 'companies') }}
),

renamed as (
    select
        id as company_id,
        {{ dbt.safe_cast('id', dbt.type_string()) }} as record_id,
        name,
        lower(trim(domain)) as domain,
        industry,
        phone,
        {{ normalize_phone('phone') }} as phone_e164,
        city,
        state,
        country,
        cast(numberofemployees as {{ dbt.type_bigint() }}) as employee_count,
        {{ to_money('annualrevenue') }} as annual_revenue,
        {{ to_utc_timestamp('createdate') }} as created_at,
        {{ to_utc_timestamp('hs_lastmodifieddate') }} as updated_at,
        {{ to_utc_timestamp('archived_at') }} as deleted_at,
        coalesce(archived, false) or archived_at is not null as is_deleted
    from source
)

select * from renamed
