{#- The Admin API shows an abandoned checkout's customer (when the shopper was logged in) and its
    addresses, not the email typed: the phone and name come from the shipping (else billing)
    address. -#}
with

source as (
    select * from {{ source_or_empty('shopify', 'abandoned_checkouts') }}
),

renamed as (
    select
        {{ shopify_legacy_id('id') }} as checkout_id,
        id as record_id,
        name as checkout_name,
        {{ shopify_legacy_id('customer__id') }} as customer_id,
        customer__id as customer_record_id,
        coalesce(shipping_address__phone, billing_address__phone) as phone,
        {{ normalize_phone('coalesce(shipping_address__phone, billing_address__phone)') }} as phone_e164,
        coalesce(shipping_address__first_name, billing_address__first_name) as first_name,
        coalesce(shipping_address__last_name, billing_address__last_name) as last_name,
        shipping_address__city as ship_city,
        shipping_address__province_code as ship_province_code,
        shipping_address__zip as ship_zip,
        shipping_address__country_code_v2 as ship_country_code,
        abandoned_checkout_url,
        {{ json_list_first('discount_codes') }} as discount_code,
        coalesce(taxes_included, false) as is_tax_included,
        {{ to_money('coalesce(total_line_items_price, subtotal_price)') }} as gross_amount,
        {{ to_money('subtotal_price') }} as subtotal,
        {{ to_money('total_price') }} as total_price,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('completed_at') }} as completed_at,
        completed_at is not null as is_completed
    from source
)

select * from renamed
