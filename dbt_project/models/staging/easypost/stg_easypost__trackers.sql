{#- A tracker's delivery time is the time of its first `delivered` tracking detail (EasyPost has
    no delivered-at field on the tracker itself). -#}
with

trackers as (
    select * from {{ source_or_empty('easypost', 'trackers') }}
),

tracking_details as (
    select tracker_id, status, datetime
    from {{ source_or_empty('easypost', 'tracking_details') }}
),

deliveries as (
    select tracker_id, min(datetime) as delivered_at
    from tracking_details
    where status = 'delivered'
    group by tracker_id
),

renamed as (
    select
        trackers.id as tracker_id,
        trackers.tracking_code,
        trackers.carrier,
        trackers.status,
        trackers.status_detail,
        trackers.status = 'delivered' as is_delivered,
        trackers.status in (
            'delivered', 'return_to_sender', 'failure', 'cancelled'
        ) as is_final,
        {{ to_utc_timestamp('trackers.est_delivery_date') }} as est_delivery_at,
        case
            when trackers.status = 'delivered' then {{ to_utc_timestamp('deliveries.delivered_at') }}
        end as delivered_at,
        trackers.signed_by,
        trackers.weight as weight_oz,
        trackers.shipment_id as easypost_shipment_id,
        trackers.public_url,
        trackers.mode,
        {{ to_utc_timestamp('trackers.created_at') }} as created_at,
        {{ to_utc_timestamp('trackers.updated_at') }} as updated_at
    from trackers
    left join deliveries on trackers.id = deliveries.tracker_id
)

select * from renamed
