{#-
    Portable helpers for the marketing, shipping and inventory marts.

    Timestamps are timestamptz in UTC, but an engine subtracts them in its *session* time zone
    (DuckDB: the machine's zone unless set). Durations of the marts are UTC by definition, so
    they go through these macros (UTC dates: `to_utc_date` in macros/commerce/).
-#}

{#- The UTC wall-clock time of a timestamptz, as a timestamp without time zone. -#}
{% macro utc_wall_clock(expression) -%}
    {{ return(adapter.dispatch('utc_wall_clock')(expression)) }}
{%- endmacro %}

{% macro default__utc_wall_clock(expression) -%}
    ({{ expression }} at time zone 'UTC')
{%- endmacro %}

{% macro spark__utc_wall_clock(expression) -%}
    to_utc_timestamp({{ expression }}, current_timezone())
{%- endmacro %}

{#- Whole seconds from one timestamptz to another (end - start), independent of the session
    time zone (a day that changes daylight saving time is not an hour short or long). -#}
{% macro seconds_between(start, end) -%}
    {{ dbt.datediff(utc_wall_clock(start), utc_wall_clock(end), 'second') }}
{%- endmacro %}

{#- Hours (with fractions) from one timestamptz to another. -#}
{% macro hours_between(start, end) -%}
    ({{ seconds_between(start, end) }} / 3600.0)
{%- endmacro %}

{#- The continuous percentile of a column inside an aggregate (0.9 = p90, interpolated). -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- a / b as a fraction, null when b is 0 or null (never integer division). -#}
{% macro safe_ratio(numerator, denominator) -%}
    ({{ numerator }} * 1.0 / nullif({{ denominator }}, 0))
{%- endmacro %}
