with

source as (
    select * from {{ source_or_empty('klaviyo', 'list_memberships') }}
),

renamed as (
    select
        list_id,
        profile_id,
        {{ to_utc_timestamp('joined_group_at') }} as joined_at
    from source
)

select * from renamed
