-- one row per order line (order_id, line_number)
with

base as (

    select * from {{ ref('base_raw__order_items') }}

),

current_rows as (

    select
        -- ids
        order_id,
        product_id,

        -- numerics
        line_number,
        quantity,
        unit_price,
        discount,

        -- booleans
        quantity < 0 as is_return_line
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
