{#- One row per counted order (order_id, the key of `orders`), attributed to the
    email that last touched its customer (DESIGN: last click, or last open when there was no
    click, of a campaign or flow email within 5 days before the order).

    A touch counts when it is an `opened` or `clicked` email event of a campaign or flow, by the
    order's customer_id, at most `attribution_window_hours` (120) before the order and strictly
    before it: order time - 120 h <= touch time < order time (exactly 120 h before is in). Any
    click in the window beats any open; among equals the latest wins (then the larger event id).
    Orders without a touch are kept with null attribution. -#}
{%- set window_hours = var('attribution_window_hours', 120) %}

with

orders as (
    select * from {{ ref('orders') }}
    where is_counted
),

email_events as (
    select * from {{ ref('email_events') }}
),

touches as (
    select
        event_id,
        customer_id,
        case event_type when 'clicked' then 'click' else 'open' end as touch_type,
        send_type,
        campaign_id,
        flow_id,
        message_id,
        occurred_at
    from email_events
    where event_type in ('clicked', 'opened')
        and send_type is not null
        and customer_id is not null
),

candidate_touches as (
    select
        orders.order_id,
        touches.event_id,
        touches.touch_type,
        touches.send_type,
        touches.campaign_id,
        touches.flow_id,
        touches.message_id,
        touches.occurred_at,
        row_number() over (
            partition by orders.order_id
            order by
                case touches.touch_type when 'click' then 0 else 1 end,
                touches.occurred_at desc,
                touches.event_id desc
        ) as touch_rank
    from orders
    inner join touches
        on orders.customer_id = touches.customer_id
        and touches.occurred_at < orders.ordered_at
        and touches.occurred_at >= {{ dbt.dateadd('hour', -window_hours, 'orders.ordered_at') }}
),

winning_touches as (
    select * from candidate_touches
    where touch_rank = 1
),

final as (
    select
        orders.order_id,
        orders.channel,
        orders.record_id,
        orders.order_name,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.currency,
        orders.net_revenue,
        winning_touches.event_id is not null as is_attributed,
        winning_touches.send_type as attributed_send_type,
        winning_touches.campaign_id as attributed_campaign_id,
        winning_touches.flow_id as attributed_flow_id,
        winning_touches.message_id as attributed_message_id,
        winning_touches.event_id as attributed_event_id,
        winning_touches.touch_type,
        winning_touches.occurred_at as touch_at,
        {{ hours_between('winning_touches.occurred_at', 'orders.ordered_at') }} as hours_before_order
    from orders
    left join winning_touches
        on orders.order_id = winning_touches.order_id
)

select * from final
