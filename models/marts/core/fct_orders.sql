-- one row per order: status, line totals, returns and net revenue
with

orders as (

    select * from {{ ref('int_orders_priced') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,
        customers_merged.person_id,

        -- strings
        orders.status,
        orders.currency,

        -- numerics
        cast(orders.line_count as bigint) as line_count,
        cast(orders.item_quantity as bigint) as item_quantity,
        cast(orders.returned_quantity as bigint) as returned_quantity,
        cast(orders.gross_revenue as decimal(18, 2)) as gross_revenue,
        cast(orders.discount_amount as decimal(18, 2)) as discount_amount,
        cast(orders.returned_amount as decimal(18, 2)) as returned_amount,
        cast(orders.net_revenue as decimal(18, 2)) as net_revenue,

        -- booleans
        orders.is_completed,
        orders.has_return_lines,
        orders.discount_amount > 0 as has_discount,

        -- dates
        cast(orders.ordered_at as date) as order_date,

        -- timestamps
        orders.ordered_at,
        orders.updated_at
    from orders
    left join customers_merged
        on orders.customer_id = customers_merged.customer_id

)

select * from final
