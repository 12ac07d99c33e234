{#- dlt child table: the order's key comes from its parent row (_dlt_parent_id = orders._dlt_id). -#}
with

line_items as (
    select * from {{ source_or_empty('shopify', 'orders__line_items') }}
),

orders as (
    select _dlt_id, legacy_resource_id from {{ source_or_empty('shopify', 'orders') }}
),

renamed as (
    select
        {{ shopify_legacy_id('line_items.id') }} as order_line_id,
        cast(orders.legacy_resource_id as {{ dbt.type_bigint() }}) as order_id,
        line_items._dlt_list_idx + 1 as line_no,
        {{ shopify_legacy_id('line_items.variant__id') }} as variant_id,
        {{ shopify_legacy_id('line_items.product__id') }} as product_id,
        line_items.sku,
        line_items.title,
        line_items.variant_title,
        line_items.vendor,
        line_items.quantity,
        line_items.current_quantity,
        {{ to_money('line_items.original_unit_price') }} as unit_price,
        {{ to_money('line_items.original_unit_price * line_items.quantity') }} as gross_amount,
        {{ to_money('coalesce(line_items.total_discount, 0)') }} as discount_amount,
        coalesce(line_items.requires_shipping, false) as requires_shipping,
        coalesce(line_items.taxable, false) as is_taxable
    from line_items
    inner join orders on line_items._dlt_parent_id = orders._dlt_id
)

select * from renamed
