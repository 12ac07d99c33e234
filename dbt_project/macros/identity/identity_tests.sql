{#-
    Generic data tests of identity resolution.
-#}

{#- Label propagation converged: no group of `edges` (an identifier) links nodes that ended in
    different components. Fails with each such group: the passes were not enough (raise
    identity_label_passes). -#}
{% test identity_components_converged(model, edges, node_column='node_id', group_column='identifier_id', label_column='component_id') %}

select
    edges.{{ group_column }},
    count(distinct labelled.{{ label_column }}) as components
from {{ edges }} as edges
inner join {{ model }} as labelled
    on edges.{{ node_column }} = labelled.{{ node_column }}
group by edges.{{ group_column }}
having count(distinct labelled.{{ label_column }}) > 1

{% endtest %}

{#- The model holds exactly the records of a staging model for one (source, record_type): every
    staging record_id is in the model, and the model has no record of that kind staging lacks
    (uniqueness is the record key's own test). Fails with the missing and the extra record ids. -#}
{% test identity_has_every_record(model, records, source_value, record_type_value) %}

with

expected as (
    select distinct record_id from {{ records }}
),

actual as (
    select record_id
    from {{ model }}
    where source = '{{ source_value }}'
        and record_type = '{{ record_type_value }}'
),

missing as (
    select expected.record_id, 'missing' as problem
    from expected
    left join actual on expected.record_id = actual.record_id
    where actual.record_id is null
),

extra as (
    select actual.record_id, 'not in staging' as problem
    from actual
    left join expected on actual.record_id = expected.record_id
    where expected.record_id is null
)

select * from missing
union all
select * from extra

{% endtest %}

{#- Every component of this run's identity graph is one customer (the reverse need not hold: a
    customer keeps the records an earlier run linked). Fails with the split components. -#}
{% test identity_one_customer_per_component(model, components) %}

select
    components.component_id,
    count(distinct identities.customer_id) as customers
from {{ components }} as components
inner join {{ model }} as identities
    on components.node_id = identities.node_id
group by components.component_id
having count(distinct identities.customer_id) > 1

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
