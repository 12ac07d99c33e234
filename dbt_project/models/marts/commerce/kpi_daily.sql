{#-
    One row per UTC day × channel, channel in web, amazon, pos and `total` (the whole business;
    never add `total` rows to the channel rows). Every day from the first to the last day with any
    activity is present; a day without activity has zeros.
    Order metrics use counted orders on their order date (refunds too: `refunds` are the refunds
    of the day's orders, so net_revenue and aov match `orders`; `refunds_issued` is the cash view
    by refund date). aov = net_revenue / orders. new_customers: customers whose first counted
    order (any channel) was that day in that slice; returning_customers: other customers with a
    counted order that day in that slice.
    Store-wide activity (int_store_activity_daily) sits on the rows it belongs to: abandoned and
    recovered checkouts and shipments on `web` and `total` (both are Shopify's), emails on
    `total` only; elsewhere those columns are null (not applicable, not zero).
-#}

with

orders as (
    select * from {{ ref('orders') }}
),

refund_lines as (
    select * from {{ ref('stg_shopify__refund_lines') }}
),

refunds as (
    select * from {{ ref('stg_shopify__refunds') }}
),

shopify_orders as (
    select order_id, record_id from {{ ref('stg_shopify__orders') }}
),

store_activity as (
    select * from {{ ref('int_store_activity_daily') }}
),

channels as (
    select 'web' as channel
    union all
    select 'amazon'
    union all
    select 'pos'
    union all
    select 'total'
),

order_slices as (
    -- each order once in its channel and once in `total`
    select
        order_date,
        channel,
        order_id,
        customer_id,
        is_counted,
        is_first_order,
        gross_revenue,
        discounts,
        refunds,
        net_revenue,
        tax,
        shipping,
        items
    from orders

    union all

    select
        order_date,
        'total' as channel,
        order_id,
        customer_id,
        is_counted,
        is_first_order,
        gross_revenue,
        discounts,
        refunds,
        net_revenue,
        tax,
        shipping,
        items
    from orders
),

order_days as (
    select
        order_date as date_day,
        channel,
        sum(case when is_counted then 1 else 0 end) as orders,
        sum(case when is_counted then 0 else 1 end) as uncounted_orders,
        sum(case when is_counted then gross_revenue else 0 end) as gross_revenue,
        sum(case when is_counted then discounts else 0 end) as discounts,
        sum(case when is_counted then refunds else 0 end) as refunds,
        sum(case when is_counted then net_revenue else 0 end) as net_revenue,
        sum(case when is_counted then tax else 0 end) as tax,
        sum(case when is_counted then shipping else 0 end) as shipping,
        sum(case when is_counted then items else 0 end) as units
    from order_slices
    group by order_date, channel
),

customer_days as (
    select
        order_date as date_day,
        channel,
        customer_id,
        max(case when is_first_order then 1 else 0 end) as is_new
    from order_slices
    where is_counted
        and customer_id is not null
    group by order_date, channel, customer_id
),

customer_day_counts as (
    select
        date_day,
        channel,
        count(*) as customers,
        sum(is_new) as new_customers,
        sum(1 - is_new) as returning_customers
    from customer_days
    group by date_day, channel
),

refunds_issued as (
    select
        {{ to_utc_date('refunds.refunded_at') }} as date_day,
        sum(refund_lines.refund_amount) as refunds_issued
    from refund_lines
    inner join refunds
        on refund_lines.refund_id = refunds.refund_id
    inner join shopify_orders
        on refund_lines.order_id = shopify_orders.order_id
    inner join orders
        on shopify_orders.record_id = orders.order_id
    where orders.is_counted
    group by {{ to_utc_date('refunds.refunded_at') }}
),

day_bounds as (
    select
        min(date_day) as first_day,
        max(date_day) as last_day
    from (
        select date_day from order_days
        union all
        select activity_date as date_day from store_activity
        union all
        select date_day from refunds_issued
    ) as activity_days
),

calendar as (
    select
        cast({{ dbt.dateadd('day', 'series.n', 'day_bounds.first_day') }} as date) as date_day
    from ({{ integer_series(5) }}) as series
    cross join day_bounds
    where series.n <= {{ dbt.datediff('day_bounds.first_day', 'day_bounds.last_day', 'day') }}
),

spine as (
    select
        calendar.date_day,
        channels.channel
    from calendar
    cross join channels
),

final as (
    select
        spine.date_day,
        spine.channel,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.uncounted_orders, 0) as uncounted_orders,
        {{ to_money('coalesce(order_days.gross_revenue, 0)') }} as gross_revenue,
        {{ to_money('coalesce(order_days.discounts, 0)') }} as discounts,
        {{ to_money('coalesce(order_days.refunds, 0)') }} as refunds,
        {{ to_money('coalesce(order_days.net_revenue, 0)') }} as net_revenue,
        {{ money_per('order_days.net_revenue', 'order_days.orders') }} as aov,
        {{ to_money('coalesce(order_days.tax, 0)') }} as tax,
        {{ to_money('coalesce(order_days.shipping, 0)') }} as shipping,
        cast(coalesce(order_days.units, 0) as {{ dbt.type_bigint() }}) as units,
        coalesce(customer_day_counts.customers, 0) as customers,
        coalesce(customer_day_counts.new_customers, 0) as new_customers,
        coalesce(customer_day_counts.returning_customers, 0) as returning_customers,
        case
            when spine.channel in ('web', 'total')
                then {{ to_money('coalesce(refunds_issued.refunds_issued, 0)') }}
            else {{ to_money('0') }}
        end as refunds_issued,
        case
            when spine.channel in ('web', 'total') then coalesce(store_activity.abandoned_checkouts, 0)
        end as abandoned_checkouts,
        case
            when spine.channel in ('web', 'total') then coalesce(store_activity.recovered_checkouts, 0)
        end as recovered_checkouts,
        case
            when spine.channel = 'total' then coalesce(store_activity.emails_sent, 0)
        end as emails_sent,
        case
            when spine.channel = 'total' then coalesce(store_activity.emails_opened, 0)
        end as emails_opened,
        case
            when spine.channel = 'total' then coalesce(store_activity.emails_clicked, 0)
        end as emails_clicked,
        case
            when spine.channel = 'total' then coalesce(store_activity.email_unsubscribes, 0)
        end as email_unsubscribes,
        case
            when spine.channel in ('web', 'total') then coalesce(store_activity.shipments, 0)
        end as shipments,
        case
            when spine.channel in ('web', 'total') then coalesce(store_activity.deliveries, 0)
        end as deliveries,
        case
            when spine.channel in ('web', 'total') then coalesce(store_activity.late_deliveries, 0)
        end as late_deliveries
    from spine
    left join order_days
        on spine.date_day = order_days.date_day
        and spine.channel = order_days.channel
    left join customer_day_counts
        on spine.date_day = customer_day_counts.date_day
        and spine.channel = customer_day_counts.channel
    left join refunds_issued
        on spine.date_day = refunds_issued.date_day
    left join store_activity
        on spine.date_day = store_activity.activity_date
)

select * from final
