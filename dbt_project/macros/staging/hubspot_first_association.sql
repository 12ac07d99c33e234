{#- HubSpot association child tables list every record a record is associated with. The staging
    models carry one foreign key per relation: the first association HubSpot lists (its primary
    one). Renders a subquery with one row per `from_key`: (from_key, to_key). -#}
{% macro hubspot_first_association(table_name, from_key, to_key) -%}
    (
        select {{ from_key }}, {{ to_key }}
        from (
            select
                {{ from_key }},
                {{ to_key }},
                row_number() over (
                    partition by {{ from_key }}
                    order by _dlt_list_idx nulls last, {{ to_key }}
                ) as association_rank
            from {{ source_or_empty('hubspot', table_name) }}
        ) as ranked
        where association_rank = 1
    )
{%- endmacro %}
