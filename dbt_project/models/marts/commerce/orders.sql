{#-
    One row per order of every channel: web (Shopify orders), amazon (SP-API orders), pos (till
    transactions). DESIGN.md's metric definitions: an order counts when it is neither cancelled
    nor a test order; gross = Σ line price × quantity, discounts = line + order-level discount
    allocations, refunds = refunded line amounts (no tax, no shipping), net = gross − discounts −
    refunds; tax and shipping are kept apart and are not revenue. The money columns are the
    order's lines summed (int_order_lines_unioned), so orders and order_lines always agree.
    customer_id comes from customer_identities; the sequence columns count counted orders of that
    customer on every channel.
-#}

with

shopify_orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

amazon_order_items as (
    select * from {{ ref('stg_amazon__order_items') }}
),

pos_transactions as (
    select * from {{ ref('stg_pos__transactions') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

customer_identities as (
    select
        source,
        record_type,
        record_id,
        customer_id
    from {{ ref('customer_identities') }}
),

amazon_order_charges as (
    -- tax as Amazon charges it: item + shipping tax, less the tax on promotions
    select
        amazon_order_id,
        sum(
            coalesce(tax, 0) + coalesce(shipping_tax, 0) - coalesce(discount_tax, 0)
        ) as tax,
        sum(coalesce(shipping, 0)) as shipping,
        min(currency) as currency
    from amazon_order_items
    group by amazon_order_id
),

order_headers as (
    select
        record_id as order_id,
        'web' as channel,
        'shopify' as source,
        'order' as record_type,
        record_id,
        order_name,
        created_at as ordered_at,
        is_cancelled,
        cancelled_at,
        is_test,
        financial_status as source_status,
        fulfillment_status,
        cast(null as {{ dbt.type_bigint() }}) as location_id,
        currency,
        tax,
        shipping,
        discount_code
    from shopify_orders

    union all

    select
        amazon_orders.amazon_order_id as order_id,
        'amazon' as channel,
        'amazon' as source,
        'order' as record_type,
        amazon_orders.record_id,
        amazon_orders.amazon_order_id as order_name,
        amazon_orders.purchased_at as ordered_at,
        amazon_orders.is_cancelled,
        case when amazon_orders.is_cancelled then amazon_orders.updated_at end as cancelled_at,
        false as is_test,
        amazon_orders.order_status as source_status,
        amazon_orders.fulfillment_channel as fulfillment_status,
        cast(null as {{ dbt.type_bigint() }}) as location_id,
        coalesce(amazon_orders.currency, amazon_order_charges.currency, '{{ var("commerce_currency", "USD") }}') as currency,
        coalesce(amazon_order_charges.tax, 0) as tax,
        coalesce(amazon_order_charges.shipping, 0) as shipping,
        cast(null as {{ dbt.type_string() }}) as discount_code
    from amazon_orders
    left join amazon_order_charges
        on amazon_orders.amazon_order_id = amazon_order_charges.amazon_order_id

    union all

    select
        transaction_id as order_id,
        'pos' as channel,
        'pos' as source,
        'transaction' as record_type,
        record_id,
        transaction_id as order_name,
        sold_at as ordered_at,
        false as is_cancelled,
        cast(null as {{ type_timestamptz() }}) as cancelled_at,
        false as is_test,
        'completed' as source_status,
        'fulfilled' as fulfillment_status,
        location_id,
        '{{ var("commerce_currency", "USD") }}' as currency,
        0 as tax,
        0 as shipping,
        cast(null as {{ dbt.type_string() }}) as discount_code
    from pos_transactions
),

line_totals as (
    select
        order_id,
        sum(gross_amount) as gross_revenue,
        sum(discount_amount) as discounts,
        sum(refund_amount) as refunds,
        sum(quantity) as items,
        sum(refunded_quantity) as refunded_items,
        count(*) as line_count,
        min(case when is_priced then 1 else 0 end) as all_lines_priced
    from order_lines
    group by order_id
),

orders_with_customers as (
    select
        order_headers.order_id,
        order_headers.channel,
        order_headers.source,
        order_headers.record_type,
        order_headers.record_id,
        order_headers.order_name,
        customer_identities.customer_id,
        order_headers.ordered_at,
        {{ to_utc_date('order_headers.ordered_at') }} as order_date,
        order_headers.is_cancelled,
        order_headers.cancelled_at,
        order_headers.is_test,
        not order_headers.is_cancelled and not order_headers.is_test as is_counted,
        coalesce(line_totals.all_lines_priced, 0) = 1 as is_priced,
        order_headers.source_status,
        order_headers.fulfillment_status,
        order_headers.location_id,
        order_headers.currency,
        {{ to_money('coalesce(line_totals.gross_revenue, 0)') }} as gross_revenue,
        {{ to_money('coalesce(line_totals.discounts, 0)') }} as discounts,
        {{ to_money('coalesce(line_totals.refunds, 0)') }} as refunds,
        {{ to_money(
            'coalesce(line_totals.gross_revenue, 0) - coalesce(line_totals.discounts, 0)'
            ~ ' - coalesce(line_totals.refunds, 0)'
        ) }} as net_revenue,
        {{ to_money('order_headers.tax') }} as tax,
        {{ to_money('order_headers.shipping') }} as shipping,
        cast(coalesce(line_totals.items, 0) as {{ dbt.type_bigint() }}) as items,
        cast(coalesce(line_totals.refunded_items, 0) as {{ dbt.type_bigint() }}) as refunded_items,
        cast(coalesce(line_totals.line_count, 0) as {{ dbt.type_bigint() }}) as line_count,
        order_headers.discount_code
    from order_headers
    left join line_totals
        on order_headers.order_id = line_totals.order_id
    left join customer_identities
        on order_headers.source = customer_identities.source
        and order_headers.record_type = customer_identities.record_type
        and order_headers.record_id = customer_identities.record_id
),

customer_sequence as (
    select
        order_id,
        row_number() over (
            partition by customer_id
            order by ordered_at, order_id
        ) as customer_order_seq,
        lag(order_date) over (
            partition by customer_id
            order by ordered_at, order_id
        ) as previous_order_date
    from orders_with_customers
    where is_counted
        and customer_id is not null
),

final as (
    select
        orders_with_customers.order_id,
        orders_with_customers.channel,
        orders_with_customers.source,
        orders_with_customers.record_type,
        orders_with_customers.record_id,
        orders_with_customers.order_name,
        orders_with_customers.customer_id,
        orders_with_customers.ordered_at,
        orders_with_customers.order_date,
        orders_with_customers.is_cancelled,
        orders_with_customers.cancelled_at,
        orders_with_customers.is_test,
        orders_with_customers.is_counted,
        orders_with_customers.is_priced,
        orders_with_customers.source_status,
        orders_with_customers.fulfillment_status,
        orders_with_customers.location_id,
        orders_with_customers.currency,
        orders_with_customers.gross_revenue,
        orders_with_customers.discounts,
        orders_with_customers.refunds,
        orders_with_customers.net_revenue,
        orders_with_customers.tax,
        orders_with_customers.shipping,
        orders_with_customers.items,
        orders_with_customers.refunded_items,
        orders_with_customers.line_count,
        coalesce(customer_sequence.customer_order_seq = 1, false) as is_first_order,
        customer_sequence.customer_order_seq,
        {{ dbt.datediff('customer_sequence.previous_order_date', 'orders_with_customers.order_date', 'day') }}
            as days_since_previous_order,
        orders_with_customers.discount_code,
        orders_with_customers.discounts > 0 as has_discount,
        orders_with_customers.refunds > 0 as has_refund
    from orders_with_customers
    left join customer_sequence
        on orders_with_customers.order_id = customer_sequence.order_id
)

select * from final
