with

source as (
    select * from {{ source_or_empty('klaviyo', 'flows') }}
),

renamed as (
    select
        id as flow_id,
        name,
        status,
        trigger_type,
        coalesce(archived, false) as is_archived,
        {{ to_utc_timestamp('created') }} as created_at,
        {{ to_utc_timestamp('updated') }} as updated_at
    from source
)

select * from renamed
