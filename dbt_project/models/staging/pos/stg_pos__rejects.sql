with

source as (
    select * from {{ source_or_empty('pos', 'rejects') }}
),

renamed as (
    select
        _source_file as source_file,
        _source_line as source_line,
        {{ to_utc_timestamp('_source_modified_at') }} as source_modified_at,
        raw_line,
        reason
    from source
)

select * from renamed
