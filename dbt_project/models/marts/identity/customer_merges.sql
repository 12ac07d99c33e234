{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

{#-
    The log of merges: one row per customer_id that stopped existing because its records joined
    an older customer (surviving_customer_id), with the run that did it, how many records moved
    and which identifier types linked them. Appended by every run that merged something; read
    from customer_identities just after it is rebuilt (its previous_customer_id column holds each
    record's customer before this run).
-#}

with

identities as (
    select * from {{ ref('customer_identities') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
    where identifier_type is not null
),

accepted_identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
    where is_accepted
),

moves as (
    select
        previous_customer_id as merged_customer_id,
        customer_id as surviving_customer_id,
        max(resolved_at) as merged_at,
        max(resolution_run_id) as run_id,
        count(*) as records_moved
    from identities
    where previous_customer_id is not null
        and previous_customer_id <> customer_id
    group by 1, 2
),

surviving_records as (
    select
        identities.record_key,
        identities.customer_id,
        coalesce(identities.previous_customer_id, '') as previous_customer_id
    from identities
    where identities.customer_id in (select surviving_customer_id from moves)
),

surviving_links as (
    select
        surviving_records.customer_id,
        surviving_records.previous_customer_id,
        identifiers.identifier_type,
        identifiers.identifier_value
    from surviving_records
    inner join identifiers
        on surviving_records.record_key = identifiers.record_key
    inner join accepted_identifiers
        on identifiers.identifier_type = accepted_identifiers.identifier_type
        and identifiers.identifier_value = accepted_identifiers.identifier_value
),

bridging_identifiers as (
    -- identifiers carried by records that had different customers before this run
    select
        customer_id,
        identifier_type,
        identifier_value
    from surviving_links
    group by 1, 2, 3
    having count(distinct previous_customer_id) > 1
),

bridging_types as (
    select distinct
        surviving_links.previous_customer_id as merged_customer_id,
        surviving_links.identifier_type
    from surviving_links
    inner join bridging_identifiers
        on surviving_links.customer_id = bridging_identifiers.customer_id
        and surviving_links.identifier_type = bridging_identifiers.identifier_type
        and surviving_links.identifier_value = bridging_identifiers.identifier_value
),

reasons as (
    select
        merged_customer_id,
        {{ dbt.listagg('identifier_type', "', '", 'order by identifier_type') }} as identifier_types
    from bridging_types
    group by 1
),

final as (
    select
        moves.merged_customer_id,
        moves.surviving_customer_id,
        moves.merged_at,
        moves.run_id,
        moves.records_moved,
        coalesce(
            {{ dbt.concat(["'shared '", 'reasons.identifier_types']) }},
            'joined through records of a third customer'
        ) as reason
    from moves
    left join reasons
        on moves.merged_customer_id = reasons.merged_customer_id
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as logged
        where logged.merged_customer_id = moves.merged_customer_id
            and logged.run_id = moves.run_id
    )
    {%- endif %}
)

select * from final
