{#- One row per SKU x stock location (`position_level` = 'location'), plus one all-locations
    rollup per SKU (`position_level` = 'all_locations', location_id null).

    on_hand and committed are Shopify's inventory levels (committed = units in open orders not yet
    shipped); available_to_sell = on_hand - committed (DESIGN). Units sold count counted orders'
    lines in the 28 days up to `as_of_at` (the latest counted order of any channel, or the
    `inventory_as_of` var): a location row counts what sold from that location, the rollup counts
    every channel. days_of_cover = max(available_to_sell, 0) / average daily units sold over 28
    days; null when nothing sold. Oversell risk: the open orders promise more than is on hand
    (committed > on_hand) at the location; for the rollup, at any of its locations.

    Amazon FBA stock is not served by any API yet: positions cover the Shopify locations only.
    The rollup therefore sums Shopify stock, while its demand includes Amazon (DESIGN: all
    channels), so its days of cover is conservative for SKUs sold on Amazon; Amazon's own open
    units and 28-day units are shown beside it (amazon_open_units, units_sold_28d_amazon). -#}
{%- set window_hours = 24 * var('inventory_demand_window_days', 28) %}

with

inventory_levels as (
    select * from {{ ref('stg_shopify__inventory_levels') }}
),

locations as (
    select * from {{ ref('stg_shopify__locations') }}
),

variants as (
    select * from {{ ref('stg_shopify__variants') }}
),

products as (
    select * from {{ ref('stg_shopify__products') }}
),

sales_lines as (
    select * from {{ ref('int_order_lines_located') }}
),

orders as (
    select * from {{ ref('orders') }}
    where is_counted
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

amazon_order_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

as_of as (
    select
        {%- if var('inventory_as_of', none) is not none %}
        cast('{{ var("inventory_as_of") }}' as {{ type_timestamptz() }}) as as_of_at
        {%- else %}
        max(ordered_at) as as_of_at
        {%- endif %}
    from orders
),

recent_sales as (
    select
        sales_lines.channel,
        sales_lines.sku,
        sales_lines.location_id,
        sales_lines.quantity
    from sales_lines
    cross join as_of
    where sales_lines.ordered_at <= as_of.as_of_at
        and sales_lines.ordered_at > {{ dbt.dateadd('hour', -window_hours, 'as_of.as_of_at') }}
),

sold_per_location as (
    select
        sku,
        location_id,
        sum(quantity) as units_sold_28d,
        sum(case when channel = 'web' then quantity else 0 end) as units_sold_28d_web,
        sum(case when channel = 'amazon' then quantity else 0 end) as units_sold_28d_amazon,
        sum(case when channel = 'pos' then quantity else 0 end) as units_sold_28d_pos
    from recent_sales
    where location_id is not null
    group by sku, location_id
),

sold_per_sku as (
    select
        sku,
        sum(quantity) as units_sold_28d,
        sum(case when channel = 'web' then quantity else 0 end) as units_sold_28d_web,
        sum(case when channel = 'amazon' then quantity else 0 end) as units_sold_28d_amazon,
        sum(case when channel = 'pos' then quantity else 0 end) as units_sold_28d_pos
    from recent_sales
    group by sku
),

amazon_open_units as (
    -- Amazon orders not yet shipped (Pending, Unshipped): committed against FBA stock
    select
        amazon_order_items.sku,
        sum(amazon_order_items.quantity - coalesce(amazon_order_items.quantity_shipped, 0)) as units
    from amazon_order_items
    inner join amazon_orders
        on amazon_order_items.amazon_order_id = amazon_orders.amazon_order_id
    where amazon_orders.order_status in ('Pending', 'Unshipped', 'PartiallyShipped')
    group by amazon_order_items.sku
),

location_positions as (
    select
        inventory_levels.sku,
        inventory_levels.location_id,
        locations.name as location_name,
        inventory_levels.on_hand,
        inventory_levels.committed,
        inventory_levels.available as shopify_available,
        inventory_levels.updated_at
    from inventory_levels
    left join locations
        on inventory_levels.location_id = locations.location_id
),

sku_positions as (
    select
        sku,
        count(*) as locations,
        sum(on_hand) as on_hand,
        sum(committed) as committed,
        sum(shopify_available) as shopify_available,
        max(case when committed > on_hand then 1 else 0 end) as has_oversold_location,
        max(updated_at) as updated_at
    from location_positions
    group by sku
),

skus as (
    select sku from sku_positions
    union
    select sku from sold_per_sku
),

location_rows as (
    select
        'location' as position_level,
        location_positions.sku,
        location_positions.location_id,
        location_positions.location_name,
        1 as locations,
        location_positions.on_hand,
        location_positions.committed,
        location_positions.shopify_available,
        location_positions.committed > location_positions.on_hand as is_oversell_risk,
        cast(null as {{ dbt.type_bigint() }}) as amazon_open_units,
        coalesce(sold_per_location.units_sold_28d, 0) as units_sold_28d,
        coalesce(sold_per_location.units_sold_28d_web, 0) as units_sold_28d_web,
        coalesce(sold_per_location.units_sold_28d_amazon, 0) as units_sold_28d_amazon,
        coalesce(sold_per_location.units_sold_28d_pos, 0) as units_sold_28d_pos,
        location_positions.updated_at
    from location_positions
    left join sold_per_location
        on location_positions.sku = sold_per_location.sku
        and location_positions.location_id = sold_per_location.location_id
),

rollup_rows as (
    select
        'all_locations' as position_level,
        skus.sku,
        cast(null as {{ dbt.type_bigint() }}) as location_id,
        cast(null as {{ dbt.type_string() }}) as location_name,
        coalesce(sku_positions.locations, 0) as locations,
        coalesce(sku_positions.on_hand, 0) as on_hand,
        coalesce(sku_positions.committed, 0) as committed,
        coalesce(sku_positions.shopify_available, 0) as shopify_available,
        coalesce(sku_positions.has_oversold_location = 1, false)
            or coalesce(sku_positions.committed, 0) > coalesce(sku_positions.on_hand, 0) as is_oversell_risk,
        coalesce(amazon_open_units.units, 0) as amazon_open_units,
        coalesce(sold_per_sku.units_sold_28d, 0) as units_sold_28d,
        coalesce(sold_per_sku.units_sold_28d_web, 0) as units_sold_28d_web,
        coalesce(sold_per_sku.units_sold_28d_amazon, 0) as units_sold_28d_amazon,
        coalesce(sold_per_sku.units_sold_28d_pos, 0) as units_sold_28d_pos,
        sku_positions.updated_at
    from skus
    left join sku_positions
        on skus.sku = sku_positions.sku
    left join sold_per_sku
        on skus.sku = sold_per_sku.sku
    left join amazon_open_units
        on skus.sku = amazon_open_units.sku
),

positions as (
    select * from location_rows
    union all
    select * from rollup_rows
),

final as (
    select
        {{ dbt.concat([
            'positions.sku', "':'",
            "coalesce(" ~ dbt.safe_cast('positions.location_id', dbt.type_string()) ~ ", 'all')",
        ]) }} as inventory_position_id,
        positions.position_level,
        positions.sku,
        variants.variant_id,
        variants.product_id,
        products.title as product_title,
        variants.title as variant_title,
        positions.location_id,
        positions.location_name,
        positions.locations,
        positions.on_hand,
        positions.committed,
        positions.on_hand - positions.committed as available_to_sell,
        positions.shopify_available,
        positions.amazon_open_units,
        positions.units_sold_28d,
        positions.units_sold_28d_web,
        positions.units_sold_28d_amazon,
        positions.units_sold_28d_pos,
        positions.units_sold_28d / {{ var('inventory_demand_window_days', 28) }}.0 as avg_daily_units_28d,
        case
            when positions.units_sold_28d > 0
                then
                    greatest(positions.on_hand - positions.committed, 0)
                    / (positions.units_sold_28d / {{ var('inventory_demand_window_days', 28) }}.0)
        end as days_of_cover,
        positions.on_hand - positions.committed <= 0 as is_out_of_stock,
        positions.is_oversell_risk,
        as_of.as_of_at,
        positions.updated_at as inventory_updated_at
    from positions
    cross join as_of
    left join variants
        on positions.sku = variants.sku
    left join products
        on variants.product_id = products.product_id
)

select * from final
