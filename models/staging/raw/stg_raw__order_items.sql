-- one row per order line (order_id, line_number)
with

valid_rows as (

    select * from {{ ref('base_raw__order_items') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in stg_raw__row_audit
    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by quantity desc, unit_price desc, product_id asc
        ) as version_rank
    from valid_rows

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
    from ranked
    where version_rank = 1

)

select * from current_rows
