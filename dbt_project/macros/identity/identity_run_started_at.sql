{#- The time this dbt invocation started, as a UTC timestamptz literal (the same in every model). -#}
{% macro identity_run_started_at() -%}
    {{ return(adapter.dispatch('identity_run_started_at')()) }}
{%- endmacro %}

{% macro default__identity_run_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00:00' as timestamp with time zone)
{%- endmacro %}

{% macro spark__identity_run_started_at() -%}
    to_utc_timestamp('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}', 'UTC')
{%- endmacro %}

{#- `cus_` and the first 16 hex digits of the md5 of a text expression: a short, stable customer id. -#}
{% macro identity_mint_customer_id(expression) -%}
    {{ dbt.concat(["'cus_'", "substring(" ~ dbt.hash(expression) ~ ", 1, 16)"]) }}
{%- endmacro %}

{#- True when two values differ, nulls included (portable `is distinct from`). -#}
{% macro identity_changed(left, right) -%}
    (not coalesce({{ left }} = {{ right }}, false) and not ({{ left }} is null and {{ right }} is null))
{%- endmacro %}
