-- one row per monthly acquisition cohort (month of the first order not cancelled) and month
-- since it (0 = the first order's month) up to as_of's month: customers who ordered in that
-- month, their orders and net revenue, per customer of the cohort and cumulated. Every
-- month with an order in the shop is a column, so a cohort's quiet month is a row of zeros.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

kept_orders as (

    select
        person_id,
        order_id,
        cast(net_revenue as double) as net_revenue,
        cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as order_month
    from orders
    where status <> 'cancelled' and person_id is not null

),

cohort_of as (

    select
        person_id,
        min(order_month) as cohort_month
    from kept_orders
    group by person_id

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers
    from cohort_of
    group by cohort_month

),

months as (

    select distinct order_month as period_month
    from kept_orders

),

grid as (

    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        months.period_month,
        (year(months.period_month) - year(cohorts.cohort_month)) * 12
        + month(months.period_month) - month(cohorts.cohort_month) as months_since_first_order
    from cohorts
    inner join months
        on cohorts.cohort_month <= months.period_month

),

activity as (

    select
        cohort_of.cohort_month,
        kept_orders.order_month as period_month,
        count(distinct kept_orders.person_id) as active_customers,
        count(*) as orders,
        sum(kept_orders.net_revenue) as revenue
    from kept_orders
    inner join cohort_of
        on kept_orders.person_id = cohort_of.person_id
    group by cohort_of.cohort_month, kept_orders.order_month

),

filled as (

    select
        grid.cohort_month,
        grid.period_month,
        grid.months_since_first_order,
        grid.cohort_customers,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0.0) as revenue
    from grid
    left join activity
        on
            grid.cohort_month = activity.cohort_month
            and grid.period_month = activity.period_month

),

final as (

    select
        -- dates
        cohort_month,
        period_month,

        -- numerics
        cast(months_since_first_order as integer) as months_since_first_order,
        cast(cohort_customers as bigint) as cohort_customers,
        cast(active_customers as bigint) as active_customers,
        cast(orders as bigint) as orders,
        revenue,
        cast(active_customers as double) / cohort_customers as retention_rate,
        revenue / cohort_customers as revenue_per_customer,
        sum(revenue) over (
            partition by cohort_month order by period_month
            rows between unbounded preceding and current row
        ) / cohort_customers as cumulative_revenue_per_customer
    from filled

)

select * from final
