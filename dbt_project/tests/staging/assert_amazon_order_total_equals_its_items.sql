{{ config(severity='warn') }}
{#- Amazon's OrderTotal = Σ items (price − promotion + tax + shipping, shipping and promotion tax
    included). A warning, not an error: gift wrap and other charges can add to it. -#}
with

orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

order_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

item_totals as (
    select
        amazon_order_id,
        sum(gross_amount - discount_amount + tax + shipping + shipping_tax - discount_tax) as items_total
    from order_items
    group by amazon_order_id
),

final as (
    select
        orders.amazon_order_id,
        orders.order_total,
        item_totals.items_total
    from orders
    inner join item_totals on orders.amazon_order_id = item_totals.amazon_order_id
    where orders.order_total <> item_totals.items_total
)

select * from final
