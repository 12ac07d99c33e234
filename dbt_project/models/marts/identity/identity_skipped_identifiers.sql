{#-
    The audit of identifiers the resolver refused to link on: one row per identifier value that
    was carried by at least one record but blocklisted or over a cardinality limit (see
    int_identity_identifiers for the rules and identity_setting for the limits).
-#}

with

identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
),

final as (
    select
        identifier_type,
        identifier_value,
        skip_reason,
        skip_detail,
        records as records_affected,
        personal_emails,
        relay_emails,
        phones
    from identifiers
    where not is_accepted
)

select * from final
