-- every raw product row, typed, with its contract check
{%- set typing = raw_typing('products') %}
with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        -- ids
        cast(product_id as string) as product_id,

        -- strings
        nullif(trim(cast(product_name as string)), '') as product_name,
        nullif(trim(cast(category as string)), '') as category,
        nullif(trim(cast(brand as string)), '') as brand,

        -- numerics
        {{ raw_cast(typing, 'price') }} as price,

        -- timestamps
        {{ raw_cast(typing, 'updated_at') }} as updated_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        product_id as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when product_id is null then 'null_key'
            when price < 0 then 'negative_price'
        end as reject_reason
    from renamed

)

select * from validated
