{#- Orders API v2026-01-01 itemises an item's proceeds as breakdowns (child tables): ITEM (the
    price of all units), SHIPPING, TAX (detailed by subtype ITEM / SHIPPING / DISCOUNT) and
    DISCOUNT (negative: proceeds are what the seller receives). Staging pivots them back into the
    amounts it has always carried, with promotions and their tax as positive amounts. Amazon shows
    no prices on the items of a Pending order: their amounts stay null until the order is
    confirmed (not zero). Once priced, a missing component (no promotion) is 0. -#}

with

source as (
    select * from {{ source_or_empty('amazon', 'order_items') }}
),

breakdowns as (
    select * from {{ source_or_empty('amazon', 'order_items__proceeds__breakdowns') }}
),

detailed_breakdowns as (
    select
        _dlt_parent_id,
        sum(case when subtype = 'SHIPPING' then {{ to_money('value__amount') }} end) as shipping,
        sum(case when subtype = 'DISCOUNT' then {{ to_money('value__amount') }} end) as discount
    from {{ source_or_empty('amazon', 'order_items__proceeds__breakdowns__detailed_breakdowns') }}
    group by _dlt_parent_id
),

proceeds as (
    select
        breakdowns._dlt_parent_id as item_dlt_id,
        {%- for kind in ['ITEM', 'SHIPPING', 'TAX', 'DISCOUNT'] %}
        sum(case when type = '{{ kind }}' then {{ to_money('subtotal__amount') }} end)
            as {{ kind | lower }}_total,
        {%- endfor %}
        sum(case when type = 'TAX' then detailed_breakdowns.shipping end) as shipping_tax,
        sum(case when type = 'TAX' then detailed_breakdowns.discount end) as discount_tax
    from breakdowns
    left join detailed_breakdowns on detailed_breakdowns._dlt_parent_id = breakdowns._dlt_id
    group by breakdowns._dlt_parent_id
),

renamed as (
    select
        order_item_id,
        order_id as amazon_order_id,
        product__seller_sku as sku,
        product__asin as asin,
        product__title as title,
        quantity_ordered as quantity,
        coalesce(fulfillment__quantity_fulfilled, 0) as quantity_shipped,
        -- the ITEM breakdown is the price of all units of the item, not the unit price
        proceeds.item_total as gross_amount,
        case when priced then -coalesce(proceeds.discount_total, 0) end as discount_amount,
        case when priced then
            coalesce(proceeds.tax_total, 0) - coalesce(proceeds.shipping_tax, 0)
            - coalesce(proceeds.discount_tax, 0)
        end as tax,
        case when priced then coalesce(proceeds.shipping_total, 0) end as shipping,
        case when priced then coalesce(proceeds.shipping_tax, 0) end as shipping_tax,
        case when priced then -coalesce(proceeds.discount_tax, 0) end as discount_tax,
        priced as is_priced,
        proceeds__proceeds_total__currency_code as currency,
        coalesce(
            fulfillment__packing__gift_option__gift_message is not null
            or fulfillment__packing__gift_option__gift_wrap_level is not null,
            false
        ) as is_gift,
        -- v0's spelling: NEW -> New
        concat(
            upper(substr(product__condition__condition_type, 1, 1)),
            lower(substr(product__condition__condition_type, 2))
        ) as condition_id
    from (
        select *, proceeds__proceeds_total__amount is not null as priced
        from source
    ) as items
    left join proceeds on proceeds.item_dlt_id = items._dlt_id
)

select * from renamed
