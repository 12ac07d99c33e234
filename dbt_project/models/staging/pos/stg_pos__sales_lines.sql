with

source as (
    select * from {{ source_or_empty('pos', 'sales_lines') }}
),

renamed as (
    select
        transaction_id,
        line_no,
        {{ to_utc_timestamp('timestamp') }} as sold_at,
        -- a blank location is the one the export's file name carries (pos_<location>_<date>.csv)
        coalesce(
            {{ digits_to_bigint('trim(location)') }},
            {{ digits_to_bigint(dbt.split_part('_source_file', "'_'", 2)) }}
        ) as location_id,
        sku,
        quantity,
        {{ to_money('gross') }} as gross_amount,
        {{ to_money('coalesce(discount, 0)') }} as discount_amount,
        {{ to_money('net') }} as net_amount,
        nullif(trim(customer_email), '') as email,
        {{ normalize_email("nullif(trim(customer_email), '')") }} as email_normalized,
        nullif(trim(customer_phone), '') as phone,
        {{ normalize_phone("nullif(trim(customer_phone), '')") }} as phone_e164,
        _source_file as source_file,
        _source_line as source_line,
        {{ to_utc_timestamp('_source_modified_at') }} as source_modified_at
    from source
)

select * from renamed
