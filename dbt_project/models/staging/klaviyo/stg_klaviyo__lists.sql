with

source as (
    select * from {{ source_or_empty('klaviyo', 'lists') }}
),

renamed as (
    select
        id as list_id,
        name,
        opt_in_process,
        {{ to_utc_timestamp('created') }} as created_at,
        {{ to_utc_timestamp('updated') }} as updated_at
    from source
)

select * from renamed
