{#- An email address as identity resolution compares it (the staging contract's `email_normalized`):
    trimmed and lowercased; the `+tag` dropped from the local part; for gmail.com and
    googlemail.com also the dots, with the domain written gmail.com (Gmail ignores both).
    Null when empty or not an email: no or several `@`, a space inside, an empty local part,
    or a domain without a dot. Portable SQL (dbt's cross-database macros, no regex).

    normalize_email("'  Jane.Doe+Shop@GoogleMail.com '")  ->  'janedoe@gmail.com'
-#}
{% macro normalize_email(column) -%}
    {%- set email = "lower(trim(" ~ column ~ "))" -%}
    {%- set local_part = dbt.split_part(email, "'@'", 1) -%}
    {%- set domain = dbt.split_part(email, "'@'", 2) -%}
    {%- set untagged = dbt.split_part(local_part, "'+'", 1) -%}
    {%- set gmail_local = "replace(" ~ untagged ~ ", '.', '')" -%}
    case
        when {{ column }} is null then null
        when length({{ email }}) - length(replace({{ email }}, '@', '')) <> 1 then null
        when {{ dbt.position("' '", email) }} > 0 then null
        when {{ untagged }} = '' then null
        when {{ dbt.position("'.'", domain) }} = 0 then null
        when {{ domain }} in ('gmail.com', 'googlemail.com') then
            case when {{ gmail_local }} <> '' then {{ dbt.concat([gmail_local, "'@gmail.com'"]) }} end
        else {{ dbt.concat([untagged, "'@'", domain]) }}
    end
{%- endmacro %}
