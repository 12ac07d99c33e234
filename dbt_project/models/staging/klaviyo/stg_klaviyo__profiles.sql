with

source as (
    select * from {{ source_or_empty('klaviyo', 'profiles') }}
),

renamed as (
    select
        id as profile_id,
        id as record_id,
        email,
        {{ normalize_email('email') }} as email_normalized,
        phone_number as phone,
        {{ normalize_phone('phone_number') }} as phone_e164,
        external_id,
        -- profiles synced from the store carry the Shopify customer id as external_id
        case
            when {{ is_all_digits('trim(external_id)') }}
                then {{ shopify_gid('Customer', 'trim(external_id)') }}
        end as shopify_customer_record_id,
        first_name,
        last_name,
        organization,
        title,
        locale,
        location__city as city,
        location__region as region,
        location__zip as zip,
        location__country as country,
        location__timezone as timezone,
        email_marketing_consent as email_consent,
        {{ to_utc_timestamp('email_marketing_consent_timestamp') }} as email_consent_at,
        coalesce(can_receive_email_marketing, false) as can_receive_email_marketing,
        coalesce(email_marketing_consent = 'UNSUBSCRIBED', false) as is_unsubscribed,
        {{ to_utc_timestamp('created') }} as created_at,
        {{ to_utc_timestamp('updated') }} as updated_at
    from source
)

select * from renamed
