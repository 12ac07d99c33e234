{{ config(materialized='table') }}

{#-
    One row per order line of every channel (web = Shopify line items, amazon = order items,
    pos = till sales lines), with the refunds of the line. Amounts are the line's own:
    gross = unit price × quantity, discount = the discounts allocated to the line (order-level
    ones included), refund = Σ refund line subtotals (no tax, no shipping). Amazon and the till
    have no refunds in their feeds. Amazon hides the prices of a Pending order's items: they are
    0 here and the line is flagged `is_priced = false`.
    A table (not ephemeral): both `orders` and `order_lines` read it.
-#}

with

shopify_order_lines as (
    select * from {{ ref('stg_shopify__order_lines') }}
),

shopify_orders as (
    select order_id, record_id from {{ ref('stg_shopify__orders') }}
),

shopify_refund_lines as (
    select * from {{ ref('stg_shopify__refund_lines') }}
),

amazon_order_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

pos_sales_lines as (
    select * from {{ ref('stg_pos__sales_lines') }}
),

variants as (
    select * from {{ ref('stg_shopify__variants') }}
),

variant_per_sku as (
    -- Amazon and the till know a product by its SKU only; one variant per SKU (the oldest)
    select
        sku,
        min(variant_id) as variant_id
    from variants
    where sku is not null
    group by sku
),

refunds_per_line as (
    select
        order_line_id,
        sum(quantity) as refunded_quantity,
        sum(refund_amount) as refund_amount
    from shopify_refund_lines
    group by order_line_id
),

web_lines as (
    select
        shopify_orders.record_id as order_id,
        'web' as channel,
        {{ dbt.safe_cast('shopify_order_lines.order_line_id', dbt.type_string()) }} as source_line_id,
        shopify_order_lines.line_no,
        shopify_order_lines.variant_id,
        shopify_order_lines.sku,
        shopify_order_lines.title,
        shopify_order_lines.quantity,
        shopify_order_lines.unit_price,
        shopify_order_lines.gross_amount,
        shopify_order_lines.discount_amount,
        coalesce(refunds_per_line.refunded_quantity, 0) as refunded_quantity,
        coalesce(refunds_per_line.refund_amount, 0) as refund_amount,
        true as is_priced
    from shopify_order_lines
    inner join shopify_orders
        on shopify_order_lines.order_id = shopify_orders.order_id
    left join refunds_per_line
        on shopify_order_lines.order_line_id = refunds_per_line.order_line_id
),

amazon_lines as (
    select
        amazon_order_items.amazon_order_id as order_id,
        'amazon' as channel,
        amazon_order_items.order_item_id as source_line_id,
        row_number() over (
            partition by amazon_order_items.amazon_order_id
            order by amazon_order_items.order_item_id
        ) as line_no,
        variant_per_sku.variant_id,
        amazon_order_items.sku,
        amazon_order_items.title,
        amazon_order_items.quantity,
        -- ItemPrice is the price of all units: the unit price is derived
        {{ to_money('amazon_order_items.gross_amount / nullif(amazon_order_items.quantity, 0)') }} as unit_price,
        coalesce(amazon_order_items.gross_amount, 0) as gross_amount,
        coalesce(amazon_order_items.discount_amount, 0) as discount_amount,
        0 as refunded_quantity,
        {{ to_money('0') }} as refund_amount,
        amazon_order_items.is_priced
    from amazon_order_items
    left join variant_per_sku
        on amazon_order_items.sku = variant_per_sku.sku
),

pos_lines as (
    select
        pos_sales_lines.transaction_id as order_id,
        'pos' as channel,
        {{ dbt.safe_cast('pos_sales_lines.line_no', dbt.type_string()) }} as source_line_id,
        pos_sales_lines.line_no,
        variant_per_sku.variant_id,
        pos_sales_lines.sku,
        cast(null as {{ dbt.type_string() }}) as title,
        pos_sales_lines.quantity,
        {{ to_money('pos_sales_lines.gross_amount / nullif(pos_sales_lines.quantity, 0)') }} as unit_price,
        pos_sales_lines.gross_amount,
        pos_sales_lines.discount_amount,
        0 as refunded_quantity,
        {{ to_money('0') }} as refund_amount,
        true as is_priced
    from pos_sales_lines
    left join variant_per_sku
        on pos_sales_lines.sku = variant_per_sku.sku
),

unioned as (
    select * from web_lines
    union all
    select * from amazon_lines
    union all
    select * from pos_lines
),

final as (
    select
        {{ dbt.concat(['order_id', "':'", 'source_line_id']) }} as order_line_id,
        order_id,
        channel,
        source_line_id,
        cast(line_no as {{ dbt.type_bigint() }}) as line_no,
        variant_id,
        sku,
        title,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        unit_price,
        {{ to_money('gross_amount') }} as gross_amount,
        {{ to_money('discount_amount') }} as discount_amount,
        cast(refunded_quantity as {{ dbt.type_bigint() }}) as refunded_quantity,
        {{ to_money('refund_amount') }} as refund_amount,
        {{ to_money('gross_amount - discount_amount - refund_amount') }} as net_amount,
        is_priced
    from unioned
)

select * from final
