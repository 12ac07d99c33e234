{{
    config(
        materialized='incremental',
        unique_key='record_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=false,
        post_hook="delete from {{ this }} where resolution_run_id <> '{{ invocation_id }}'",
    )
}}

{#-
    One row per person-bearing record of every source with its stable customer_id.

    The table is its own memory: each run reads the previous assignment ({{ this }}) and
    1. takes the connected components of this run's identity graph (int_identity_components);
    2. joins components that hold records of one previous customer (a customer is never split:
       an identifier that became shared stops new links, it does not undo old ones), by label
       propagation over component <-> previous customer_id;
    3. gives each joined group the customer_id of its oldest previous customer (earliest
       first_seen_at of its records, then the smaller id); the other previous customers of the
       group are merged into it (customer_merges records them);
    4. mints `cus_` + 16 hex digits of md5(record_key of the earliest record) for groups with no
       previous customer, so a first build (or a rebuild from nothing) is deterministic.
    A record keeps its customer_id from run to run unless its customer merged into an older one.
    Rows of records that left the sources are removed after the insert (post-hook).
    `full_refresh: false`: `dbt build --full-refresh` keeps the ids; drop the table to re-mint.
-#}

with

components as (
    select * from {{ ref('int_identity_components') }}
),

previous as (
    {%- if is_incremental() %}
    select
        record_key,
        customer_id,
        first_seen_at,
        customer_id_assigned_at
    from {{ this }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        {{ identity_run_started_at() }} as first_seen_at,
        {{ identity_run_started_at() }} as customer_id_assigned_at
    where 1 = 0
    {%- endif %}
),

previous_customers as (
    select
        customer_id,
        min(first_seen_at) as customer_first_seen_at
    from previous
    group by 1
),

component_customers as (
    select distinct
        components.component_id,
        previous.customer_id
    from components
    inner join previous
        on components.record_key = previous.record_key
),

{{ label_propagation_ctes('component_customers', 'component_id', 'customer_id', identity_setting('identity_merge_passes'), 'merge') }}

groups as (
    select
        components.component_id,
        coalesce(min(merge_labels.label), components.component_id) as group_id
    from components
    left join merge_labels
        on components.component_id = merge_labels.node_id
    group by components.component_id
),

group_survivors as (
    select
        group_id,
        customer_id
    from (
        select
            groups.group_id,
            component_customers.customer_id,
            row_number() over (
                partition by groups.group_id
                order by previous_customers.customer_first_seen_at nulls last, component_customers.customer_id
            ) as age_rank
        from component_customers
        inner join groups
            on component_customers.component_id = groups.component_id
        inner join previous_customers
            on component_customers.customer_id = previous_customers.customer_id
    ) as ranked
    where age_rank = 1
),

minted as (
    -- a group without previous customers is a single component: its label is its earliest record
    select
        component_id as group_id,
        {{ identity_mint_customer_id('record_key') }} as customer_id
    from components
    where node_id = component_id
),

assigned as (
    select
        components.record_key,
        components.source,
        components.record_type,
        components.record_id,
        coalesce(group_survivors.customer_id, minted.customer_id) as customer_id,
        components.email_normalized,
        components.phone_e164,
        components.first_seen_at
    from components
    inner join groups
        on components.component_id = groups.component_id
    left join group_survivors
        on groups.group_id = group_survivors.group_id
    left join minted
        on groups.group_id = minted.group_id
),

final as (
    select
        assigned.customer_id,
        assigned.source,
        assigned.record_type,
        assigned.record_id,
        assigned.record_key,
        assigned.email_normalized,
        assigned.phone_e164,
        assigned.first_seen_at,
        previous.customer_id as previous_customer_id,
        case
            when previous.customer_id = assigned.customer_id then previous.customer_id_assigned_at
            else {{ identity_run_started_at() }}
        end as customer_id_assigned_at,
        {{ identity_run_started_at() }} as resolved_at,
        '{{ invocation_id }}' as resolution_run_id
    from assigned
    left join previous
        on assigned.record_key = previous.record_key
)

select * from final
