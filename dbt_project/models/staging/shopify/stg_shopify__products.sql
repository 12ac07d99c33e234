with

source as (
    select * from {{ source_or_empty('shopify', 'products') }}
),

renamed as (
    select
        cast(legacy_resource_id as {{ dbt.type_bigint() }}) as product_id,
        id as record_id,
        title,
        handle,
        product_type,
        vendor,
        status,
        coalesce(status = 'ARCHIVED', false) as is_archived,
        {{ json_list_to_text('tags') }} as tags,
        {{ to_utc_timestamp('published_at') }} as published_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
