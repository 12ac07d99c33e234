{{ config(materialized='table') }}

{#-
    The guards: one row per distinct identifier (identifier_type, identifier_value) that could
    link records (two or more records carry it) or that is skipped, with how many records carry
    it and, when it must not link records, why (skip_reason). Accepted identifiers become the
    edges of the graph; identity_skipped_identifiers publishes the skipped ones.

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

    Only emails and phones typed on the same record are counted (each record holds at most one
    of each), which keeps this one pass over the records. It cannot see a second person who
    typed the phone without any email (a till sale with a phone only): such a record joins the
    phone's one emailed person. The variants measured on the sandbox are listed in
    _identity__models.yml.
-#}

with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
    where identifier_type is not null
),

records as (
    select * from {{ ref('int_identity_records') }}
),

blocklist as (
    select * from {{ ref('identity_blocklist') }}
),

counted_identifiers as (
    select
        identifier_type,
        identifier_value,
        count(*) as records
    from identifiers
    group by 1, 2
),

distinct_identifiers as (
    select
        identifier_type,
        identifier_value,
        records
    from counted_identifiers
),

blocklist_rules as (
    -- a `*` rule applies to every identifier type
    select
        identifier_types.identifier_type,
        blocklist.match_type,
        blocklist.pattern,
        blocklist.reason
    from blocklist
    inner join (select distinct identifier_type from distinct_identifiers) as identifier_types
        on blocklist.identifier_type = identifier_types.identifier_type
        or blocklist.identifier_type = '*'
),

blocklist_matches as (
    select
        distinct_identifiers.identifier_type,
        distinct_identifiers.identifier_value,
        blocklist_rules.reason
    from distinct_identifiers
    inner join blocklist_rules
        on distinct_identifiers.identifier_type = blocklist_rules.identifier_type
        and distinct_identifiers.identifier_value = blocklist_rules.pattern
    where blocklist_rules.match_type = 'exact'

    union all

    select
        distinct_identifiers.identifier_type,
        distinct_identifiers.identifier_value,
        blocklist_rules.reason
    from distinct_identifiers
    inner join blocklist_rules
        on distinct_identifiers.identifier_type = blocklist_rules.identifier_type
    where blocklist_rules.match_type = 'like'
        and distinct_identifiers.identifier_value like blocklist_rules.pattern
),

blocked as (
    select
        identifier_type,
        identifier_value,
        min(reason) as reason
    from blocklist_matches
    group by 1, 2
),

typed_pairs as (
    -- each record carries at most one email and one phone: the pairs typed together
    select
        records.email_normalized as email,
        records.phone_e164 as phone,
        case
            {%- for domain in identity_setting('identity_relay_email_domains') %}
            when records.email_normalized like '%@{{ domain }}' then true
            {%- endfor %}
            else false
        end as is_relay
    from records
    left join blocked as blocked_emails
        on blocked_emails.identifier_type = 'email'
        and records.email_normalized = blocked_emails.identifier_value
    left join blocked as blocked_phones
        on blocked_phones.identifier_type = 'phone'
        and records.phone_e164 = blocked_phones.identifier_value
    where records.email_normalized is not null
        and records.phone_e164 is not null
        and blocked_emails.identifier_value is null
        and blocked_phones.identifier_value is null
),

emails_per_phone as (
    select
        'phone' as identifier_type,
        phone as identifier_value,
        count(distinct case when not is_relay then email end) as personal_emails,
        count(distinct case when is_relay then email end) as relay_emails
    from typed_pairs
    group by 1, 2
),

phones_per_email as (
    select
        'email' as identifier_type,
        email as identifier_value,
        count(distinct phone) as phones
    from typed_pairs
    group by 1, 2
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
        on distinct_identifiers.identifier_type = emails_per_phone.identifier_type
        and distinct_identifiers.identifier_value = emails_per_phone.identifier_value
    left join phones_per_email
        on distinct_identifiers.identifier_type = phones_per_email.identifier_type
        and distinct_identifiers.identifier_value = phones_per_email.identifier_value
),

final as (
    select
        {{ identity_hash_bigint(dbt.concat(['identifier_type', "':'", 'identifier_value'])) }}
            as identifier_id,
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
    -- a value on one record links nothing: kept only when it is skipped (for the audit)
    where records > 1
        or skip_reason is not null
)

select * from final
