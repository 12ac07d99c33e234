{#- Helpers of the commerce and customer marts (dates, number series, the reporting date,
    money ratios): one definition each, dispatched per engine where engines differ. -#}

{#- The UTC calendar date of a timestamptz, whatever the session's time zone. -#}
{% macro to_utc_date(expression) -%}
    {{ return(adapter.dispatch('to_utc_date')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_date(expression) -%}
    cast({{ expression }} as date)
{%- endmacro %}

{% macro duckdb__to_utc_date(expression) -%}
    cast(({{ expression }} at time zone 'UTC') as date)
{%- endmacro %}

{% macro postgres__to_utc_date(expression) -%}
    cast(({{ expression }} at time zone 'UTC') as date)
{%- endmacro %}

{#- The first day of a date's month, as a date. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}

{#- A `select` of the integers 0 .. 10^digits - 1 as `n` (a portable number series: cross joins
    of ten digits, no generate_series or recursion). -#}
{% macro integer_series(digits=5) -%}
    select
        {% for position in range(digits) -%}
        digits_{{ position }}.digit * {{ 10 ** position }}{{ ' +' if not loop.last }}
        {% endfor -%}
        as n
    from
        {% for position in range(digits) -%}
        (
            select 0 as digit union all select 1 union all select 2 union all select 3
            union all select 4 union all select 5 union all select 6 union all select 7
            union all select 8 union all select 9
        ) as digits_{{ position }}
        {{ 'cross join' if not loop.last }}
        {% endfor -%}
{%- endmacro %}

{#- The reporting date of the commerce marts (recency, 90-day windows, CLV horizon start): the
    `commerce_as_of_date` var (YYYY-MM-DD) when set, else the latest order date in the warehouse
    (so a rebuild of the same data gives the same figures, whatever the wall clock says). -#}
{% macro commerce_as_of_date(latest_order_date_expression) -%}
    {%- set pinned = var('commerce_as_of_date', none) -%}
    {%- if pinned -%}
    cast('{{ pinned }}' as date)
    {%- else -%}
    coalesce({{ latest_order_date_expression }}, current_date)
    {%- endif -%}
{%- endmacro %}

{#- A money amount divided by a count, rounded half up to the cent exactly (no binary floating
    point at the half cent): floor((200 × amount + n) / (2n)) / 100, for amount >= 0. Null when
    the count is 0. Used for AOV (DESIGN.md: aov = Σ net_revenue / orders). -#}
{% macro money_per(amount, count) -%}
    case
        when {{ count }} > 0 then cast(
            floor((cast({{ amount }} * 200 as {{ dbt.type_bigint() }}) + {{ count }}) * 1.0 / (2 * {{ count }})) / 100.0
            as decimal(18, 2)
        )
    end
{%- endmacro %}
