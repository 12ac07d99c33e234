{#- The raw table a staging model reads, robust to sources that have not landed (yet).

    `{{ source_or_empty('shopify', 'orders') }}` renders a subquery that selects exactly the
    columns declared (with a `data_type`) for that table in `_<source>__sources.yml`:
    - the raw table exists: each declared column it has, and a typed null for each it lacks (dlt
      creates a column only once a non-null value arrives, so a young warehouse may miss some);
    - the raw table does not exist (the source never ran, e.g. no POS file was ever dropped, or a
      child table such as refunds that stays empty until the first refund): no rows, same columns.
    Either way the staging model compiles and builds with the same typed columns, so `dbt build`
    works on a warehouse holding only some sources. `source()` is still called, so lineage and
    `dbt source freshness` see the dependency.

    Declare every column the model reads; a column missing from the declaration is an error.
-#}
{% macro source_or_empty(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or _in_unit_test() -%}
        {#- parsing; or a unit test, whose source() is its fixture: read it as it is -#}
        {{ relation }}
    {%- else -%}
        {%- set declared = _declared_source_columns(source_name, table_name) -%}
        {%- set existing = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
        {%- if existing is none -%}
            (
                select
                {%- for column in declared %}
                    cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
                {%- endfor %}
                where 1 = 0
            )
        {%- else -%}
            {%- set present = [] -%}
            {%- for column in adapter.get_columns_in_relation(existing) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
            (
                select
                {%- for column in declared %}
                    {%- if column.name | lower in present %}
                    {{ adapter.quote(column.name) }} as {{ column.name }}{{ "," if not loop.last }}
                    {%- else %}
                    cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
                    {%- endif %}
                {%- endfor %}
                from {{ existing }}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The columns declared for a source table: a list of {name, data_type}, in declared order. -#}
{% macro _declared_source_columns(source_name, table_name) -%}
    {%- set nodes = graph.sources.values()
        | selectattr("source_name", "equalto", source_name)
        | selectattr("name", "equalto", table_name)
        | list -%}
    {%- if nodes | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "source_or_empty: no source table " ~ source_name ~ "." ~ table_name) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in nodes[0].columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error(
                "source_or_empty: column " ~ column.name ~ " of " ~ source_name ~ "."
                ~ table_name ~ " needs a data_type in its sources file") }}
        {%- endif -%}
        {%- do columns.append({"name": column.name, "data_type": column.data_type}) -%}
    {%- endfor -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "source_or_empty: declare the columns of " ~ source_name ~ "." ~ table_name
            ~ " (name and data_type) in its sources file") }}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}


{#- True while dbt renders a unit test (its graph holds no sources). -#}
{% macro _in_unit_test() -%}
    {{ return(model is mapping and model.get("resource_type") == "unit_test") }}
{%- endmacro %}
