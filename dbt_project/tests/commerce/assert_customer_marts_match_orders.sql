{#- The customer marts describe the same buyers and money as `orders`: customers with orders,
    rfm rows, CLV rows and month-0 cohort members are the distinct customers with counted
    orders; their orders and net revenue add up to the counted orders'. Fails with the
    differing checks. -#}
with

orders as (
    select * from {{ ref('orders') }}
    where is_counted
        and customer_id is not null
),

customers as (
    select * from {{ ref('customers') }}
),

rfm as (
    select * from {{ ref('rfm') }}
),

lifetime_value as (
    select * from {{ ref('customer_lifetime_value') }}
),

cohort_retention as (
    select * from {{ ref('cohort_retention') }}
),

expected as (
    select
        count(distinct customer_id) as buyers,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
),

measured as (
    select 'customers' as model, count(*) as buyers, sum(orders) as orders, sum(net_revenue) as net_revenue
    from customers
    where has_ordered

    union all

    select 'rfm', count(*), sum(frequency), sum(monetary)
    from rfm

    union all

    select 'customer_lifetime_value', count(*), sum(orders), null
    from lifetime_value

    union all

    select 'cohort_retention', sum(cohort_customers), sum(orders), sum(net_revenue)
    from cohort_retention
    where months_since_first_order = 0

    union all

    select 'cohort_retention (all months)', null, sum(orders), sum(net_revenue)
    from cohort_retention
),

final as (
    select measured.*
    from measured
    cross join expected
    where (measured.buyers is not null and measured.buyers <> expected.buyers)
        or (measured.model <> 'cohort_retention' and measured.orders <> expected.orders)
        or (measured.model not in ('cohort_retention', 'customer_lifetime_value')
            and measured.net_revenue <> expected.net_revenue)
)

select * from final
