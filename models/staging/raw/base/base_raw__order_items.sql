-- every raw order line, typed, with its contract check
with

source as (

    select * from {{ source('raw', 'order_items') }}

),

renamed as (

    select
        -- ids
        cast(order_id as varchar) as order_id,
        cast(product_id as varchar) as product_id,

        -- numerics
        cast(line_number as integer) as line_number,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        coalesce(cast(discount as decimal(18, 4)), 0) as discount,

        -- lineage
        {{ row_as_json('source') }} as raw_record,
        {{ raw_source_file('source') }} as source_file

    from source

),

validated as (

    select
        *,
        order_id || '-' || cast(line_number as varchar) as record_key,
        case
            when order_id is null or line_number is null then 'null_key'
            when unit_price < 0 then 'negative_price'
            when quantity is null or quantity = 0 or unit_price is null then 'invalid_quantity'
        end as reject_reason
    from renamed

)

select * from validated
