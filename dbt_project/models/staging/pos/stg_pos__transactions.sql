{#- The till has no transaction table: a transaction is its sales lines, rolled up. -#}
with

sales_lines as (
    select * from {{ ref('stg_pos__sales_lines') }}
),

transactions as (
    select
        transaction_id,
        transaction_id as record_id,
        min(sold_at) as sold_at,
        max(location_id) as location_id,
        max(email) as email,
        max(email_normalized) as email_normalized,
        max(phone) as phone,
        max(phone_e164) as phone_e164,
        {{ to_money('sum(gross_amount)') }} as gross_amount,
        {{ to_money('sum(discount_amount)') }} as discount_amount,
        {{ to_money('sum(net_amount)') }} as net_amount,
        sum(quantity) as quantity,
        count(*) as line_count
    from sales_lines
    group by transaction_id
)

select * from transactions
