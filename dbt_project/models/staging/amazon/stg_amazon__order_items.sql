{#- Amazon shows no prices on the items of a Pending order: their amounts stay null until the
    order is confirmed (not zero). Once priced, a missing component (no promotion) is 0. -#}
{%- set priced_components = {
    'discount_amount': 'promotion_discount__amount',
    'tax': 'item_tax__amount',
    'shipping': 'shipping_price__amount',
    'shipping_tax': 'shipping_tax__amount',
    'discount_tax': 'promotion_discount_tax__amount',
} %}

with

source as (
    select * from {{ source_or_empty('amazon', 'order_items') }}
),

renamed as (
    select
        order_item_id,
        amazon_order_id,
        seller_sku as sku,
        asin,
        title,
        quantity_ordered as quantity,
        coalesce(quantity_shipped, 0) as quantity_shipped,
        -- SP-API ItemPrice is the price of all units of the item, not the unit price
        {{ to_money('item_price__amount') }} as gross_amount,
        {%- for column, raw_column in priced_components.items() %}
        case
            when item_price__amount is not null then {{ to_money('coalesce(' ~ raw_column ~ ', 0)') }}
        end as {{ column }},
        {%- endfor %}
        item_price__amount is not null as is_priced,
        item_price__currency_code as currency,
        coalesce(lower(is_gift) = 'true', false) as is_gift,
        condition_id
    from source
)

select * from renamed
