{#- JSON helpers for the few raw columns dlt keeps as JSON (Shopify tags and discount codes,
    Klaviyo campaign audiences). Each is dispatched, with a DuckDB and a Postgres implementation
    and no default (JSON paths differ on every engine), so the models stay free of
    warehouse-specific syntax and another target fails at compile time naming the macro. -#}

{#- A JSON list of strings as one comma-separated text ("VIP, wholesale"); null when empty. -#}
{% macro json_list_to_text(column) -%}
    {{ return(adapter.dispatch("json_list_to_text")(column)) }}
{%- endmacro %}

{% macro duckdb__json_list_to_text(column) -%}
    nullif(array_to_string(json_extract_string({{ column }}, '$[*]'), ', '), '')
{%- endmacro %}

{% macro postgres__json_list_to_text(column) -%}
    nullif((select string_agg(value, ', ') from json_array_elements_text(({{ column }})::json)), '')
{%- endmacro %}

{#- The first element of a JSON list of strings, as text; null when the list is empty. -#}
{% macro json_list_first(column) -%}
    {{ return(adapter.dispatch("json_list_first")(column)) }}
{%- endmacro %}

{% macro duckdb__json_list_first(column) -%}
    json_extract_string({{ column }}, '$[0]')
{%- endmacro %}

{% macro postgres__json_list_first(column) -%}
    (({{ column }})::json ->> 0)
{%- endmacro %}

{#- The text at a key path of a JSON object, e.g. json_text('audiences', ['included', 0]). -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch("json_text")(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    {%- set steps = [] -%}
    {%- for step in path -%}
        {%- do steps.append("[" ~ step ~ "]" if step is number else "." ~ step) -%}
    {%- endfor -%}
    json_extract_string({{ column }}, '${{ steps | join("") }}')
{%- endmacro %}

{% macro postgres__json_text(column, path) -%}
    (({{ column }})::json #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}
