{{ config(materialized='table') }}

{#-
    Every person-bearing record of every source, with each identifier it carries: one row per
    (source, record_type, record_id, identifier_type, identifier_value). A record that carries no
    identifier at all (a till sale without email or phone, a guest's abandoned checkout with no
    Klaviyo profile) still gets one row, with a null identifier_type and identifier_value, so
    that it becomes a customer of its own.

    identifier_type:
    - email            staging's email_normalized
    - phone            staging's phone_e164
    - shopify_customer the Shopify customer GID: a customer's own, an order's or an abandoned
                       checkout's customer, HubSpot's shopify_customer_id, Klaviyo's external_id
    - shopify_order    the Shopify order GID: an order's own, a ShipStation shipment's order
    - klaviyo_profile  the Klaviyo profile id: a profile's own, and the profile whose Started
                       Checkout event names an abandoned checkout (Klaviyo's Shopify integration
                       knows who started a checkout even when the shop does not)
-#}

with

shopify_customers as (
    select * from {{ ref('stg_shopify__customers') }}
),

shopify_orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

shopify_abandoned_checkouts as (
    select * from {{ ref('stg_shopify__abandoned_checkouts') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

pos_transactions as (
    select * from {{ ref('stg_pos__transactions') }}
),

hubspot_contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

klaviyo_profiles as (
    select * from {{ ref('stg_klaviyo__profiles') }}
),

klaviyo_events as (
    select * from {{ ref('stg_klaviyo__events') }}
),

shipstation_shipments as (
    select * from {{ ref('stg_shipstation__shipments') }}
),

checkout_profiles as (
    -- the Klaviyo profile that started each checkout (the earliest, should there be several)
    select
        checkout_record_id,
        min(profile_id) as profile_id
    from klaviyo_events
    where checkout_record_id is not null
        and profile_id is not null
        and metric_name = 'Started Checkout'
    group by 1
),

records as (
    select
        'shopify' as source,
        'customer' as record_type,
        record_id,
        created_at as first_seen_at,
        email_normalized,
        phone_e164,
        record_id as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from shopify_customers

    union all

    select
        'shopify' as source,
        'order' as record_type,
        record_id,
        created_at as first_seen_at,
        email_normalized,
        phone_e164,
        customer_record_id as shopify_customer,
        record_id as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from shopify_orders

    union all

    select
        'shopify' as source,
        'abandoned_checkout' as record_type,
        shopify_abandoned_checkouts.record_id,
        shopify_abandoned_checkouts.created_at as first_seen_at,
        cast(null as {{ dbt.type_string() }}) as email_normalized,
        cast(null as {{ dbt.type_string() }}) as phone_e164,
        shopify_abandoned_checkouts.customer_record_id as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        checkout_profiles.profile_id as klaviyo_profile
    from shopify_abandoned_checkouts
    left join checkout_profiles
        on shopify_abandoned_checkouts.record_id = checkout_profiles.checkout_record_id

    union all

    select
        'amazon' as source,
        'order' as record_type,
        record_id,
        purchased_at as first_seen_at,
        email_normalized,
        phone_e164,
        cast(null as {{ dbt.type_string() }}) as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from amazon_orders

    union all

    select
        'pos' as source,
        'transaction' as record_type,
        record_id,
        sold_at as first_seen_at,
        email_normalized,
        phone_e164,
        cast(null as {{ dbt.type_string() }}) as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from pos_transactions

    union all

    select
        'hubspot' as source,
        'contact' as record_type,
        record_id,
        created_at as first_seen_at,
        email_normalized,
        phone_e164,
        shopify_customer_record_id as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from hubspot_contacts

    union all

    select
        'klaviyo' as source,
        'profile' as record_type,
        record_id,
        created_at as first_seen_at,
        email_normalized,
        phone_e164,
        shopify_customer_record_id as shopify_customer,
        cast(null as {{ dbt.type_string() }}) as shopify_order,
        record_id as klaviyo_profile
    from klaviyo_profiles

    union all

    select
        'shipstation' as source,
        'shipment' as record_type,
        record_id,
        created_at as first_seen_at,
        email_normalized,
        phone_e164,
        cast(null as {{ dbt.type_string() }}) as shopify_customer,
        {{ dbt.concat(["'gid://shopify/Order/'", 'cast(order_id as ' ~ dbt.type_string() ~ ')']) }}
            as shopify_order,
        cast(null as {{ dbt.type_string() }}) as klaviyo_profile
    from shipstation_shipments
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
        source,
        record_type,
        record_id,
        first_seen_at,
        '{{ identifier_type }}' as identifier_type,
        {{ column }} as identifier_value
    from records
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

records_without_identifiers as (
    select
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
        {{ dbt.concat(['source', "':'", 'record_type', "':'", 'record_id']) }} as record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        identifier_type,
        identifier_value
    from identifiers

    union all

    select
        {{ dbt.concat(['source', "':'", 'record_type', "':'", 'record_id']) }} as record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        identifier_type,
        identifier_value
    from records_without_identifiers
)

select * from final
