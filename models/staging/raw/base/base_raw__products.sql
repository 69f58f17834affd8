-- every raw product row, typed, with its contract check
with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        -- ids
        cast(product_id as varchar) as product_id,

        -- strings
        nullif(trim(cast(product_name as varchar)), '') as product_name,
        nullif(trim(cast(category as varchar)), '') as category,
        nullif(trim(cast(brand as varchar)), '') as brand,

        -- numerics
        cast(price as decimal(18, 4)) as price,

        -- timestamps
        cast(updated_at as timestamp) as updated_at,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        product_id as record_key,
        case
            when product_id is null then 'null_key'
            when price < 0 then 'negative_price'
        end as reject_reason
    from renamed

)

select * from validated
