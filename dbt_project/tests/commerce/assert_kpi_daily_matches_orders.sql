{#- kpi_daily adds up: per channel, its order metrics summed over all days equal the counted
    orders of `orders`; the `total` rows equal the sum of the channel rows; every day between
    the first and the last is there with its four rows. Fails with the differing checks. -#}
with

orders as (
    select * from {{ ref('orders') }}
    where is_counted
),

kpi_daily as (
    select * from {{ ref('kpi_daily') }}
),

order_sums as (
    select
        channel,
        count(*) as orders,
        sum(gross_revenue) as gross_revenue,
        sum(discounts) as discounts,
        sum(refunds) as refunds,
        sum(net_revenue) as net_revenue,
        sum(items) as units,
        sum(case when is_first_order then 1 else 0 end) as new_customers
    from orders
    group by channel
),

kpi_sums as (
    select
        channel,
        sum(orders) as orders,
        sum(gross_revenue) as gross_revenue,
        sum(discounts) as discounts,
        sum(refunds) as refunds,
        sum(net_revenue) as net_revenue,
        sum(units) as units,
        sum(new_customers) as new_customers
    from kpi_daily
    group by channel
),

channel_rows_summed as (
    select
        date_day,
        sum(orders) as orders,
        sum(net_revenue) as net_revenue,
        sum(new_customers) as new_customers,
        count(*) as channel_rows
    from kpi_daily
    where channel <> 'total'
    group by date_day
),

calendar as (
    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(distinct date_day) as days,
        count(*) as day_rows
    from kpi_daily
),

final as (
    select 'channel sums differ from orders: ' || coalesce(order_sums.channel, kpi_sums.channel) as failure
    from order_sums
    full outer join kpi_sums
        on order_sums.channel = kpi_sums.channel
    where coalesce(kpi_sums.channel, '') <> 'total'
        and (
            order_sums.channel is null
            or kpi_sums.channel is null
            or order_sums.orders <> kpi_sums.orders
            or order_sums.gross_revenue <> kpi_sums.gross_revenue
            or order_sums.discounts <> kpi_sums.discounts
            or order_sums.refunds <> kpi_sums.refunds
            or order_sums.net_revenue <> kpi_sums.net_revenue
            or order_sums.units <> kpi_sums.units
            or order_sums.new_customers <> kpi_sums.new_customers
        )

    union all

    select 'total row differs from its channels on ' || cast(kpi_daily.date_day as {{ dbt.type_string() }})
    from kpi_daily
    inner join channel_rows_summed
        on kpi_daily.date_day = channel_rows_summed.date_day
    where kpi_daily.channel = 'total'
        and (
            kpi_daily.orders <> channel_rows_summed.orders
            or kpi_daily.net_revenue <> channel_rows_summed.net_revenue
            or kpi_daily.new_customers <> channel_rows_summed.new_customers
            or channel_rows_summed.channel_rows <> 3
        )

    union all

    select 'calendar has gaps or missing channel rows'
    from calendar
    where days <> {{ dbt.datediff('first_day', 'last_day', 'day') }} + 1
        or day_rows <> 4 * days
)

select * from final
