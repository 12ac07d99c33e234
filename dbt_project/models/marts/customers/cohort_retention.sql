{#-
    One row per cohort month × months since first order (0 = the cohort month itself), for every
    month from the cohort's to the reporting date's month. Cohort = the UTC month of a customer's
    first counted order on any channel (DESIGN.md); active_customers = cohort members with a
    counted order in that month; retention_rate(c, k) = active / cohort customers (1 at k = 0).
    Revenue is the net revenue of the cohort's counted orders in that month; cumulative figures
    run from the cohort month, per cohort customer for cumulative_revenue_per_customer.
-#}

with

orders as (
    select
        customer_id,
        order_date,
        net_revenue
    from {{ ref('orders') }}
    where is_counted
        and customer_id is not null
),

reporting_date as (
    select * from {{ ref('int_reporting_date') }}
),

customer_cohorts as (
    select
        customer_id,
        {{ month_start('min(order_date)') }} as cohort_month
    from orders
    group by customer_id
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_customers
    from customer_cohorts
    group by cohort_month
),

monthly_activity as (
    select
        customer_cohorts.cohort_month,
        {{ dbt.datediff('customer_cohorts.cohort_month', month_start('orders.order_date'), 'month') }}
            as months_since_first_order,
        count(distinct orders.customer_id) as active_customers,
        count(*) as orders,
        sum(orders.net_revenue) as net_revenue
    from orders
    inner join customer_cohorts
        on orders.customer_id = customer_cohorts.customer_id
    group by
        customer_cohorts.cohort_month,
        {{ dbt.datediff('customer_cohorts.cohort_month', month_start('orders.order_date'), 'month') }}
),

cohort_months as (
    -- every month from the cohort's to the reporting month
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_customers,
        series.n as months_since_first_order
    from cohort_sizes
    cross join reporting_date
    cross join ({{ integer_series(3) }}) as series
    where series.n <= {{ dbt.datediff('cohort_sizes.cohort_month', month_start('reporting_date.as_of_date'), 'month') }}
),

joined as (
    select
        cohort_months.cohort_month,
        cohort_months.months_since_first_order,
        cast({{ dbt.dateadd('month', 'cohort_months.months_since_first_order', 'cohort_months.cohort_month') }} as date)
            as activity_month,
        cohort_months.cohort_customers,
        coalesce(monthly_activity.active_customers, 0) as active_customers,
        coalesce(monthly_activity.orders, 0) as orders,
        coalesce(monthly_activity.net_revenue, 0) as net_revenue
    from cohort_months
    left join monthly_activity
        on cohort_months.cohort_month = monthly_activity.cohort_month
        and cohort_months.months_since_first_order = monthly_activity.months_since_first_order
),

final as (
    select
        cohort_month,
        months_since_first_order,
        activity_month,
        cohort_customers,
        active_customers,
        round(cast(active_customers as {{ dbt.type_numeric() }}) / cohort_customers, 4) as retention_rate,
        orders,
        {{ to_money('net_revenue') }} as net_revenue,
        {{ to_money(
            'sum(net_revenue) over (partition by cohort_month order by months_since_first_order'
            ~ ' rows between unbounded preceding and current row)'
        ) }} as cumulative_net_revenue,
        {{ to_money(
            'sum(net_revenue) over (partition by cohort_month order by months_since_first_order'
            ~ ' rows between unbounded preceding and current row) / cohort_customers'
        ) }} as cumulative_revenue_per_customer
    from joined
)

select * from final
