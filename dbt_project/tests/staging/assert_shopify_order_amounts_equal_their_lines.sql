{#- stg_shopify__orders derives gross_revenue from Shopify's subtotal + discounts (no join in the
    order model); it must equal Σ unit price × quantity of the order's lines, and discounts the
    Σ of their allocated discounts. Fails with the orders where either differs. -#}
with

orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

order_lines as (
    select * from {{ ref('stg_shopify__order_lines') }}
),

line_totals as (
    select
        order_id,
        sum(gross_amount) as lines_gross,
        sum(discount_amount) as lines_discount
    from order_lines
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.gross_revenue,
        coalesce(line_totals.lines_gross, 0) as lines_gross,
        orders.discounts,
        coalesce(line_totals.lines_discount, 0) as lines_discount
    from orders
    left join line_totals on orders.order_id = line_totals.order_id
    where orders.gross_revenue <> coalesce(line_totals.lines_gross, 0)
        or orders.discounts <> coalesce(line_totals.lines_discount, 0)
)

select * from final
