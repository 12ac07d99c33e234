with

source as (
    select * from {{ source_or_empty('easypost', 'tracking_details') }}
),

renamed as (
    select
        tracker_id,
        position + 1 as detail_no,
        {{ to_utc_timestamp('datetime') }} as occurred_at,
        status,
        status_detail,
        message,
        source as carrier,
        tracking_location__city as city,
        tracking_location__state as state,
        tracking_location__zip as zip
    from source
)

select * from renamed
