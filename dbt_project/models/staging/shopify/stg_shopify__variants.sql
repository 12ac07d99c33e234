with

source as (
    select * from {{ source_or_empty('shopify', 'product_variants') }}
),

renamed as (
    select
        cast(legacy_resource_id as {{ dbt.type_bigint() }}) as variant_id,
        id as record_id,
        {{ shopify_legacy_id('product__id') }} as product_id,
        cast(inventory_item__legacy_resource_id as {{ dbt.type_bigint() }}) as inventory_item_id,
        sku,
        title,
        display_name,
        {{ to_money('price') }} as price,
        {{ to_money('compare_at_price') }} as compare_at_price,
        {{ to_money('inventory_item__unit_cost') }} as unit_cost,
        barcode,
        position,
        coalesce(inventory_item__tracked, false) as is_inventory_tracked,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
