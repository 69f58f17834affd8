-- one row per order: status, line totals, returns and net revenue
with

orders as (

    select * from {{ ref('int_orders_priced') }}

),

final as (

    select
        -- ids
        order_id,
        customer_id,

        -- strings
        status,
        currency,

        -- numerics
        cast(line_count as bigint) as line_count,
        cast(item_quantity as bigint) as item_quantity,
        cast(returned_quantity as bigint) as returned_quantity,
        cast(gross_revenue as decimal(18, 2)) as gross_revenue,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(returned_amount as decimal(18, 2)) as returned_amount,
        cast(net_revenue as decimal(18, 2)) as net_revenue,

        -- booleans
        is_completed,
        has_return_lines,
        discount_amount > 0 as has_discount,

        -- dates
        cast(ordered_at as date) as order_date,

        -- timestamps
        ordered_at,
        updated_at
    from orders

)

select * from final
