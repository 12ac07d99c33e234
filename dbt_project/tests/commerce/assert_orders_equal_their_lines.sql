{#- Every order's money and units are exactly its lines' (order_lines), and every order line
    belongs to an order of the same channel. Fails with the orders that differ. -#}
with

orders as (
    select * from {{ ref('orders') }}
),

order_lines as (
    select * from {{ ref('order_lines') }}
),

line_totals as (
    select
        order_id,
        max(channel) as channel,
        sum(gross_amount) as gross_revenue,
        sum(discount_amount) as discounts,
        sum(refund_amount) as refunds,
        sum(net_amount) as net_revenue,
        sum(quantity) as items
    from order_lines
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.net_revenue,
        line_totals.net_revenue as lines_net_revenue
    from orders
    left join line_totals
        on orders.order_id = line_totals.order_id
    where orders.channel <> coalesce(line_totals.channel, orders.channel)
        or orders.gross_revenue <> coalesce(line_totals.gross_revenue, 0)
        or orders.discounts <> coalesce(line_totals.discounts, 0)
        or orders.refunds <> coalesce(line_totals.refunds, 0)
        or orders.net_revenue <> coalesce(line_totals.net_revenue, 0)
        or orders.items <> coalesce(line_totals.items, 0)
)

select * from final
