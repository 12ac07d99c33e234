{#- A phone number in E.164 as identity resolution compares it (the staging contract's
    `phone_e164`), North American (+1) by default: the non-digits stripped; 10 digits -> +1 and
    the digits; 11 digits starting with 1 -> + and the digits; written with a leading + -> + and
    its digits (its own country code kept, 10 to 15 digits). Null otherwise, in particular with
    fewer than 10 digits. Junk values (0000000000) are left to identity resolution's blocklist.

    normalize_phone("'(415) 555-0123'")  ->  '+14155550123'
-#}
{% macro normalize_phone(column) -%}
    {%- set digits = strip_non_digits(column) -%}
    case
        when {{ column }} is null then null
        when trim({{ column }}) like '+%' then
            case
                when length({{ digits }}) between 10 and 15 then {{ dbt.concat(["'+'", digits]) }}
            end
        when length({{ digits }}) = 10 then {{ dbt.concat(["'+1'", digits]) }}
        when length({{ digits }}) = 11 and {{ digits }} like '1%' then {{ dbt.concat(["'+'", digits]) }}
    end
{%- endmacro %}

{#- The text with every character other than 0-9 removed. -#}
{% macro strip_non_digits(column) -%}
    {{ return(adapter.dispatch("strip_non_digits")(column)) }}
{%- endmacro %}

{#- DuckDB and Postgres: replace every match needs the 'g' flag. -#}
{% macro default__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '', 'g')
{%- endmacro %}

{#- Spark, Snowflake, BigQuery: regexp_replace replaces every match. -#}
{% macro spark__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '')
{%- endmacro %}

{% macro snowflake__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '')
{%- endmacro %}

{% macro bigquery__strip_non_digits(column) -%}
    regexp_replace({{ column }}, r'[^0-9]', '')
{%- endmacro %}
