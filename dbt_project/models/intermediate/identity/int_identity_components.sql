{{ config(materialized='table') }}

{#-
    Connected components of the identity graph: one row per person-bearing record (node_id) with
    its component_id, the smallest node_id of the component (records linked by no accepted
    identifier are components of their own). Only the two numbers: the record's columns are in
    int_identity_records. Computed by label propagation over
    int_identity_edges for identity_label_passes passes; the identity_components_converged test
    fails the build when that was not enough for some component.
-#}

with

records as (
    select node_id from {{ ref('int_identity_records') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

{{ label_propagation_ctes('edges', 'node_id', 'identifier_id', identity_setting('identity_label_passes'), 'component') }}

final as (
    select
        records.node_id,
        coalesce(component_labels.label, records.node_id) as component_id
    from records
    left join component_labels
        on records.node_id = component_labels.node_id
)

select * from final
