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
    and which identifier types linked them (the accepted identifiers, int_identity_edges, shared
    by records that had different customers before the run). Appended by every run that merged
    something; read from customer_identities just after it is updated: the rows the latest run
    reassigned carry their former customer in previous_customer_id. A merge already logged is
    not logged again.
-#}

with

identities as (
    select * from {{ ref('customer_identities') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
),

latest_run as (
    select max(customer_id_assigned_at) as assigned_at from identities
),

latest_assignments as (
    -- the records the latest run (re)assigned: new ones, and those whose customer merged
    select identities.*
    from identities
    inner join latest_run
        on identities.customer_id_assigned_at = latest_run.assigned_at
),

moves as (
    select
        previous_customer_id as merged_customer_id,
        customer_id as surviving_customer_id,
        max(customer_id_assigned_at) as merged_at,
        max(assigned_run_id) as run_id,
        count(*) as records_moved
    from latest_assignments
    where previous_customer_id is not null
        and previous_customer_id <> customer_id
    group by 1, 2
),

surviving_records as (
    -- the survivors' records with the customer each had before the latest run ('' when new)
    select
        identities.node_id,
        identities.customer_id,
        case
            when identities.customer_id_assigned_at = latest_run.assigned_at
                then coalesce(identities.previous_customer_id, '')
            else identities.customer_id
        end as previous_customer_id
    from identities
    cross join latest_run
    where identities.customer_id in (select surviving_customer_id from moves)
),

surviving_links as (
    -- the accepted identifiers (graph edges) of the survivors' records
    select
        surviving_records.customer_id,
        surviving_records.previous_customer_id,
        edges.identifier_id
    from surviving_records
    inner join edges
        on surviving_records.node_id = edges.node_id
),

bridging_identifiers as (
    -- identifiers carried by records that had different customers before this run
    select
        customer_id,
        identifier_id
    from surviving_links
    group by 1, 2
    having count(distinct previous_customer_id) > 1
),

bridging_types as (
    select distinct
        surviving_links.previous_customer_id as merged_customer_id,
        identifiers.identifier_type
    from surviving_links
    inner join bridging_identifiers
        on surviving_links.customer_id = bridging_identifiers.customer_id
        and surviving_links.identifier_id = bridging_identifiers.identifier_id
    inner join identifiers
        on surviving_links.identifier_id = identifiers.identifier_id
),

reasons as (
    select
        merged_customer_id,
        {{ sorted_string_agg('identifier_type', "', '") }} as identifier_types
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
