{{ config(materialized='view') }}

{#-
    Every person-bearing record with each identifier it carries: one row per (source,
    record_type, record_id, identifier_type, identifier_value), unpivoted from
    int_identity_records. A record that carries no identifier at all (a till sale without email
    or phone, a guest's abandoned checkout no Klaviyo profile started) still gets one row, with a
    null identifier_type and identifier_value: it becomes a customer of its own.

    identifier_type: email, phone, shopify_customer, shopify_order, klaviyo_profile (see
    int_identity_records for what each holds). A view: its two consumers read it once each,
    cheaper than writing millions of rows.
-#}

with

records as (
    select * from {{ ref('int_identity_records') }}
),

identifiers as (
    {%- set identifier_columns = [
        ('email', 'email_normalized'),
        ('phone', 'phone_e164'),
        ('shopify_customer', 'shopify_customer'),
        ('shopify_order', 'shopify_order'),
        ('klaviyo_profile', 'klaviyo_profile'),
    ] %}
    {%- for identifier_type, column in identifier_columns %}
    select
        node_id,
        record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        '{{ identifier_type }}' as identifier_type,
        {{ column }} as identifier_value
    from records
    where {{ column }} is not null

    union all
    {% endfor %}
    select
        node_id,
        record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier_value
    from records
    where email_normalized is null
        and phone_e164 is null
        and shopify_customer is null
        and shopify_order is null
        and klaviyo_profile is null
),

final as (
    select
        record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        identifier_type,
        identifier_value,
        node_id
    from identifiers
)

select * from final
