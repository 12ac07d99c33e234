with

fulfillments as (
    select * from {{ source_or_empty('shopify', 'orders__fulfillments') }}
),

tracking as (
    select * from {{ source_or_empty('shopify', 'orders__fulfillments__tracking_info') }}
),

orders as (
    select _dlt_id, legacy_resource_id from {{ source_or_empty('shopify', 'orders') }}
),

first_tracking as (
    -- a fulfillment may carry several tracking numbers: the first one listed
    select _dlt_parent_id, company, number, url
    from tracking
    where _dlt_list_idx = 0
),

renamed as (
    select
        cast(fulfillments.legacy_resource_id as {{ dbt.type_bigint() }}) as fulfillment_id,
        cast(orders.legacy_resource_id as {{ dbt.type_bigint() }}) as order_id,
        {{ shopify_legacy_id('fulfillments.location__id') }} as location_id,
        fulfillments.status,
        first_tracking.company as tracking_company,
        first_tracking.number as tracking_number,
        first_tracking.url as tracking_url,
        {{ to_utc_timestamp('fulfillments.created_at') }} as created_at,
        {{ to_utc_timestamp('fulfillments.updated_at') }} as updated_at
    from fulfillments
    inner join orders on fulfillments._dlt_parent_id = orders._dlt_id
    left join first_tracking on fulfillments._dlt_id = first_tracking._dlt_parent_id
)

select * from renamed
