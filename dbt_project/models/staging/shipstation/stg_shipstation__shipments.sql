with

source as (
    select * from {{ source_or_empty('shipstation', 'shipments') }}
),

renamed as (
    select
        shipment_id,
        {{ dbt.safe_cast('shipment_id', dbt.type_string()) }} as record_id,
        order_id,
        order_number as order_name,
        order_key,
        customer_email,
        {{ normalize_email('customer_email') }} as email_normalized,
        ship_to__phone as phone,
        {{ normalize_phone('ship_to__phone') }} as phone_e164,
        ship_to__name as ship_to_name,
        ship_to__city as ship_city,
        ship_to__state as ship_state,
        ship_to__postal_code as ship_postal_code,
        ship_to__country as ship_country_code,
        carrier_code as carrier,
        service_code as service,
        package_code,
        tracking_number,
        {{ to_money('coalesce(shipment_cost, 0)') }} as label_cost,
        {{ to_money('coalesce(insurance_cost, 0)') }} as insurance_cost,
        weight__value as weight,
        weight__units as weight_units,
        warehouse_id,
        coalesce(is_return_label, false) as is_return_label,
        {{ to_utc_timestamp('create_date') }} as created_at,
        ship_date as shipped_date,
        coalesce(voided, false) as is_voided,
        {{ to_utc_timestamp('void_date') }} as voided_at
    from source
)

select * from renamed
