-- one row per person with at least one completed order: recency, frequency, monetary, 1-5 scores
-- and the BG/NBD inputs (repeat purchases, first-to-last and first-to-as_of days)
with

orders as (

    select * from {{ ref('int_orders_priced') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

person_orders as (

    select
        customers_merged.person_id,
        orders.*,
        orders.ordered_at > {{ dbt.dateadd('day', -1 * var('rfm_window_days'), as_of()) }}
            as is_in_window
    from orders
    inner join customers_merged
        on orders.customer_id = customers_merged.customer_id

),

per_person as (

    -- 128-bit sums cast back to 64 bits (as in int_orders_priced): rounding a 128-bit
    -- decimal to scale 2 below took a tenth of a second per column at 1M customers
    select
        person_id,
        count(case when is_completed then 1 end) as frequency,
        cast(sum(net_revenue) as decimal(18, 4)) as monetary,
        count(case when is_completed and is_in_window then 1 end) as frequency_window,
        cast(sum(case when is_in_window then net_revenue else 0 end) as decimal(18, 4)) as monetary_window,
        cast(
            sum(case when is_completed then gross_revenue - discount_amount else 0 end) as decimal(18, 4)
        ) as completed_revenue,
        count(case when is_completed and discount_amount > 0 then 1 end) as discounted_orders,
        count(distinct case when is_completed then cast(ordered_at as date) end) as purchase_days,
        min(case when is_completed then ordered_at end) as first_purchase_at,
        max(case when is_completed then ordered_at end) as last_purchase_at
    from person_orders
    group by person_id

),

buyers as (

    select
        *,
        cast(first_purchase_at as date) as first_purchase_date,
        cast(last_purchase_at as date) as last_purchase_date,
        cast({{ as_of() }} as date) as as_of_date,
        floor({{ fractional_days_between('last_purchase_at', as_of()) }}) as recency_days,
        case
            when last_purchase_at > {{ dbt.dateadd('day', -1 * var('rfm_window_days'), as_of()) }}
                then floor({{ fractional_days_between('last_purchase_at', as_of()) }})
        end as recency_days_window
    from per_person
    where frequency > 0

),

ranks as (

    -- rank() gives equal values equal ranks, so ties share a score and classes stay
    -- as even as the ties allow; rank 1 is the worst value of each dimension. The
    -- windows span every buyer, so they read only the ranked columns (carrying every
    -- column through three whole-table sorts took most of the model's time)
    select
        person_id,
        rank() over (order by recency_days desc) as recency_rank,
        rank() over (order by frequency asc) as frequency_rank,
        rank() over (order by monetary asc) as monetary_rank,
        count(*) over () as buyer_count
    from buyers

),

ranked as (

    select
        buyers.*,
        ranks.recency_rank,
        ranks.frequency_rank,
        ranks.monetary_rank,
        ranks.buyer_count
    from buyers
    inner join ranks
        on buyers.person_id = ranks.person_id

),

scored as (

    select
        -- ids
        person_id,

        -- numerics
        cast(recency_days as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 2)) as monetary,
        cast(recency_days_window as integer) as recency_days_window,
        cast(frequency_window as integer) as frequency_window,
        cast(monetary_window as decimal(18, 2)) as monetary_window,
        cast(1 + floor(5.0 * (recency_rank - 1) / buyer_count) as integer) as recency_score,
        cast(1 + floor(5.0 * (frequency_rank - 1) / buyer_count) as integer) as frequency_score,
        cast(1 + floor(5.0 * (monetary_rank - 1) / buyer_count) as integer) as monetary_score,
        {{ money_divided('completed_revenue', 'frequency') }} as average_order_value,
        cast(discounted_orders as double) / frequency as discount_order_share,
        -- BG/NBD inputs in the sense of the lifetimes library (daily periods)
        cast(purchase_days - 1 as integer) as repeat_purchase_count,
        cast({{ days_between_dates('first_purchase_date', 'last_purchase_date') }} as integer)
            as first_to_last_purchase_days,
        cast({{ days_between_dates('first_purchase_date', 'as_of_date') }} as integer)
            as first_purchase_to_as_of_days,

        -- timestamps
        first_purchase_at,
        last_purchase_at
    from ranked

)

select * from scored
