-- one row per person with at least one order: order counts, dates and net revenue
with

orders as (

    select * from {{ ref('int_orders_priced') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

summarized as (

    select
        -- ids
        customers_merged.person_id,

        -- numerics
        count(*) as order_count,
        count(case when orders.is_completed then 1 end) as completed_order_count,
        count(case when orders.status = 'cancelled' then 1 end) as cancelled_order_count,
        count(case when orders.status = 'returned' then 1 end) as returned_order_count,
        cast(sum(orders.net_revenue) as decimal(18, 4)) as net_revenue,

        -- timestamps
        min(orders.ordered_at) as first_ordered_at,
        max(orders.ordered_at) as last_ordered_at,
        min(case when orders.is_completed then orders.ordered_at end) as first_completed_order_at,
        max(case when orders.is_completed then orders.ordered_at end) as last_completed_order_at
    from orders
    inner join customers_merged
        on orders.customer_id = customers_merged.customer_id
    group by customers_merged.person_id

)

select * from summarized
