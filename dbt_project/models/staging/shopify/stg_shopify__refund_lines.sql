{#- dlt grandchild table: the refund from _dlt_parent_id, the order from _dlt_root_id. -#}
with

refund_lines as (
    select * from {{ source_or_empty('shopify', 'orders__refunds__refund_line_items') }}
),

refunds as (
    select _dlt_id, legacy_resource_id from {{ source_or_empty('shopify', 'orders__refunds') }}
),

orders as (
    select _dlt_id, legacy_resource_id from {{ source_or_empty('shopify', 'orders') }}
),

renamed as (
    select
        {{ shopify_legacy_id('refund_lines.id') }} as refund_line_id,
        cast(refunds.legacy_resource_id as {{ dbt.type_bigint() }}) as refund_id,
        cast(orders.legacy_resource_id as {{ dbt.type_bigint() }}) as order_id,
        {{ shopify_legacy_id('refund_lines.line_item__id') }} as order_line_id,
        {{ shopify_legacy_id('refund_lines.location__id') }} as location_id,
        refund_lines.quantity,
        {{ to_money('refund_lines.price') }} as unit_price,
        {{ to_money('refund_lines.subtotal') }} as refund_amount,
        refund_lines.restock_type,
        coalesce(refund_lines.restocked, false) as is_restocked
    from refund_lines
    inner join refunds on refund_lines._dlt_parent_id = refunds._dlt_id
    inner join orders on refund_lines._dlt_root_id = orders._dlt_id
)

select * from renamed
