{{ config(materialized='table') }}

{#-
    The edges of the identity graph: one row per (node_id, identifier_id) where the record carries
    an accepted identifier that at least one other record carries too (an identifier of a single
    record links nothing, so it is left out of the label propagation).
-#}

with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
    where identifier_type is not null
),

records as (
    select * from {{ ref('int_identity_records') }}
),

accepted_identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
    where is_accepted
        and records > 1
),

final as (
    select
        records.node_id,
        accepted_identifiers.identifier_id
    from identifiers
    inner join accepted_identifiers
        on identifiers.identifier_type = accepted_identifiers.identifier_type
        and identifiers.identifier_value = accepted_identifiers.identifier_value
    inner join records
        on identifiers.record_key = records.record_key
)

select * from final
