with

line_items as (
    select * from {{ source_or_empty('shopify', 'abandoned_checkouts__line_items') }}
),

checkouts as (
    select _dlt_id, id from {{ source_or_empty('shopify', 'abandoned_checkouts') }}
),

renamed as (
    select
        {{ shopify_legacy_id('line_items.id') }} as checkout_line_id,
        {{ shopify_legacy_id('checkouts.id') }} as checkout_id,
        line_items._dlt_list_idx + 1 as line_no,
        {{ shopify_legacy_id('line_items.variant__id') }} as variant_id,
        {{ shopify_legacy_id('line_items.product__id') }} as product_id,
        line_items.sku,
        line_items.title,
        line_items.variant_title,
        line_items.quantity,
        {{ to_money('line_items.original_unit_price') }} as unit_price,
        {{ to_money('coalesce(line_items.original_total_price, line_items.original_unit_price * line_items.quantity)') }}
            as gross_amount
    from line_items
    inner join checkouts on line_items._dlt_parent_id = checkouts._dlt_id
)

select * from renamed
