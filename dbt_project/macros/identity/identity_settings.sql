{#-
    Identity resolution settings: one place for their defaults, each overridable with a dbt var
    of the same name (`dbt build --vars '{identity_max_emails_per_phone: 2}'` or `vars:` in
    dbt_project.yml).

    identity_label_passes            label-propagation passes of the connected components. Each
                                     pass moves a label one record further (record -> shared
                                     identifier -> record); the `identity_components_converged`
                                     test fails when a build needed more. The sandbox's S and M
                                     worlds need 4 (the fifth changes nothing): 6 leaves room.
    identity_merge_passes            passes that join this run's components holding records of one
                                     previous customer (customer_identities); usually one is enough.
    identity_max_emails_per_phone    a phone links records only while the records carrying it hold
                                     at most this many distinct personal emails (a household
                                     landline typed by two people with their own addresses links
                                     neither); relay addresses (below) are counted on their own.
    identity_max_relay_emails_per_phone   the same limit for marketplace relay addresses.
    identity_max_phones_per_email    an email links records only while its records hold at most
                                     this many distinct phones (a made-up address typed at a till by
                                     strangers shows up with many phones).
    identity_max_records_per_identifier   any value carried by more records than this is not an
                                     identifier of one person (a catch-all for junk the blocklist
                                     does not know yet).
    identity_relay_email_domains     domains of per-merchant relay addresses: each stands for one
                                     buyer on one marketplace, so they link that buyer's orders but
                                     are not a second personal email.
-#}
{% macro identity_setting(name) -%}
    {%- set defaults = {
        'identity_label_passes': 6,
        'identity_merge_passes': 4,
        'identity_max_emails_per_phone': 1,
        'identity_max_relay_emails_per_phone': 1,
        'identity_max_phones_per_email': 2,
        'identity_max_records_per_identifier': 1000,
        'identity_relay_email_domains': [
            'marketplace.amazon.com',
            'privaterelay.appleid.com',
        ],
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown identity setting " ~ name) }}
    {%- endif -%}
    {{ return(var(name, defaults[name])) }}
{%- endmacro %}
