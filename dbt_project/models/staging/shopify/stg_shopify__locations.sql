with

source as (
    select * from {{ source_or_empty('shopify', 'locations') }}
),

renamed as (
    select
        cast(legacy_resource_id as {{ dbt.type_bigint() }}) as location_id,
        id as record_id,
        name,
        coalesce(is_active, false) as is_active,
        coalesce(fulfills_online_orders, false) as fulfills_online_orders,
        coalesce(ships_inventory, false) as ships_inventory,
        address__city as city,
        address__province_code as province_code,
        address__zip as zip,
        address__country_code as country_code,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
