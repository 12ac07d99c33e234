{#- One row per carrier x service x UTC month of shipping (`period_grain` = 'month'), plus one
    row per carrier x service over all time (`period_grain` = 'all_time', shipped_month null):
    percentiles do not add up over months, so the all-time figures are computed, not summed.

    Voided labels are left out (they never ship); voided_labels counts them. on_time_rate =
    delivered on or before the carrier's estimated date / delivered shipments (DESIGN), late_rate
    = late / delivered; days to deliver are whole UTC days from ship date to delivery. -#}
{%- set measures %}
        sum(case when is_voided then 0 else 1 end) as shipments,
        sum(case when is_voided then 1 else 0 end) as voided_labels,
        sum(case when is_delivered then 1 else 0 end) as delivered,
        sum(case when is_on_time then 1 else 0 end) as on_time,
        sum(case when is_late then 1 else 0 end) as late,
        sum(case when is_lost then 1 else 0 end) as lost,
        sum(case when is_returned then 1 else 0 end) as returned,
        sum(case when not is_voided and not is_delivered and not is_lost and not is_returned then 1 else 0 end)
            as in_flight,
        avg(case when is_delivered then days_to_deliver end) as avg_days_to_deliver,
        {{ percentile_cont('case when is_delivered then days_to_deliver end', 0.5) }} as median_days_to_deliver,
        {{ percentile_cont('case when is_delivered then days_to_deliver end', 0.9) }} as p90_days_to_deliver,
        avg(case when is_late then days_late end) as avg_days_late,
        avg(case when not is_voided then label_cost end) as avg_label_cost,
        sum(case when not is_voided then label_cost else 0 end) as total_label_cost
{%- endset %}

with

shipments as (
    select * from {{ ref('shipments') }}
),

by_month as (
    select
        'month' as period_grain,
        carrier,
        service,
        shipped_month,
        {{ measures }}
    from shipments
    group by carrier, service, shipped_month
),

all_time as (
    select
        'all_time' as period_grain,
        carrier,
        service,
        cast(null as date) as shipped_month,
        {{ measures }}
    from shipments
    group by carrier, service
),

unioned as (
    select * from by_month
    union all
    select * from all_time
),

final as (
    select
        {{ dbt.concat([
            'carrier', "':'", 'service', "':'",
            "coalesce(" ~ dbt.safe_cast('shipped_month', dbt.type_string()) ~ ", 'all')",
        ]) }} as carrier_performance_id,
        period_grain,
        carrier,
        service,
        shipped_month,
        shipments,
        voided_labels,
        delivered,
        on_time,
        late,
        lost,
        returned,
        in_flight,
        {{ safe_ratio('on_time', 'delivered') }} as on_time_rate,
        {{ safe_ratio('late', 'delivered') }} as late_rate,
        {{ safe_ratio('lost', 'shipments') }} as lost_rate,
        avg_days_to_deliver,
        median_days_to_deliver,
        p90_days_to_deliver,
        avg_days_late,
        {{ to_money('avg_label_cost') }} as avg_label_cost,
        {{ to_money('total_label_cost') }} as total_label_cost
    from unioned
)

select * from final
