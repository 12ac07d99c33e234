{#-
    Connected components of a bipartite graph by iterative minimum-label propagation.

    `edges` names a relation or CTE with one row per (node, group) link; nodes are numbers, and a
    group is anything two nodes can share (an identifier, a previous customer id). The macro
    renders CTEs (each followed by a comma) ending in `<prefix>_labels` with one row per linked
    node: `node_id`, `label` = the smallest node id reachable from it.

    Pass k: every group takes the smallest label among its nodes, then every node the smallest
    label among its groups. Each pass reads the previous one exactly once, so the SQL is linear
    in the number of passes on every engine (Spark inlines CTEs, DuckDB materializes them through
    `cte_materialized()`). One pass moves a label one node further, so a component whose longest
    shortest path is d links needs d passes; the caller's convergence test fails otherwise.
-#}
{% macro label_propagation_ctes(edges, node_column, group_column, passes, prefix) -%}
{%- if passes < 1 -%}
    {{ exceptions.raise_compiler_error("label propagation needs at least one pass") }}
{%- endif -%}
{%- for pass in range(passes) %}
{{ prefix }}_group_labels_{{ pass + 1 }} as {{ cte_materialized() }} (
    select
        {{ edges }}.{{ group_column }} as group_key,
        min({% if loop.first %}{{ edges }}.{{ node_column }}{% else %}{{ prefix }}_node_labels_{{ pass }}.label{% endif %}) as label
    from {{ edges }}
    {%- if not loop.first %}
    inner join {{ prefix }}_node_labels_{{ pass }}
        on {{ edges }}.{{ node_column }} = {{ prefix }}_node_labels_{{ pass }}.node_id
    {%- endif %}
    group by {{ edges }}.{{ group_column }}
),

{{ prefix }}_node_labels_{{ pass + 1 }} as {{ cte_materialized() }} (
    select
        {{ edges }}.{{ node_column }} as node_id,
        min({{ prefix }}_group_labels_{{ pass + 1 }}.label) as label
    from {{ edges }}
    inner join {{ prefix }}_group_labels_{{ pass + 1 }}
        on {{ edges }}.{{ group_column }} = {{ prefix }}_group_labels_{{ pass + 1 }}.group_key
    group by {{ edges }}.{{ node_column }}
),
{% endfor %}
{{ prefix }}_labels as (
    select node_id, label from {{ prefix }}_node_labels_{{ passes }}
),
{%- endmacro %}
