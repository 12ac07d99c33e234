{{ config(materialized='table') }}

{#-
    The nodes of the identity graph: one row per person-bearing record, numbered by when it was
    first seen (node_id 1 is the earliest record; ties broken by record_key), with the email and
    phone it carries. Label propagation keeps the smallest node_id of a component, so a
    component's label is its earliest record.
-#}

with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

records as (
    select
        record_key,
        source,
        record_type,
        record_id,
        min(first_seen_at) as first_seen_at,
        max(case when identifier_type = 'email' then identifier_value end) as email_normalized,
        max(case when identifier_type = 'phone' then identifier_value end) as phone_e164
    from identifiers
    group by 1, 2, 3, 4
),

final as (
    select
        row_number() over (order by first_seen_at nulls last, record_key) as node_id,
        record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        email_normalized,
        phone_e164
    from records
)

select * from final
