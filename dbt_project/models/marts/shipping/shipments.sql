{#- One row per ShipStation shipment (label), voided labels included and flagged (`is_voided`;
    they never ship and are left out of carrier_performance), with its EasyPost tracking.

    Dates are UTC. days_to_deliver = delivered date - ship date (whole days). A delivered
    shipment is late when it was delivered on a later (UTC) date than the carrier's estimated
    delivery date (DESIGN), on time otherwise; is_late / is_on_time are null until it is
    delivered or when the carrier gave no estimate. -#}
with

shipments as (
    select * from {{ ref('stg_shipstation__shipments') }}
),

trackers as (
    select * from {{ ref('stg_easypost__trackers') }}
),

customer_identities as (
    select * from {{ ref('customer_identities') }}
),

tracked as (
    select
        shipments.shipment_id,
        shipments.record_id,
        shipments.order_id,
        {{ shopify_gid('Order', 'shipments.order_id') }} as order_record_id,
        shipments.order_name,
        customer_identities.customer_id,
        lower(shipments.carrier) as carrier,
        shipments.service,
        shipments.tracking_number,
        trackers.tracker_id,
        shipments.label_cost,
        shipments.insurance_cost,
        shipments.ship_state,
        shipments.ship_country_code,
        shipments.created_at as label_created_at,
        shipments.shipped_date,
        coalesce(shipments.is_voided, false) as is_voided,
        shipments.voided_at,
        trackers.status as tracking_status,
        trackers.est_delivery_at,
        {{ to_utc_date('trackers.est_delivery_at') }} as est_delivery_date,
        trackers.delivered_at,
        {{ to_utc_date('trackers.delivered_at') }} as delivered_date,
        trackers.updated_at as tracking_updated_at
    from shipments
    left join trackers
        on shipments.tracking_number = trackers.tracking_code
    left join customer_identities
        on customer_identities.source = 'shipstation'
        and customer_identities.record_type = 'shipment'
        and shipments.record_id = customer_identities.record_id
),

final as (
    select
        shipment_id,
        record_id,
        order_id,
        order_record_id,
        order_name,
        customer_id,
        carrier,
        service,
        tracking_number,
        tracker_id,
        label_cost,
        insurance_cost,
        ship_state,
        ship_country_code,
        label_created_at,
        shipped_date,
        {{ month_start('shipped_date') }} as shipped_month,
        is_voided,
        voided_at,
        case
            when is_voided then 'voided'
            when tracking_status is null then 'awaiting_tracking'
            else tracking_status
        end as status,
        tracking_status,
        est_delivery_at,
        est_delivery_date,
        delivered_at,
        delivered_date,
        delivered_at is not null and not is_voided as is_delivered,
        case
            when delivered_date is not null and est_delivery_date is not null and not is_voided
                then delivered_date > est_delivery_date
        end as is_late,
        case
            when delivered_date is not null and est_delivery_date is not null and not is_voided
                then delivered_date <= est_delivery_date
        end as is_on_time,
        case
            when delivered_date is not null and est_delivery_date is not null
                and delivered_date > est_delivery_date
                then {{ dbt.datediff('est_delivery_date', 'delivered_date', 'day') }}
        end as days_late,
        case
            when delivered_date is not null
                then {{ dbt.datediff('shipped_date', 'delivered_date', 'day') }}
        end as days_to_deliver,
        not is_voided and coalesce(tracking_status = 'failure', false) as is_lost,
        not is_voided and coalesce(tracking_status = 'return_to_sender', false) as is_returned,
        tracking_updated_at
    from tracked
)

select * from final
