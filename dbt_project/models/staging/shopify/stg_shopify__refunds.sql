with

refunds as (
    select * from {{ source_or_empty('shopify', 'orders__refunds') }}
),

orders as (
    select _dlt_id, legacy_resource_id from {{ source_or_empty('shopify', 'orders') }}
),

renamed as (
    select
        cast(refunds.legacy_resource_id as {{ dbt.type_bigint() }}) as refund_id,
        cast(orders.legacy_resource_id as {{ dbt.type_bigint() }}) as order_id,
        {{ to_utc_timestamp('refunds.created_at') }} as refunded_at,
        {{ to_utc_timestamp('refunds.updated_at') }} as updated_at,
        refunds.note,
        {{ to_money('refunds.total_refunded') }} as total_refunded
    from refunds
    inner join orders on refunds._dlt_parent_id = orders._dlt_id
)

select * from renamed
