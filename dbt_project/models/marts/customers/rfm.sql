{#-
    One row per customer with at least one counted order: recency, frequency, monetary, their
    quintile scores and a named segment (the rule table is in _customers__models.yml).
    - recency_days = reporting date − date of the last counted order; frequency = counted
      orders; monetary = Σ net revenue of those orders (lifetime).
    - score = 1 + floor(5 × percent_rank()), ordered so that 5 is best (recency reversed:
      the most recent buyers score 5). Ties share a score, so the many one-order customers all
      get F = 1 instead of being split at random across quintiles.
    - fm_score = ceil((F + M) / 2); the segment is the first rule of the table that matches
      (one-order buyers are never Champions or Loyal, whatever they spent).
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

customer_orders as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as frequency,
        sum(net_revenue) as monetary
    from orders
    group by customer_id
),

measured as (
    select
        customer_orders.customer_id,
        customer_orders.first_order_date,
        customer_orders.last_order_date,
        {{ dbt.datediff('customer_orders.last_order_date', 'reporting_date.as_of_date', 'day') }} as recency_days,
        customer_orders.frequency,
        customer_orders.monetary,
        reporting_date.as_of_date
    from customer_orders
    cross join reporting_date
),

ranked as (
    select
        *,
        percent_rank() over (order by recency_days desc) as recency_rank,
        percent_rank() over (order by frequency) as frequency_rank,
        percent_rank() over (order by monetary) as monetary_rank
    from measured
),

scored as (
    select
        customer_id,
        first_order_date,
        last_order_date,
        recency_days,
        frequency,
        monetary,
        as_of_date,
        least(5, 1 + cast(floor(5 * recency_rank) as {{ dbt.type_int() }})) as recency_score,
        least(5, 1 + cast(floor(5 * frequency_rank) as {{ dbt.type_int() }})) as frequency_score,
        least(5, 1 + cast(floor(5 * monetary_rank) as {{ dbt.type_int() }})) as monetary_score
    from ranked
),

segmented as (
    select
        *,
        cast(ceil((frequency_score + monetary_score) / 2.0) as {{ dbt.type_int() }}) as fm_score
    from scored
),

final as (
    select
        customer_id,
        first_order_date,
        last_order_date,
        as_of_date,
        recency_days,
        frequency,
        {{ to_money('monetary') }} as monetary,
        recency_score,
        frequency_score,
        monetary_score,
        fm_score,
        {{ dbt.concat([
            dbt.safe_cast('recency_score', dbt.type_string()),
            dbt.safe_cast('frequency_score', dbt.type_string()),
            dbt.safe_cast('monetary_score', dbt.type_string()),
        ]) }} as rfm_score,
        case
            -- repeat buyers (F >= 2)
            when frequency_score >= 2 and recency_score >= 4 and fm_score >= 4 then 'Champions'
            when frequency_score >= 2 and recency_score >= 3 and fm_score >= 3 then 'Loyal'
            when frequency_score >= 2 and recency_score >= 4 then 'Potential Loyalist'
            when frequency_score >= 2 and recency_score = 3 then 'Need Attention'
            when frequency_score >= 2 and recency_score = 1 and fm_score >= 4 then 'Can''t Lose Them'
            when frequency_score >= 2 then 'At Risk'
            -- one-order buyers (F = 1)
            when recency_score >= 4 and monetary_score >= 4 then 'Potential Loyalist'
            when recency_score = 5 then 'New'
            when recency_score = 4 then 'Promising'
            when recency_score = 3 and monetary_score >= 4 then 'Need Attention'
            when recency_score = 3 then 'About to Sleep'
            when recency_score = 2 then 'Hibernating'
            else 'Lost'
        end as rfm_segment
    from segmented
)

select * from final
