-- one row per source customer_id with at least one order: order counts, dates and revenue
with

orders as (

    select * from {{ ref('int_orders_priced') }}

),

summarized as (

    select
        -- ids
        customer_id,

        -- numerics
        count(*) as order_count,
        sum(case when is_completed then 1 else 0 end) as completed_order_count,
        sum(case when status = 'cancelled' then 1 else 0 end) as cancelled_order_count,
        sum(case when status = 'returned' then 1 else 0 end) as returned_order_count,
        sum(net_revenue) as net_revenue,

        -- timestamps
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        min(case when is_completed then ordered_at end) as first_completed_order_at,
        max(case when is_completed then ordered_at end) as last_completed_order_at
    from orders
    group by customer_id

)

select * from summarized
