{#-
    `name as {{ cte_materialized() }} (select ...)`: ask the engine to compute a CTE once.

    DuckDB plans long chains of CTEs very slowly unless they are materialized (24 label passes:
    137 s to plan; with `as materialized`: milliseconds); PostgreSQL accepts the keyword too.
    Spark (and the SQL standard) do not know it, so the default renders nothing.
-#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized')()) }}
{%- endmacro %}

{% macro default__cte_materialized() -%}
{%- endmacro %}

{% macro duckdb__cte_materialized() -%}
    materialized
{%- endmacro %}

{% macro postgres__cte_materialized() -%}
    materialized
{%- endmacro %}
