{#- One row per line of a counted order (order_lines, is_counted) with the stock location it
    sells from: a web line from the location that fulfilled its order (a successful Shopify
    fulfillment) or, while unfulfilled, the store's online-fulfilling location; a POS line from
    the till's location; an Amazon line from FBA stock, which is not a Shopify location
    (location_id null). -#}
with

order_lines as (
    select * from {{ ref('order_lines') }}
),

orders as (
    select * from {{ ref('orders') }}
),

shopify_fulfillments as (
    select * from {{ ref('stg_shopify__fulfillments') }}
),

shopify_locations as (
    select * from {{ ref('stg_shopify__locations') }}
),

online_location as (
    select min(location_id) as location_id
    from shopify_locations
    where fulfills_online_orders
        and is_active
),

fulfillment_locations as (
    select
        {{ shopify_gid('Order', 'order_id') }} as order_id,
        min(location_id) as location_id
    from shopify_fulfillments
    where upper(status) = 'SUCCESS'
    group by order_id
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.channel,
        order_lines.sku,
        order_lines.quantity,
        order_lines.ordered_at,
        case order_lines.channel
            when 'web' then coalesce(fulfillment_locations.location_id, online_location.location_id)
            when 'pos' then orders.location_id
        end as location_id
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join fulfillment_locations
        on order_lines.order_id = fulfillment_locations.order_id
    cross join online_location
    where order_lines.is_counted
)

select * from final
