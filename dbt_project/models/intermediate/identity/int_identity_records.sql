{{ config(materialized='table') }}

{#-
    The nodes of the identity graph: one row per person-bearing record of every source (Shopify
    customers, orders including guest orders, abandoned checkouts; Amazon orders; POS
    transactions; HubSpot contacts; Klaviyo profiles; ShipStation shipments) with the
    identifiers it carries, one column each:

    - email_normalized   staging's normalised email
    - phone_e164         staging's E.164 phone
    - shopify_customer   the Shopify customer GID: a customer's own, an order's or an abandoned
                         checkout's customer, HubSpot's shopify_customer_id, Klaviyo's external_id
    - shopify_order      the Shopify order GID: an order's own, a ShipStation shipment's order
    - klaviyo_profile    the Klaviyo profile id: a profile's own, and the profile whose Started
                         Checkout event names an abandoned checkout (Klaviyo's Shopify
                         integration knows who started a checkout even when the shop does not)

    node_id is a 63-bit hash of record_key (identity_hash_bigint): the same in every run, and no
    global sort of the records.
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
    -- the Klaviyo profile that started each checkout (the smallest id, should there be several)
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

keyed as (
    select
        {{ dbt.concat(['source', "':'", 'record_type', "':'", 'record_id']) }} as record_key,
        records.*
    from records
),

final as (
    select
        {{ identity_hash_bigint('record_key') }} as node_id,
        record_key,
        source,
        record_type,
        record_id,
        first_seen_at,
        email_normalized,
        phone_e164,
        shopify_customer,
        shopify_order,
        klaviyo_profile
    from keyed
)

select * from final
