with

source as (
    select * from {{ source_or_empty('amazon', 'orders') }}
),

renamed as (
    select
        amazon_order_id,
        amazon_order_id as record_id,
        {{ to_utc_timestamp('purchase_date') }} as purchased_at,
        {{ to_utc_timestamp('last_update_date') }} as updated_at,
        order_status,
        coalesce(order_status = 'Canceled', false) as is_cancelled,
        coalesce(order_status = 'Pending', false) as is_pending,
        fulfillment_channel,
        sales_channel,
        marketplace_id,
        order_type,
        coalesce(is_business_order, false) as is_business_order,
        coalesce(is_prime, false) as is_prime,
        coalesce(is_replacement_order, false) as is_replacement_order,
        number_of_items_shipped as items_shipped,
        number_of_items_unshipped as items_unshipped,
        buyer_info__buyer_email as buyer_email,
        {{ normalize_email('buyer_info__buyer_email') }} as email_normalized,
        buyer_info__buyer_name as buyer_name,
        shipping_address__phone as phone,
        {{ normalize_phone('shipping_address__phone') }} as phone_e164,
        shipping_address__city as ship_city,
        shipping_address__state_or_region as ship_state,
        shipping_address__postal_code as ship_postal_code,
        shipping_address__country_code as ship_country_code,
        {{ to_money('order_total__amount') }} as order_total,
        order_total__currency_code as currency
    from source
)

select * from renamed
