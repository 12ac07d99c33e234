with

source as (
    select * from {{ source_or_empty('shopify', 'inventory_levels') }}
),

renamed as (
    select
        id as inventory_level_id,
        cast(item__legacy_resource_id as {{ dbt.type_bigint() }}) as inventory_item_id,
        {{ shopify_legacy_id('location__id') }} as location_id,
        item__sku as sku,
        coalesce(on_hand, 0) as on_hand,
        coalesce(committed, 0) as committed,
        coalesce(available, 0) as available,
        coalesce(incoming, 0) as incoming,
        coalesce(reserved, 0) as reserved,
        coalesce(damaged, 0) as damaged,
        coalesce(safety_stock, 0) as safety_stock,
        coalesce(quality_control, 0) as quality_control,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
