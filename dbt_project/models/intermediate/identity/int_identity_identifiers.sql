{{ config(materialized='table') }}

{#-
    The guards: one row per distinct identifier (identifier_type, identifier_value), with how
    many records carry it and, when it must not link records, why (skip_reason). Only accepted
    identifiers become edges of the graph; identity_skipped_identifiers publishes the rest.

    In order (the first that applies is the reason):
    1. blocklist       the value matches a row of the identity_blocklist seed (exact or SQL LIKE;
                       identifier_type '*' applies to every type): placeholder emails and phones.
    2. shared_phone    the records carrying the phone hold more than identity_max_emails_per_phone
                       distinct personal emails, or more than identity_max_relay_emails_per_phone
                       distinct marketplace relay addresses (blocked emails are not counted). This
                       is the household landline: two people who type it with their own email
                       are two people, so the phone links no one. A person's own phone is typed
                       with one personal email (and at most one relay address per marketplace),
                       so it still links their till sales, Amazon orders and store records.
    3. shared_email    the records carrying the email hold more than identity_max_phones_per_email
                       distinct (not blocked) phones: an address strangers type.
    4. too_many_records  more than identity_max_records_per_identifier records carry the value.

    Counting emails per phone on the records themselves (rather than on components) keeps this a
    single pass; it cannot see a second person who typed the phone without an email (a till sale
    with a phone only): such a record joins the phone's one emailed person. Variants measured on
    the sandbox are in the identity section of the models' yml.
-#}

with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
    where identifier_type is not null
),

blocklist as (
    select * from {{ ref('identity_blocklist') }}
),

distinct_identifiers as (
    select
        identifier_type,
        identifier_value,
        count(*) as records
    from identifiers
    group by 1, 2
),

blocklist_matches as (
    select
        distinct_identifiers.identifier_type,
        distinct_identifiers.identifier_value,
        blocklist.reason
    from distinct_identifiers
    inner join blocklist
        on distinct_identifiers.identifier_type = blocklist.identifier_type
        or blocklist.identifier_type = '*'
    where (blocklist.match_type = 'exact' and distinct_identifiers.identifier_value = blocklist.pattern)
        or (blocklist.match_type = 'like' and distinct_identifiers.identifier_value like blocklist.pattern)
),

blocked as (
    select
        identifier_type,
        identifier_value,
        min(reason) as reason
    from blocklist_matches
    group by 1, 2
),

usable_emails as (
    select
        identifiers.record_key,
        identifiers.identifier_value as email,
        case
            {%- for domain in identity_setting('identity_relay_email_domains') %}
            when identifiers.identifier_value like '%@{{ domain }}' then true
            {%- endfor %}
            else false
        end as is_relay
    from identifiers
    left join blocked
        on identifiers.identifier_type = blocked.identifier_type
        and identifiers.identifier_value = blocked.identifier_value
    where identifiers.identifier_type = 'email'
        and blocked.identifier_value is null
),

usable_phones as (
    select
        identifiers.record_key,
        identifiers.identifier_value as phone
    from identifiers
    left join blocked
        on identifiers.identifier_type = blocked.identifier_type
        and identifiers.identifier_value = blocked.identifier_value
    where identifiers.identifier_type = 'phone'
        and blocked.identifier_value is null
),

emails_per_phone as (
    select
        usable_phones.phone,
        count(distinct case when not usable_emails.is_relay then usable_emails.email end)
            as personal_emails,
        count(distinct case when usable_emails.is_relay then usable_emails.email end)
            as relay_emails
    from usable_phones
    inner join usable_emails
        on usable_phones.record_key = usable_emails.record_key
    group by 1
),

phones_per_email as (
    select
        usable_emails.email,
        count(distinct usable_phones.phone) as phones
    from usable_emails
    inner join usable_phones
        on usable_emails.record_key = usable_phones.record_key
    group by 1
),

checked as (
    select
        distinct_identifiers.identifier_type,
        distinct_identifiers.identifier_value,
        distinct_identifiers.records,
        coalesce(emails_per_phone.personal_emails, 0) as personal_emails,
        coalesce(emails_per_phone.relay_emails, 0) as relay_emails,
        coalesce(phones_per_email.phones, 0) as phones,
        case
            when blocked.reason is not null then 'blocklist'
            when emails_per_phone.personal_emails > {{ identity_setting('identity_max_emails_per_phone') }}
                or emails_per_phone.relay_emails > {{ identity_setting('identity_max_relay_emails_per_phone') }}
                then 'shared_phone'
            when phones_per_email.phones > {{ identity_setting('identity_max_phones_per_email') }}
                then 'shared_email'
            when distinct_identifiers.records > {{ identity_setting('identity_max_records_per_identifier') }}
                then 'too_many_records'
        end as skip_reason,
        blocked.reason as blocklist_reason
    from distinct_identifiers
    left join blocked
        on distinct_identifiers.identifier_type = blocked.identifier_type
        and distinct_identifiers.identifier_value = blocked.identifier_value
    left join emails_per_phone
        on distinct_identifiers.identifier_type = 'phone'
        and distinct_identifiers.identifier_value = emails_per_phone.phone
    left join phones_per_email
        on distinct_identifiers.identifier_type = 'email'
        and distinct_identifiers.identifier_value = phones_per_email.email
),

final as (
    select
        row_number() over (order by identifier_type, identifier_value) as identifier_id,
        identifier_type,
        identifier_value,
        records,
        personal_emails,
        relay_emails,
        phones,
        skip_reason,
        case skip_reason
            when 'blocklist' then blocklist_reason
            when 'shared_phone' then {{ dbt.concat([
                "'typed with '", "cast(personal_emails as " ~ dbt.type_string() ~ ")",
                "' personal and '", "cast(relay_emails as " ~ dbt.type_string() ~ ")",
                "' relay emails'"]) }}
            when 'shared_email' then {{ dbt.concat([
                "'typed with '", "cast(phones as " ~ dbt.type_string() ~ ")", "' phones'"]) }}
            when 'too_many_records' then {{ dbt.concat([
                "'carried by '", "cast(records as " ~ dbt.type_string() ~ ")", "' records'"]) }}
        end as skip_detail,
        skip_reason is null as is_accepted
    from checked
)

select * from final
