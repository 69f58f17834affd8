-- every raw order line, typed, with its contract check
{%- set typing = raw_typing('order_items') %}
with

source as (

    select * from {{ source('raw', 'order_items') }}

),

renamed as (

    select
        -- ids
        cast(order_id as string) as order_id,
        cast(product_id as string) as product_id,

        -- numerics
        {{ raw_cast(typing, 'line_number') }} as line_number,
        {{ raw_cast(typing, 'quantity') }} as quantity,
        {{ raw_cast(typing, 'unit_price') }} as unit_price,
        coalesce({{ raw_cast(typing, 'discount') }}, 0) as discount,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record,
        {{ raw_source_file('source') }} as source_file

    from source

),

validated as (

    select
        *,
        order_id || '-' || cast(line_number as string) as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when order_id is null or line_number is null then 'null_key'
            when unit_price < 0 then 'negative_price'
            when quantity is null or quantity = 0 or unit_price is null then 'invalid_quantity'
        end as reject_reason
    from renamed

)

select * from validated
