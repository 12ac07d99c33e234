{{
    config(
        materialized='incremental',
        unique_key='record_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=false,
        post_hook="delete from {{ this }} where node_id not in (select node_id from {{ ref('int_identity_records') }})",
    )
}}

{#-
    One row per person-bearing record of every source with its stable customer_id.

    The table is its own memory: each run reads the previous assignment ({{ this }}) and
    1. takes the connected components of this run's identity graph (int_identity_components);
    2. joins components that hold records of one previous customer: a customer is never split
       (an identifier that became shared stops new links, it does not undo old ones). Only the
       tangle of components and previous customers that are not one-to-one goes through label
       propagation (identity_merge_passes; were they not enough, a previous customer would
       survive in one place and merge in another, which fails identity_merged_ids_retired);
    3. gives each group the customer_id of its oldest previous customer (earliest first_seen_at
       of its records, then the smaller id); the group's other previous customers merged into it
       (customer_merges logs them);
    4. mints `cus_` + 16 hex digits of md5(record_key of the earliest record: first_seen_at, then
       the smallest record_key) for a component with no previous customer, so that a first build
       (or a rebuild from nothing) is deterministic.
    A run writes only what changed: new records, records whose customer merged, records whose
    email, phone or first_seen_at changed; rows of records that left the sources are deleted
    (post-hook). `full_refresh: false`: `dbt build --full-refresh` keeps the ids (drop the table
    to re-mint them).
-#}

with

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

previous as (
    {%- if is_incremental() %}
    select
        node_id,
        customer_id,
        email_normalized,
        phone_e164,
        first_seen_at,
        previous_customer_id,
        customer_id_assigned_at,
        assigned_run_id
    from {{ this }}
    {%- else %}
    select
        cast(null as bigint) as node_id,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        cast(null as {{ dbt.type_string() }}) as phone_e164,
        {{ identity_run_started_at() }} as first_seen_at,
        cast(null as {{ dbt.type_string() }}) as previous_customer_id,
        {{ identity_run_started_at() }} as customer_id_assigned_at,
        cast(null as {{ dbt.type_string() }}) as assigned_run_id
    where 1 = 0
    {%- endif %}
),

records as {{ cte_materialized() }} (
    select
        identity_records.node_id,
        components.component_id,
        identity_records.record_key,
        identity_records.source,
        identity_records.record_type,
        identity_records.record_id,
        identity_records.email_normalized,
        identity_records.phone_e164,
        identity_records.first_seen_at,
        previous.node_id is not null as was_resolved,
        previous.customer_id as resolved_customer_id,
        previous.email_normalized as resolved_email_normalized,
        previous.phone_e164 as resolved_phone_e164,
        previous.first_seen_at as resolved_first_seen_at,
        previous.previous_customer_id as resolved_previous_customer_id,
        previous.customer_id_assigned_at as resolved_customer_id_assigned_at,
        previous.assigned_run_id as resolved_assigned_run_id
    from identity_records
    inner join components
        on identity_records.node_id = components.node_id
    left join previous
        on identity_records.node_id = previous.node_id
),

component_customers as {{ cte_materialized() }} (
    select distinct
        component_id,
        resolved_customer_id as customer_id
    from records
    where resolved_customer_id is not null
),

tangled as (
    -- components holding several previous customers, or whose customer spans other components
    select
        component_customers.component_id,
        component_customers.customer_id
    from component_customers
    inner join (
        select component_id, count(*) as customers
        from component_customers
        group by 1
    ) as per_component
        on component_customers.component_id = per_component.component_id
    inner join (
        select customer_id, count(*) as components
        from component_customers
        group by 1
    ) as per_customer
        on component_customers.customer_id = per_customer.customer_id
    where per_component.customers > 1
        or per_customer.components > 1
),

{{ label_propagation_ctes('tangled', 'component_id', 'customer_id', identity_setting('identity_merge_passes'), 'merge') }}

tangled_survivors as (
    select
        group_id,
        customer_id
    from (
        select
            merge_labels.label as group_id,
            tangled.customer_id,
            row_number() over (
                partition by merge_labels.label
                order by customer_ages.first_seen_at nulls last, tangled.customer_id
            ) as age_rank
        from tangled
        inner join merge_labels
            on tangled.component_id = merge_labels.node_id
        inner join (
            select resolved_customer_id as customer_id, min(resolved_first_seen_at) as first_seen_at
            from records
            where resolved_customer_id in (select customer_id from tangled)
            group by 1
        ) as customer_ages
            on tangled.customer_id = customer_ages.customer_id
    ) as ranked
    where age_rank = 1
),

survivors as (
    select
        component_customers.component_id,
        coalesce(tangled_survivors.customer_id, component_customers.customer_id) as customer_id
    from component_customers
    left join merge_labels
        on component_customers.component_id = merge_labels.node_id
    left join tangled_survivors
        on merge_labels.label = tangled_survivors.group_id
),

component_survivors as (
    select distinct component_id, customer_id from survivors
),

new_records as (
    -- records of components that hold no previous customer
    select
        records.component_id,
        records.record_key,
        records.first_seen_at
    from records
    left join component_customers
        on records.component_id = component_customers.component_id
    where component_customers.component_id is null
),

new_components as (
    select
        component_id,
        min(first_seen_at) as first_seen_at
    from new_records
    group by 1
),

minted as (
    -- named after the component's earliest record (the smallest record_key among ties)
    select
        new_records.component_id,
        {{ identity_mint_customer_id('min(new_records.record_key)') }} as customer_id
    from new_records
    inner join new_components
        on new_records.component_id = new_components.component_id
    where new_records.first_seen_at = new_components.first_seen_at
        or new_components.first_seen_at is null
    group by 1
),

assigned as (
    select
        records.*,
        coalesce(component_survivors.customer_id, minted.customer_id) as customer_id
    from records
    left join component_survivors
        on records.component_id = component_survivors.component_id
    left join minted
        on records.component_id = minted.component_id
),

final as (
    select
        customer_id,
        source,
        record_type,
        record_id,
        record_key,
        node_id,
        email_normalized,
        phone_e164,
        first_seen_at,
        case
            when resolved_customer_id = customer_id then resolved_previous_customer_id
            else resolved_customer_id
        end as previous_customer_id,
        case
            when resolved_customer_id = customer_id then resolved_customer_id_assigned_at
            else {{ identity_run_started_at() }}
        end as customer_id_assigned_at,
        case
            when resolved_customer_id = customer_id then resolved_assigned_run_id
            else '{{ invocation_id }}'
        end as assigned_run_id
    from assigned
    where not was_resolved
        or resolved_customer_id <> customer_id
        or {{ identity_changed('email_normalized', 'resolved_email_normalized') }}
        or {{ identity_changed('phone_e164', 'resolved_phone_e164') }}
        or {{ identity_changed('first_seen_at', 'resolved_first_seen_at') }}
)

select * from final
