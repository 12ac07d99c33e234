{#-
    The customer 360: one row per customer_id of customer_identities (buyers and people known
    only to the CRM, the email tool or the shipping tool alike).
    Survivorship (the rule for each single-valued trait; "most trusted source first, then the
    most recent value"):
    - name: Shopify customer > HubSpot contact > Klaviyo profile > Shopify order shipping name >
      abandoned checkout > Amazon buyer > ShipStation recipient;
    - email (as typed, trimmed and lowercased): Shopify customer > Klaviyo profile > HubSpot
      contact > Shopify order > till > ShipStation; blocklisted values (identity audit) and
      Amazon relay addresses (@marketplace.amazon.com) are never chosen;
    - phone (E.164): Shopify customer > HubSpot > Klaviyo > Shopify order > abandoned checkout >
      Amazon > ShipStation > till; blocklisted values are never chosen;
    - email consent: the latest consent change among Klaviyo profiles and Shopify customers
      (ties and unknown times: UNSUBSCRIBED wins);
    - HubSpot lifecycle stage and company: the most recently updated live contact.
    Orders, RFM and CLV come from orders, rfm and customer_lifetime_value; engagement (90 days
    to the reporting date) from email_events, support from HubSpot tickets and engagements,
    shipping from the shipments mart (ShipStation labels with their EasyPost trackers; voided
    labels left out) — each joined to the customer through customer_identities.
-#}

with

identities as (
    select * from {{ ref('customer_identities') }}
),

skipped_identifiers as (
    select * from {{ ref('identity_skipped_identifiers') }}
    where skip_reason = 'blocklist'
),

shopify_customers as (
    select * from {{ ref('stg_shopify__customers') }}
),

shopify_orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

abandoned_checkouts as (
    select * from {{ ref('stg_shopify__abandoned_checkouts') }}
),

amazon_orders as (
    select * from {{ ref('stg_amazon__orders') }}
),

pos_transactions as (
    select * from {{ ref('stg_pos__transactions') }}
),

hubspot_contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
    where not is_deleted
),

hubspot_companies as (
    select * from {{ ref('stg_hubspot__companies') }}
    where not is_deleted
),

hubspot_tickets as (
    select * from {{ ref('stg_hubspot__tickets') }}
    where not is_deleted
),

hubspot_engagements as (
    select * from {{ ref('stg_hubspot__engagements') }}
    where not is_deleted
),

klaviyo_profiles as (
    select * from {{ ref('stg_klaviyo__profiles') }}
),

email_events as (
    select * from {{ ref('email_events') }}
),

shipments as (
    select * from {{ ref('shipments') }}
    where not is_voided
),

shipstation_shipments as (
    select * from {{ ref('stg_shipstation__shipments') }}
),

orders as (
    select * from {{ ref('orders') }}
),

rfm as (
    select * from {{ ref('rfm') }}
),

lifetime_value as (
    select * from {{ ref('customer_lifetime_value') }}
),

reporting_date as (
    select * from {{ ref('int_reporting_date') }}
),

-- identities ---------------------------------------------------------------------------------

customer_records as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        count(*) as identity_records,
        sum(case when source = 'shopify' and record_type = 'customer' then 1 else 0 end) as shopify_customer_records,
        sum(case when source = 'shopify' and record_type = 'order' then 1 else 0 end) as shopify_order_records,
        sum(case when source = 'shopify' and record_type = 'abandoned_checkout' then 1 else 0 end)
            as abandoned_checkouts,
        sum(case when source = 'amazon' then 1 else 0 end) as amazon_order_records,
        sum(case when source = 'pos' then 1 else 0 end) as pos_transaction_records,
        sum(case when source = 'hubspot' then 1 else 0 end) as hubspot_contact_records,
        sum(case when source = 'klaviyo' then 1 else 0 end) as klaviyo_profile_records,
        sum(case when source = 'shipstation' then 1 else 0 end) as shipstation_shipment_records
    from identities
    group by customer_id
),

customer_sources as (
    select
        customer_id,
        {{ sorted_string_agg('source', "', '") }} as sources
    from (select distinct customer_id, source from identities) as distinct_sources
    group by customer_id
),

customer_id_lists as (
    select
        customer_id,
        {{ sorted_string_agg("case when source = 'shopify' then record_id end", "', '") }} as shopify_customer_ids,
        {{ sorted_string_agg("case when source = 'hubspot' then record_id end", "', '") }} as hubspot_contact_ids,
        {{ sorted_string_agg("case when source = 'klaviyo' then record_id end", "', '") }} as klaviyo_profile_ids
    from identities
    where (source = 'shopify' and record_type = 'customer')
        or source in ('hubspot', 'klaviyo')
    group by customer_id
),

customer_emails as (
    select
        customer_id,
        count(*) as email_count,
        {{ sorted_string_agg('email_normalized', "', '") }} as emails
    from (
        select distinct customer_id, email_normalized from identities where email_normalized is not null
    ) as distinct_emails
    group by customer_id
),

customer_phones as (
    select
        customer_id,
        count(*) as phone_count,
        {{ sorted_string_agg('phone_e164', "', '") }} as phones
    from (
        select distinct customer_id, phone_e164 from identities where phone_e164 is not null
    ) as distinct_phones
    group by customer_id
),

-- survivorship: one candidate row per record and trait, then the best per customer -------------

trait_candidates as (
    select 'shopify' as source, 'customer' as record_type, record_id, 1 as name_priority,
        1 as email_priority, 1 as phone_priority, updated_at as seen_at,
        first_name, last_name,
        email, email_normalized, phone_e164,
        city, province_code as region, country_code
    from shopify_customers

    union all

    select 'hubspot', 'contact', record_id, 2, 3, 2, updated_at,
        first_name, last_name,
        email, email_normalized, phone_e164,
        -- the CRM and the email tool hold country names, not codes: no location from them
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from hubspot_contacts

    union all

    select 'klaviyo', 'profile', record_id, 3, 2, 3, updated_at,
        first_name, last_name,
        email, email_normalized, phone_e164,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from klaviyo_profiles

    union all

    select 'shopify', 'order', record_id, 4, 4, 4, created_at,
        ship_first_name, ship_last_name,
        email, email_normalized, phone_e164,
        ship_city, ship_province_code, ship_country_code
    from shopify_orders

    union all

    select 'shopify', 'abandoned_checkout', record_id, 5, 99, 5, created_at,
        first_name, last_name,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), phone_e164,
        ship_city, ship_province_code, ship_country_code
    from abandoned_checkouts

    union all

    select 'amazon', 'order', record_id, 6, 7, 6, purchased_at,
        buyer_name, cast(null as {{ dbt.type_string() }}),
        buyer_email, email_normalized, phone_e164,
        ship_city, ship_state, ship_country_code
    from amazon_orders

    union all

    select 'shipstation', 'shipment', record_id, 7, 6, 7, created_at,
        ship_to_name, cast(null as {{ dbt.type_string() }}),
        customer_email, email_normalized, phone_e164,
        ship_city, ship_state, ship_country_code
    from shipstation_shipments

    union all

    select 'pos', 'transaction', record_id, 99, 5, 8, sold_at,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        email, email_normalized, phone_e164,
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from pos_transactions
),

customer_trait_candidates as (
    select
        identities.customer_id,
        trait_candidates.*,
        lower(trim(trait_candidates.email)) as email_clean,
        trim({{ dbt.concat([
            "coalesce(trait_candidates.first_name, '')", "' '", "coalesce(trait_candidates.last_name, '')"
        ]) }}) as full_name
    from trait_candidates
    inner join identities
        on trait_candidates.source = identities.source
        and trait_candidates.record_type = identities.record_type
        and trait_candidates.record_id = identities.record_id
),

best_name as (
    select customer_id, first_name, last_name, full_name
    from (
        select
            customer_id,
            first_name,
            last_name,
            full_name,
            row_number() over (
                partition by customer_id
                order by name_priority, seen_at desc nulls last, record_id
            ) as trait_rank
        from customer_trait_candidates
        where full_name <> ''
    ) as ranked
    where trait_rank = 1
),

best_email as (
    select customer_id, email_clean as email, source as email_source
    from (
        select
            customer_trait_candidates.customer_id,
            customer_trait_candidates.email_clean,
            customer_trait_candidates.source,
            row_number() over (
                partition by customer_trait_candidates.customer_id
                order by
                    customer_trait_candidates.email_priority,
                    customer_trait_candidates.seen_at desc nulls last,
                    customer_trait_candidates.record_id
            ) as trait_rank
        from customer_trait_candidates
        left join skipped_identifiers
            on skipped_identifiers.identifier_type = 'email'
            and customer_trait_candidates.email_normalized = skipped_identifiers.identifier_value
        where customer_trait_candidates.email_normalized is not null
            and skipped_identifiers.identifier_value is null
            and customer_trait_candidates.email_clean not like '%@marketplace.amazon.com'
    ) as ranked
    where trait_rank = 1
),

best_phone as (
    select customer_id, phone_e164 as phone, source as phone_source
    from (
        select
            customer_trait_candidates.customer_id,
            customer_trait_candidates.phone_e164,
            customer_trait_candidates.source,
            row_number() over (
                partition by customer_trait_candidates.customer_id
                order by
                    customer_trait_candidates.phone_priority,
                    customer_trait_candidates.seen_at desc nulls last,
                    customer_trait_candidates.record_id
            ) as trait_rank
        from customer_trait_candidates
        left join skipped_identifiers
            on skipped_identifiers.identifier_type = 'phone'
            and customer_trait_candidates.phone_e164 = skipped_identifiers.identifier_value
        where customer_trait_candidates.phone_e164 is not null
            and skipped_identifiers.identifier_value is null
    ) as ranked
    where trait_rank = 1
),

best_location as (
    select customer_id, city, region, country_code
    from (
        select
            customer_id,
            city,
            region,
            country_code,
            row_number() over (
                partition by customer_id
                order by name_priority, seen_at desc nulls last, record_id
            ) as trait_rank
        from customer_trait_candidates
        where city is not null or country_code is not null
    ) as ranked
    where trait_rank = 1
),

-- email consent and engagement ---------------------------------------------------------------

consent_candidates as (
    select
        identities.customer_id,
        klaviyo_profiles.email_consent,
        klaviyo_profiles.email_consent_at as consent_at,
        'klaviyo' as consent_source
    from klaviyo_profiles
    inner join identities
        on identities.source = 'klaviyo'
        and identities.record_type = 'profile'
        and klaviyo_profiles.record_id = identities.record_id
    where klaviyo_profiles.email_consent is not null

    union all

    select
        identities.customer_id,
        case shopify_customers.email_marketing_state
            when 'SUBSCRIBED' then 'SUBSCRIBED'
            when 'NOT_SUBSCRIBED' then 'NEVER_SUBSCRIBED'
            when 'PENDING' then 'NEVER_SUBSCRIBED'
            else 'UNSUBSCRIBED'
        end as email_consent,
        shopify_customers.email_consent_updated_at as consent_at,
        'shopify' as consent_source
    from shopify_customers
    inner join identities
        on identities.source = 'shopify'
        and identities.record_type = 'customer'
        and shopify_customers.record_id = identities.record_id
    where shopify_customers.email_marketing_state is not null
),

email_consent as (
    select customer_id, email_consent, consent_at as email_consent_at, consent_source as email_consent_source
    from (
        select
            *,
            row_number() over (
                partition by customer_id
                order by
                    consent_at desc nulls last,
                    case email_consent when 'UNSUBSCRIBED' then 0 when 'SUBSCRIBED' then 1 else 2 end,
                    consent_source
            ) as consent_rank
        from consent_candidates
    ) as ranked
    where consent_rank = 1
),

email_engagement as (
    select
        dated_events.customer_id,
        sum(case when dated_events.event_type = 'received' and dated_events.is_last_90_days then 1 else 0 end)
            as emails_received_90d,
        sum(case when dated_events.event_type = 'opened' and dated_events.is_last_90_days then 1 else 0 end)
            as emails_opened_90d,
        sum(case when dated_events.event_type = 'clicked' and dated_events.is_last_90_days then 1 else 0 end)
            as emails_clicked_90d,
        max(case when dated_events.event_type = 'opened' then dated_events.occurred_at end)
            as last_email_opened_at,
        max(case when dated_events.event_type = 'clicked' then dated_events.occurred_at end)
            as last_email_clicked_at
    from (
        select
            email_events.customer_id,
            email_events.event_type,
            email_events.occurred_at,
            {{ to_utc_date('email_events.occurred_at') }} > {{ dbt.dateadd('day', -90, 'reporting_date.as_of_date') }}
                and {{ to_utc_date('email_events.occurred_at') }} <= reporting_date.as_of_date as is_last_90_days
        from email_events
        cross join reporting_date
    ) as dated_events
    group by dated_events.customer_id
),

-- CRM and support ----------------------------------------------------------------------------

crm_contact as (
    select
        customer_id,
        contact_id as hubspot_contact_id,
        lifecycle_stage,
        company_name
    from (
        select
            identities.customer_id,
            hubspot_contacts.contact_id,
            hubspot_contacts.lifecycle_stage,
            coalesce(hubspot_companies.name, hubspot_contacts.company_name) as company_name,
            row_number() over (
                partition by identities.customer_id
                order by hubspot_contacts.updated_at desc nulls last, hubspot_contacts.contact_id
            ) as contact_rank
        from hubspot_contacts
        inner join identities
            on identities.source = 'hubspot'
            and identities.record_type = 'contact'
            and hubspot_contacts.record_id = identities.record_id
        left join hubspot_companies
            on hubspot_contacts.company_id = hubspot_companies.company_id
    ) as ranked
    where contact_rank = 1
),

contact_customers as (
    select
        customer_id,
        record_id as contact_record_id
    from identities
    where source = 'hubspot'
        and record_type = 'contact'
),

support_touches as (
    select
        contact_customers.customer_id,
        hubspot_tickets.ticket_id,
        case when hubspot_tickets.is_closed then 0 else 1 end as is_open,
        hubspot_tickets.created_at as touched_at
    from hubspot_tickets
    inner join contact_customers
        on {{ dbt.safe_cast('hubspot_tickets.contact_id', dbt.type_string()) }} = contact_customers.contact_record_id

    union all

    select
        contact_customers.customer_id,
        cast(null as {{ dbt.type_bigint() }}) as ticket_id,
        0 as is_open,
        hubspot_engagements.occurred_at as touched_at
    from hubspot_engagements
    inner join contact_customers
        on {{ dbt.safe_cast('hubspot_engagements.contact_id', dbt.type_string()) }} = contact_customers.contact_record_id
),

support as (
    select
        customer_id,
        count(distinct ticket_id) as support_tickets,
        sum(is_open) as open_support_tickets,
        max(touched_at) as last_support_contact_at
    from support_touches
    group by customer_id
),

-- shipping -----------------------------------------------------------------------------------

shipping as (
    select
        customer_id,
        count(*) as shipments,
        sum(case when is_delivered then 1 else 0 end) as deliveries,
        sum(case when is_late then 1 else 0 end) as late_deliveries,
        max(shipped_date) as last_shipped_date
    from shipments
    group by customer_id
),

last_shipment as (
    select customer_id, status as last_shipment_status
    from (
        select
            customer_id,
            status,
            row_number() over (
                partition by customer_id
                order by shipped_date desc nulls last, label_created_at desc nulls last, shipment_id desc
            ) as shipment_rank
        from shipments
    ) as ranked
    where shipment_rank = 1
),

-- orders -------------------------------------------------------------------------------------

customer_orders as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders,
        sum(gross_revenue) as gross_revenue,
        sum(discounts) as discounts,
        sum(refunds) as refunds,
        sum(net_revenue) as net_revenue,
        sum(items) as items
    from orders
    where is_counted
        and customer_id is not null
    group by customer_id
),

customer_channels as (
    select
        customer_id,
        count(*) as channel_count,
        {{ sorted_string_agg('channel', "', '") }} as channels
    from (
        select distinct customer_id, channel from orders where is_counted and customer_id is not null
    ) as distinct_channels
    group by customer_id
),

first_orders as (
    select
        customer_id,
        channel as first_order_channel
    from orders
    where is_first_order
),

final as (
    select
        customer_records.customer_id,
        best_name.first_name,
        best_name.last_name,
        best_name.full_name,
        best_email.email,
        best_email.email_source,
        best_phone.phone,
        best_phone.phone_source,
        best_location.city,
        best_location.region,
        best_location.country_code,
        customer_records.first_seen_at,

        customer_records.identity_records,
        customer_sources.sources,
        customer_emails.emails,
        coalesce(customer_emails.email_count, 0) as email_count,
        customer_phones.phones,
        coalesce(customer_phones.phone_count, 0) as phone_count,
        customer_records.shopify_customer_records,
        customer_id_lists.shopify_customer_ids,
        customer_records.shopify_order_records,
        customer_records.amazon_order_records,
        customer_records.pos_transaction_records,
        customer_records.hubspot_contact_records,
        customer_id_lists.hubspot_contact_ids,
        customer_records.klaviyo_profile_records,
        customer_id_lists.klaviyo_profile_ids,
        customer_records.shipstation_shipment_records,

        customer_orders.customer_id is not null as has_ordered,
        customer_channels.channels,
        coalesce(customer_channels.channel_count, 0) as channel_count,
        first_orders.first_order_channel,
        customer_orders.first_order_at,
        customer_orders.last_order_at,
        coalesce(customer_orders.orders, 0) as orders,
        {{ to_money('coalesce(customer_orders.gross_revenue, 0)') }} as gross_revenue,
        {{ to_money('coalesce(customer_orders.discounts, 0)') }} as discounts,
        {{ to_money('coalesce(customer_orders.refunds, 0)') }} as refunds,
        {{ to_money('coalesce(customer_orders.net_revenue, 0)') }} as net_revenue,
        {{ money_per('customer_orders.net_revenue', 'customer_orders.orders') }} as aov,
        cast(coalesce(customer_orders.items, 0) as {{ dbt.type_bigint() }}) as items,
        coalesce(customer_orders.orders, 0) >= 2 as is_repeat_customer,
        rfm.recency_days as days_since_last_order,
        customer_records.abandoned_checkouts,

        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_score,
        rfm.rfm_segment,
        lifetime_value.probability_alive,
        lifetime_value.expected_orders_12m,
        lifetime_value.predicted_clv_12m,

        coalesce(email_consent.email_consent, 'NEVER_SUBSCRIBED') as email_consent,
        email_consent.email_consent_at,
        email_consent.email_consent_source,
        coalesce(email_consent.email_consent = 'SUBSCRIBED', false) as is_email_subscribed,
        coalesce(email_engagement.emails_received_90d, 0) as emails_received_90d,
        coalesce(email_engagement.emails_opened_90d, 0) as emails_opened_90d,
        coalesce(email_engagement.emails_clicked_90d, 0) as emails_clicked_90d,
        email_engagement.last_email_opened_at,
        email_engagement.last_email_clicked_at,

        coalesce(support.support_tickets, 0) as support_tickets,
        coalesce(support.open_support_tickets, 0) as open_support_tickets,
        support.last_support_contact_at,

        coalesce(shipping.shipments, 0) as shipments,
        coalesce(shipping.deliveries, 0) as deliveries,
        coalesce(shipping.late_deliveries, 0) as late_deliveries,
        shipping.last_shipped_date,
        last_shipment.last_shipment_status,

        crm_contact.hubspot_contact_id,
        crm_contact.lifecycle_stage,
        crm_contact.company_name,
        reporting_date.as_of_date
    from customer_records
    cross join reporting_date
    left join customer_sources on customer_records.customer_id = customer_sources.customer_id
    left join customer_id_lists on customer_records.customer_id = customer_id_lists.customer_id
    left join customer_emails on customer_records.customer_id = customer_emails.customer_id
    left join customer_phones on customer_records.customer_id = customer_phones.customer_id
    left join best_name on customer_records.customer_id = best_name.customer_id
    left join best_email on customer_records.customer_id = best_email.customer_id
    left join best_phone on customer_records.customer_id = best_phone.customer_id
    left join best_location on customer_records.customer_id = best_location.customer_id
    left join email_consent on customer_records.customer_id = email_consent.customer_id
    left join email_engagement on customer_records.customer_id = email_engagement.customer_id
    left join crm_contact on customer_records.customer_id = crm_contact.customer_id
    left join support on customer_records.customer_id = support.customer_id
    left join shipping on customer_records.customer_id = shipping.customer_id
    left join last_shipment on customer_records.customer_id = last_shipment.customer_id
    left join customer_orders on customer_records.customer_id = customer_orders.customer_id
    left join customer_channels on customer_records.customer_id = customer_channels.customer_id
    left join first_orders on customer_records.customer_id = first_orders.customer_id
    left join rfm on customer_records.customer_id = rfm.customer_id
    left join lifetime_value on customer_records.customer_id = lifetime_value.customer_id
)

select * from final
