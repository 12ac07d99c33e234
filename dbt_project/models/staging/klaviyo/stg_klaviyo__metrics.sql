with

source as (
    select * from {{ source_or_empty('klaviyo', 'metrics') }}
),

renamed as (
    select
        id as metric_id,
        name as metric_name,
        integration__name as integration_name,
        integration__key as integration_key,
        integration__category as integration_category,
        {{ to_utc_timestamp('created') }} as created_at,
        {{ to_utc_timestamp('updated') }} as updated_at
    from source
)

select * from renamed
