{#-
    Generic data tests of identity resolution.
-#}

{#- Label propagation converged: no group of `edges` (an identifier) links nodes that ended in
    different components. Fails with each such group: the passes were not enough (raise
    identity_label_passes). -#}
{% test identity_components_converged(model, edges, node_column='node_id', group_column='identifier_id', label_column='component_id') %}

select
    edges.{{ group_column }},
    min(labelled.{{ label_column }}) as first_component,
    max(labelled.{{ label_column }}) as last_component
from {{ edges }} as edges
inner join {{ model }} as labelled
    on edges.{{ node_column }} = labelled.{{ node_column }}
group by edges.{{ group_column }}
having min(labelled.{{ label_column }}) <> max(labelled.{{ label_column }})

{% endtest %}

{#- The model holds exactly the records of this run's graph (`records`, by node_id): none is
    missing, and none is left over from a record that left the sources. That every staging record
    is a node is int_identity_records' construction (a union of whole staging models), checked
    against the sandbox's truth in tests/dbt/test_identity.py; a test per staging model cost a
    recomputation of each staging view. Fails with the missing and the extra node ids. -#}
{% test identity_has_every_record(model, records) %}

select
    coalesce(records.node_id, identities.node_id) as node_id,
    case when identities.node_id is null then 'missing' else 'not in the graph' end as problem
from {{ records }} as records
full outer join {{ model }} as identities
    on records.node_id = identities.node_id
where records.node_id is null
    or identities.node_id is null

{% endtest %}

{#- Every component of this run's identity graph is one customer (the reverse need not hold: a
    customer keeps the records an earlier run linked). Fails with the split components. -#}
{% test identity_one_customer_per_component(model, components) %}

select
    components.component_id,
    min(identities.customer_id) as first_customer_id,
    max(identities.customer_id) as last_customer_id
from {{ components }} as components
inner join {{ model }} as identities
    on components.node_id = identities.node_id
group by components.component_id
having min(identities.customer_id) <> max(identities.customer_id)

{% endtest %}

{#- A merged customer id no longer names any customer. -#}
{% test identity_merged_ids_retired(model, column_name, identities) %}

select distinct merges.{{ column_name }}
from {{ model }} as merges
inner join {{ identities }} as identities
    on merges.{{ column_name }} = identities.customer_id

{% endtest %}

{#- Every record whose customer changed in the latest run is explained by a merge of its former
    customer into its new one (attach to the merges log, which is built after the identities). -#}
{% test identity_changes_explained(model, identities) %}

select
    identities.record_key,
    identities.previous_customer_id,
    identities.customer_id
from {{ identities }} as identities
left join {{ model }} as merges
    on identities.previous_customer_id = merges.merged_customer_id
    and identities.customer_id = merges.surviving_customer_id
where identities.previous_customer_id is not null
    and identities.previous_customer_id <> identities.customer_id
    and merges.merged_customer_id is null

{% endtest %}
