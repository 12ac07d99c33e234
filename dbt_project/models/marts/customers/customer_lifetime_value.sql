{#-
    One row per customer with at least one counted order: predicted net revenue over the next
    12 months (CLV), with its inputs and the population parameters it was fitted with.

    A small, documented stand-in for BG/NBD + Gamma-Gamma (no maintained CLV library or scipy in
    this stack), fitted in SQL by the method of moments, all in days:
    1. Purchase rate. Repeat orders x of a customer observed for T days (first counted order →
       reporting date) are Poisson(λ T), λ ~ Gamma(r, α) across customers. Moments over the
       customers: μ = Σx / ΣT, σ² = (Σ(x − μT)² − μΣT) / ΣT², α = μ / σ², r = μα. A customer's
       rate is the posterior mean λ̂ = (r + x) / (α + T): their own rate shrunk toward the
       population's, strongly for new customers. No extra-Poisson spread (σ² ≤ 0): λ̂ = μ.
    2. Survival. Customers stop buying at a constant dropout rate δ = 1 / var
       `clv_expected_lifetime_days` (default 730). With no order in the last s days (recency),
       P(alive) = 1 / (1 + δ / (λ̂ + δ) × (exp((λ̂ + δ) s) − 1)) (Poisson purchases, exponential
       lifetime: the Pareto/NBD likelihood at fixed rates).
    3. Expected orders over the horizon H (var `clv_horizon_days`, default 365):
       P(alive) × λ̂ / δ × (1 − exp(−δ H)).
    4. Order value (Bühlmann–Straub credibility, the Gamma-Gamma idea): the customer's mean net
       order value m shrunk toward the order-weighted population mean m̄:
       (n m + k m̄) / (n + k), k = within-customer variance / between-customer variance
       (k = 0 when no customer has repeat orders; own mean ignored when there is no
       between-customer variance).
    predicted_clv_12m = expected orders × expected order value (undiscounted, net revenue).
-#}

{%- set lifetime_days = var('clv_expected_lifetime_days', 730) %}
{%- set horizon_days = var('clv_horizon_days', 365) %}

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
        orders.customer_id,
        count(*) as orders,
        count(*) - 1 as repeat_orders,
        {{ dbt.datediff('min(orders.order_date)', 'max(reporting_date.as_of_date)', 'day') }} as customer_age_days,
        {{ dbt.datediff('max(orders.order_date)', 'max(reporting_date.as_of_date)', 'day') }} as recency_days,
        cast(sum(orders.net_revenue) as {{ dbt.type_float() }}) as net_revenue,
        cast(sum(orders.net_revenue * orders.net_revenue) as {{ dbt.type_float() }}) as net_revenue_squared
    from orders
    cross join reporting_date
    group by orders.customer_id
),

customer_measures as (
    select
        *,
        net_revenue / orders as mean_order_value,
        -- Σ (v − m)² within the customer's orders
        greatest(net_revenue_squared - net_revenue * net_revenue / orders, 0) as within_sum_of_squares
    from customer_orders
),

rate_moments as (
    select
        sum(repeat_orders) * 1.0 / nullif(sum(customer_age_days), 0) as mean_rate
    from customer_measures
),

rate_fit as (
    select
        coalesce(rate_moments.mean_rate, 0) as mean_rate,
        (
            sum(
                (customer_measures.repeat_orders - rate_moments.mean_rate * customer_measures.customer_age_days)
                * (customer_measures.repeat_orders - rate_moments.mean_rate * customer_measures.customer_age_days)
            )
            - rate_moments.mean_rate * sum(customer_measures.customer_age_days)
        ) / nullif(sum(customer_measures.customer_age_days * customer_measures.customer_age_days * 1.0), 0)
            as rate_variance
    from customer_measures
    cross join rate_moments
    group by rate_moments.mean_rate
),

rate_prior as (
    select
        mean_rate,
        case when rate_variance > 0 and mean_rate > 0 then mean_rate / rate_variance end as prior_alpha,
        case
            when rate_variance > 0 and mean_rate > 0 then mean_rate * mean_rate / rate_variance
        end as prior_r
    from rate_fit
),

value_moments as (
    select
        sum(net_revenue) / sum(orders) as population_order_value,
        sum(orders) as total_orders,
        sum(orders * orders) as total_orders_squared,
        count(*) as customers,
        sum(within_sum_of_squares) / nullif(sum(repeat_orders), 0) as within_variance
    from customer_measures
),

value_fit as (
    select
        value_moments.population_order_value,
        value_moments.within_variance,
        (
            sum(
                customer_measures.orders
                * (customer_measures.mean_order_value - value_moments.population_order_value)
                * (customer_measures.mean_order_value - value_moments.population_order_value)
            )
            - (value_moments.customers - 1) * coalesce(value_moments.within_variance, 0)
        ) / nullif(
            value_moments.total_orders - value_moments.total_orders_squared * 1.0 / value_moments.total_orders,
            0
        ) as between_variance
    from customer_measures
    cross join value_moments
    group by
        value_moments.population_order_value,
        value_moments.within_variance,
        value_moments.customers,
        value_moments.total_orders,
        value_moments.total_orders_squared
),

value_prior as (
    select
        population_order_value,
        case
            when within_variance is null then 0
            when between_variance > 0 then within_variance / between_variance
        end as credibility_k
    from value_fit
),

posterior as (
    select
        customer_measures.customer_id,
        customer_measures.orders,
        customer_measures.repeat_orders,
        customer_measures.customer_age_days,
        customer_measures.recency_days,
        customer_measures.mean_order_value,
        rate_prior.mean_rate,
        rate_prior.prior_r,
        rate_prior.prior_alpha,
        value_prior.population_order_value,
        value_prior.credibility_k,
        case
            when rate_prior.prior_alpha is not null
                then (rate_prior.prior_r + customer_measures.repeat_orders)
                    / (rate_prior.prior_alpha + customer_measures.customer_age_days)
            else rate_prior.mean_rate
        end as purchase_rate,
        case
            when value_prior.credibility_k is null then value_prior.population_order_value
            else (
                customer_measures.orders * customer_measures.mean_order_value
                + value_prior.credibility_k * value_prior.population_order_value
            ) / (customer_measures.orders + value_prior.credibility_k)
        end as expected_order_value,
        1.0 / {{ lifetime_days }} as dropout_rate
    from customer_measures
    cross join rate_prior
    cross join value_prior
),

survival as (
    select
        *,
        1.0 / (
            1.0 + dropout_rate / (purchase_rate + dropout_rate)
            * (exp(least((purchase_rate + dropout_rate) * recency_days, 700.0)) - 1.0)
        ) as probability_alive
    from posterior
),

predicted as (
    select
        *,
        probability_alive * purchase_rate / dropout_rate
            * (1.0 - exp(-dropout_rate * {{ horizon_days }})) as expected_orders
    from survival
),

final as (
    select
        customer_id,
        orders,
        repeat_orders,
        customer_age_days,
        recency_days,
        {{ to_money('mean_order_value') }} as mean_order_value,
        round(cast(purchase_rate * 365 as {{ dbt.type_numeric() }}), 4) as purchase_rate_per_year,
        round(cast(probability_alive as {{ dbt.type_numeric() }}), 4) as probability_alive,
        round(cast(expected_orders as {{ dbt.type_numeric() }}), 4) as expected_orders_12m,
        {{ to_money('expected_order_value') }} as expected_order_value,
        {{ to_money('expected_orders * expected_order_value') }} as predicted_clv_12m,
        round(cast(mean_rate * 365 as {{ dbt.type_numeric() }}), 6) as population_rate_per_year,
        round(cast(prior_r as {{ dbt.type_numeric() }}), 6) as prior_shape_r,
        round(cast(prior_alpha as {{ dbt.type_numeric() }}), 4) as prior_scale_alpha_days,
        {{ to_money('population_order_value') }} as population_order_value,
        round(cast(credibility_k as {{ dbt.type_numeric() }}), 4) as credibility_k,
        round(cast(dropout_rate * 365 as {{ dbt.type_numeric() }}), 6) as dropout_rate_per_year
    from predicted
)

select * from final
