{#- Models land in the schema their folder names (staging, intermediate, marts), not
    "<target schema>_<custom schema>": the warehouse's schemas are part of the product's contract. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
