{#-
    One row per SKU: every Shopify variant with a SKU, plus any SKU sold on Amazon or at the till
    that the store's catalogue does not hold. Catalogue attributes (product, price, unit cost,
    margin %) and sales of counted orders on every channel, lifetime and over the 90 days ending
    on the reporting date: units sold, gross/net revenue, refunded units and amounts, return rate
    = refunded units / units sold.
-#}

with

variants as (
    select * from {{ ref('stg_shopify__variants') }}
),

catalogue_products as (
    select * from {{ ref('stg_shopify__products') }}
),

order_lines as (
    select * from {{ ref('order_lines') }}
    where is_counted
),

reporting_date as (
    select * from {{ ref('int_reporting_date') }}
),

catalogue as (
    select
        variants.sku,
        variants.variant_id,
        variants.product_id,
        catalogue_products.title as product_title,
        variants.title as variant_title,
        catalogue_products.product_type,
        catalogue_products.vendor,
        catalogue_products.status as product_status,
        variants.price,
        variants.compare_at_price,
        variants.unit_cost,
        row_number() over (partition by variants.sku order by variants.variant_id) as sku_rank
    from variants
    left join catalogue_products
        on variants.product_id = catalogue_products.product_id
    where variants.sku is not null
),

line_sales as (
    select
        order_lines.sku,
        order_lines.quantity,
        order_lines.gross_amount,
        order_lines.discount_amount,
        order_lines.refunded_quantity,
        order_lines.refund_amount,
        order_lines.net_amount,
        order_lines.gross_margin,
        order_lines.order_id,
        order_lines.order_date,
        order_lines.product_title,
        order_lines.order_date > {{ dbt.dateadd('day', -90, 'reporting_date.as_of_date') }}
            and order_lines.order_date <= reporting_date.as_of_date as is_last_90_days
    from order_lines
    cross join reporting_date
    where order_lines.sku is not null
),

sales as (
    select
        sku,
        max(product_title) as sold_as_title,
        min(order_date) as first_sold_date,
        max(order_date) as last_sold_date,
        count(distinct order_id) as orders,
        sum(quantity) as units_sold,
        sum(gross_amount) as gross_revenue,
        sum(discount_amount) as discounts,
        sum(refund_amount) as refunds,
        sum(net_amount) as net_revenue,
        sum(gross_margin) as gross_margin,
        sum(refunded_quantity) as units_refunded,
        sum(case when is_last_90_days then quantity else 0 end) as units_sold_90d,
        sum(case when is_last_90_days then gross_amount else 0 end) as gross_revenue_90d,
        sum(case when is_last_90_days then net_amount else 0 end) as net_revenue_90d,
        sum(case when is_last_90_days then refund_amount else 0 end) as refunds_90d,
        sum(case when is_last_90_days then refunded_quantity else 0 end) as units_refunded_90d
    from line_sales
    group by sku
),

skus as (
    select sku from catalogue where sku_rank = 1
    union
    select sku from sales
),

final as (
    select
        skus.sku,
        catalogue.variant_id,
        catalogue.product_id,
        coalesce(catalogue.product_title, sales.sold_as_title) as product_title,
        catalogue.variant_title,
        catalogue.product_type,
        catalogue.vendor,
        catalogue.product_status,
        catalogue.variant_id is not null as is_in_catalogue,
        catalogue.price,
        catalogue.compare_at_price,
        catalogue.unit_cost,
        case
            when catalogue.price > 0
                then round(cast((catalogue.price - catalogue.unit_cost) / catalogue.price as {{ dbt.type_numeric() }}), 4)
        end as margin_pct,
        sales.first_sold_date,
        sales.last_sold_date,
        coalesce(sales.orders, 0) as orders,
        cast(coalesce(sales.units_sold, 0) as {{ dbt.type_bigint() }}) as units_sold,
        {{ to_money('coalesce(sales.gross_revenue, 0)') }} as gross_revenue,
        {{ to_money('coalesce(sales.discounts, 0)') }} as discounts,
        {{ to_money('coalesce(sales.refunds, 0)') }} as refunds,
        {{ to_money('coalesce(sales.net_revenue, 0)') }} as net_revenue,
        {{ to_money('sales.gross_margin') }} as gross_margin,
        cast(coalesce(sales.units_refunded, 0) as {{ dbt.type_bigint() }}) as units_refunded,
        case
            when sales.units_sold > 0
                then round(cast(sales.units_refunded as {{ dbt.type_numeric() }}) / sales.units_sold, 4)
        end as return_rate,
        cast(coalesce(sales.units_sold_90d, 0) as {{ dbt.type_bigint() }}) as units_sold_90d,
        {{ to_money('coalesce(sales.gross_revenue_90d, 0)') }} as gross_revenue_90d,
        {{ to_money('coalesce(sales.net_revenue_90d, 0)') }} as net_revenue_90d,
        {{ to_money('coalesce(sales.refunds_90d, 0)') }} as refunds_90d,
        cast(coalesce(sales.units_refunded_90d, 0) as {{ dbt.type_bigint() }}) as units_refunded_90d,
        case
            when sales.units_sold_90d > 0
                then round(cast(sales.units_refunded_90d as {{ dbt.type_numeric() }}) / sales.units_sold_90d, 4)
        end as return_rate_90d
    from skus
    left join catalogue
        on skus.sku = catalogue.sku
        and catalogue.sku_rank = 1
    left join sales
        on skus.sku = sales.sku
)

select * from final
