{{ config(materialized='table') }}

{#-
    The edges of the identity graph: one row per (node_id, identifier_id) where the record carries
    an accepted identifier (int_identity_identifiers holds only values carried by two or more
    records, or skipped ones).
-#}

with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
    where identifier_type is not null
),

accepted_identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
    where is_accepted
),

final as (
    select
        identifiers.node_id,
        accepted_identifiers.identifier_id
    from identifiers
    inner join accepted_identifiers
        on identifiers.identifier_type = accepted_identifiers.identifier_type
        and identifiers.identifier_value = accepted_identifiers.identifier_value
)

select * from final
