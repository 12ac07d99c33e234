with

source as (
    select * from {{ source_or_empty('shopify', 'customers') }}
),

renamed as (
    select
        cast(legacy_resource_id as {{ dbt.type_bigint() }}) as customer_id,
        id as record_id,
        first_name,
        last_name,
        email,
        {{ normalize_email('email') }} as email_normalized,
        phone,
        {{ normalize_phone('phone') }} as phone_e164,
        state,
        coalesce(state = 'DISABLED', false) as is_guest,
        coalesce(verified_email, false) as is_email_verified,
        email_marketing_consent__marketing_state as email_marketing_state,
        email_marketing_consent__marketing_opt_in_level as email_marketing_opt_in_level,
        {{ to_utc_timestamp('email_marketing_consent__consent_updated_at') }} as email_consent_updated_at,
        coalesce(email_marketing_consent__marketing_state = 'SUBSCRIBED', false) as is_email_subscribed,
        {{ json_list_to_text('tags') }} as tags,
        note,
        default_address__city as city,
        default_address__province_code as province_code,
        default_address__zip as zip,
        default_address__country_code_v2 as country_code,
        default_address__phone as address_phone,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
