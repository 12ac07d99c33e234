{#- Orders API v2026-01-01 lands the status and channel in its own vocabulary; staging keeps the
    v0 one it has always carried (Shipped, Canceled, AFN, ...), which downstream models read. -#}
{%- set order_statuses = {
    'PENDING_AVAILABILITY': 'PendingAvailability',
    'PENDING': 'Pending',
    'UNSHIPPED': 'Unshipped',
    'PARTIALLY_SHIPPED': 'PartiallyShipped',
    'SHIPPED': 'Shipped',
    'CANCELLED': 'Canceled',
    'UNFULFILLABLE': 'Unfulfillable',
} %}
{#- ", PRIME, AMAZON_BUSINESS, ": the order's programs, delimited so one can be looked up whole -#}
{%- set programs = "concat(', ', " ~ json_list_to_text('programs') ~ ", ', ')" %}

with

source as (
    select * from {{ source_or_empty('amazon', 'orders') }}
),

-- v2026 counts shipped and unshipped units per item only
item_counts as (
    select
        order_id,
        sum(fulfillment__quantity_fulfilled) as items_shipped,
        sum(fulfillment__quantity_unfulfilled) as items_unshipped
    from {{ source_or_empty('amazon', 'order_items') }}
    group by order_id
),

renamed as (
    select
        source.order_id as amazon_order_id,
        source.order_id as record_id,
        {{ to_utc_timestamp('created_time') }} as purchased_at,
        {{ to_utc_timestamp('last_updated_time') }} as updated_at,
        case fulfillment__fulfillment_status
            {%- for status, v0_status in order_statuses.items() %}
            when '{{ status }}' then '{{ v0_status }}'
            {%- endfor %}
        end as order_status,
        coalesce(fulfillment__fulfillment_status = 'CANCELLED', false) as is_cancelled,
        coalesce(fulfillment__fulfillment_status = 'PENDING', false) as is_pending,
        case fulfillment__fulfilled_by
            when 'AMAZON' then 'AFN'
            when 'MERCHANT' then 'MFN'
        end as fulfillment_channel,
        sales_channel__marketplace_name as sales_channel,
        sales_channel__marketplace_id as marketplace_id,
        case when {{ programs }} like '%, PREORDER, %' then 'Preorder' else 'StandardOrder' end
            as order_type,
        coalesce({{ programs }} like '%, AMAZON_BUSINESS, %', false) as is_business_order,
        coalesce({{ programs }} like '%, PRIME, %', false) as is_prime,
        coalesce(
            cast(associated_orders as {{ dbt.type_string() }}) like '%REPLACEMENT_ORIGINAL_ID%',
            false
        ) as is_replacement_order,
        item_counts.items_shipped,
        item_counts.items_unshipped,
        buyer__buyer_email as buyer_email,
        {{ normalize_email('buyer__buyer_email') }} as email_normalized,
        buyer__buyer_name as buyer_name,
        recipient__delivery_address__phone as phone,
        {{ normalize_phone('recipient__delivery_address__phone') }} as phone_e164,
        recipient__delivery_address__city as ship_city,
        recipient__delivery_address__state_or_region as ship_state,
        recipient__delivery_address__postal_code as ship_postal_code,
        recipient__delivery_address__country_code as ship_country_code,
        {{ to_money('proceeds__grand_total__amount') }} as order_total,
        proceeds__grand_total__currency_code as currency
    from source
    left join item_counts on item_counts.order_id = source.order_id
)

select * from renamed
