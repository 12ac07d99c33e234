with

source as (
    select * from {{ source_or_empty('shopify', 'orders') }}
),

renamed as (
    select
        cast(legacy_resource_id as {{ dbt.type_bigint() }}) as order_id,
        id as record_id,
        name as order_name,
        {{ digits_to_bigint("replace(name, '#', '')") }} as order_number,
        {{ shopify_legacy_id('customer__id') }} as customer_id,
        customer__id as customer_record_id,
        email,
        {{ normalize_email('email') }} as email_normalized,
        phone,
        {{ normalize_phone('phone') }} as phone_e164,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('processed_at') }} as processed_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('cancelled_at') }} as cancelled_at,
        cancel_reason,
        cancelled_at is not null as is_cancelled,
        coalesce(test, false) as is_test,
        coalesce(closed, false) as is_closed,
        source_name,
        currency_code as currency,
        -- Shopify's subtotal is after all discounts: adding them back gives Σ unit price x quantity
        {{ to_money('subtotal_price + coalesce(total_discounts, 0)') }} as gross_revenue,
        {{ to_money('coalesce(total_discounts, 0)') }} as discounts,
        {{ to_money('subtotal_price') }} as subtotal,
        {{ to_money('coalesce(total_tax, 0)') }} as tax,
        {{ to_money('coalesce(total_shipping_price, 0)') }} as shipping,
        {{ to_money('total_price') }} as total_price,
        {{ to_money('coalesce(total_refunded, 0)') }} as total_refunded,
        {{ to_money('current_total_price') }} as current_total_price,
        {{ json_list_first('discount_codes') }} as discount_code,
        {{ json_list_to_text('tags') }} as tags,
        note,
        display_financial_status as financial_status,
        display_fulfillment_status as fulfillment_status,
        shipping_address__first_name as ship_first_name,
        shipping_address__last_name as ship_last_name,
        shipping_address__city as ship_city,
        shipping_address__province_code as ship_province_code,
        shipping_address__zip as ship_zip,
        shipping_address__country_code_v2 as ship_country_code,
        shipping_address__phone as ship_phone
    from source
)

select * from renamed
