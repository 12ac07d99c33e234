{#- Column types and casts shared by the staging models, one definition each. -#}

{#- Money: decimal(18,2) everywhere. -#}
{% macro to_money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}

{#- An instant in UTC (timestamptz). dlt lands ISO timestamps with an offset as timestamptz. -#}
{% macro to_utc_timestamp(expression) -%}
    cast({{ expression }} as {{ type_timestamptz() }})
{%- endmacro %}

{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch("type_timestamptz")()) }}
{%- endmacro %}

{% macro default__type_timestamptz() -%}
    timestamp with time zone
{%- endmacro %}

{% macro spark__type_timestamptz() -%}
    timestamp
{%- endmacro %}

{#- The numeric id of a Shopify Admin GraphQL id: gid://shopify/Order/123 -> 123 (bigint). -#}
{% macro shopify_legacy_id(gid) -%}
    cast(nullif({{ dbt.split_part(gid, "'/'", 5) }}, '') as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The Admin GraphQL id of a Shopify object from its numeric id: ('Customer', 123) -> GID. -#}
{% macro shopify_gid(kind, legacy_id) -%}
    {{ dbt.concat(["'gid://shopify/" ~ kind ~ "/'", dbt.safe_cast(legacy_id, dbt.type_string())]) }}
{%- endmacro %}

{#- True when a text holds only the digits 0-9 (and at least one): portable, no regex. -#}
{% macro is_all_digits(expression) -%}
    (length({{ expression }}) > 0 and length(translate({{ expression }}, '0123456789', '')) = 0)
{%- endmacro %}

{#- A text of digits as a bigint; null for anything else (a cast that cannot fail). -#}
{% macro digits_to_bigint(expression) -%}
    case
        when {{ is_all_digits(expression) }} then cast({{ expression }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}
