{#-
    One row: the reporting date (`as_of_date`) of the commerce and customer marts — the
    `commerce_as_of_date` var when set, else the latest order date of any channel. Recency,
    "last 90 days" windows and the CLV horizon are measured from it, so a rebuild of the same
    data gives the same figures whatever the wall clock says.
-#}

with

order_dates as (
    select order_date from {{ ref('orders') }}
),

final as (
    select
        {{ commerce_as_of_date('max(order_date)') }} as as_of_date
    from order_dates
)

select * from final
