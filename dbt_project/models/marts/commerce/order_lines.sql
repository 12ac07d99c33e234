{#-
    One row per order line of every channel, with its order's channel, customer and counting
    flag, the product (variant by id on the web, by SKU on Amazon and at the till), amounts
    (gross, discount, refund, net = gross − discount − refund) and margin at the variant's
    current unit cost: cost of goods = unit cost × units kept (quantity − refunded quantity),
    gross margin = net − cost of goods.
-#}

with

order_lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

orders as (
    select * from {{ ref('orders') }}
),

variants as (
    select * from {{ ref('stg_shopify__variants') }}
),

products as (
    select * from {{ ref('stg_shopify__products') }}
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.channel,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.is_counted,
        order_lines.line_no,
        order_lines.source_line_id,
        order_lines.sku,
        order_lines.variant_id,
        variants.product_id,
        coalesce(products.title, order_lines.title) as product_title,
        variants.title as variant_title,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.gross_amount,
        order_lines.discount_amount,
        order_lines.refunded_quantity,
        order_lines.refund_amount,
        order_lines.net_amount,
        variants.unit_cost,
        {{ to_money('variants.unit_cost * (order_lines.quantity - order_lines.refunded_quantity)') }}
            as cost_of_goods,
        {{ to_money(
            'order_lines.net_amount - variants.unit_cost'
            ~ ' * (order_lines.quantity - order_lines.refunded_quantity)'
        ) }} as gross_margin,
        order_lines.is_priced,
        orders.currency
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join variants
        on order_lines.variant_id = variants.variant_id
    left join products
        on variants.product_id = products.product_id
)

select * from final
