-- one row per person with any activity: last time of each activity, 90-day web counts,
-- cart abandonment and browsing / checkout intent
{#- at least one view: the lag below looks back (min_views - 1) views -#}
{%- set min_views = [var('browsing_intent_min_views') | int, 1] | max %}

with

sessions as (

    select * from {{ ref('int_sessions_aggregated') }}

),

all_cart_events as (

    select * from {{ ref('int_cart_events_evaluated') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

email_per_campaign as (

    select * from {{ ref('int_email_events_pivoted') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

product_view_bursts as (

    -- a view completes a burst when the view (min_views - 1) views earlier in the person's
    -- order is within the window: the same answer as counting the views in a range window
    -- (the last of tied views sees the whole window), at the cost of one sort.
    -- Reads the events itself: a CTE read twice is materialised whole by DuckDB
    select
        person_id,
        occurred_at,
        lag(occurred_at, {{ min_views - 1 }}) over (
            partition by person_id
            order by occurred_at
        ) as burst_started_at
    from {{ ref('int_web_events_sessionized') }}
    where event_type = 'product_view' and person_id is not null

),

browsing as (

    select
        person_id,
        max(occurred_at) as last_browsing_intent_at
    from product_view_bursts
    where
        {{ epoch_seconds('occurred_at') }} - {{ epoch_seconds('burst_started_at') }}
        <= {{ var('browsing_intent_minutes') * 60 }}
    group by person_id

),

web as (

    select
        person_id,
        max(occurred_at) as last_visit_at,
        max(case when event_type = 'product_view' then occurred_at end) as last_product_view_at,
        count(
            case
                when event_type = 'product_view' and occurred_at > {{ dbt.dateadd('day', -90, as_of()) }}
                    then 1
            end
        ) as product_views_90d,
        count(
            case
                when event_type = 'add_to_cart' and occurred_at > {{ dbt.dateadd('day', -90, as_of()) }}
                    then 1
            end
        ) as cart_adds_90d
    from {{ ref('int_web_events_sessionized') }}
    where person_id is not null
    group by person_id

),

session_counts as (

    select
        person_id,
        count(*) as web_sessions_total,
        count(case when started_at > {{ dbt.dateadd('day', -90, as_of()) }} then 1 end) as web_sessions_90d
    from sessions
    where person_id is not null
    group by person_id

),

cart_events as (

    -- a cart is decided only once its whole window has passed before as_of
    select
        all_cart_events.*,
        products.price as product_price,
        all_cart_events.window_closes_at <= {{ as_of() }} as is_window_closed,
        all_cart_events.event_type = 'add_to_cart'
        and all_cart_events.window_closes_at <= {{ as_of() }}
        and not all_cart_events.is_purchased_within_window as is_abandoned_cart
    from all_cart_events
    left join products
        on all_cart_events.product_id = products.product_id

),

carts as (

    select
        person_id,
        count(case when event_type = 'add_to_cart' and is_window_closed then 1 end) as cart_add_count,
        count(case when is_abandoned_cart then 1 end) as abandoned_cart_count,
        sum(case when is_abandoned_cart then coalesce(product_price, 0) else 0 end) as abandoned_cart_value,
        max(case when is_abandoned_cart then occurred_at end) as last_abandoned_cart_at,
        count(
            case
                when
                    event_type = 'checkout_started'
                    and occurred_at > {{ dbt.dateadd('day', -7, as_of()) }}
                    and not is_purchased_later
                    then 1
            end
        ) as checkouts_without_purchase_7d,
        max(
            case when event_type = 'checkout_started' and not is_purchased_later then occurred_at end
        ) as last_checkout_without_purchase_at
    from cart_events
    where person_id is not null
    group by person_id

),

email as (

    select
        customers_merged.person_id,
        max(email_per_campaign.last_opened_at) as last_email_open_at,
        max(email_per_campaign.last_clicked_at) as last_email_click_at,
        max(email_per_campaign.last_event_at) as last_email_event_at
    from email_per_campaign
    inner join customers_merged
        on email_per_campaign.customer_id = customers_merged.customer_id
    group by customers_merged.person_id

),

people as (

    select person_id from web
    union
    select person_id from email

),

final as (

    select
        -- ids
        people.person_id,

        -- numerics
        cast(coalesce(session_counts.web_sessions_total, 0) as integer) as web_sessions_total,
        cast(coalesce(session_counts.web_sessions_90d, 0) as integer) as web_sessions_90d,
        cast(coalesce(web.product_views_90d, 0) as integer) as product_views_90d,
        cast(coalesce(web.cart_adds_90d, 0) as integer) as cart_adds_90d,
        cast(coalesce(carts.cart_add_count, 0) as integer) as cart_add_count,
        cast(coalesce(carts.abandoned_cart_count, 0) as integer) as abandoned_cart_count,
        case
            when carts.cart_add_count > 0
                then cast(carts.abandoned_cart_count as double) / carts.cart_add_count
        end as cart_abandonment_rate,
        cast(coalesce(carts.abandoned_cart_value, 0) as decimal(18, 2)) as abandoned_cart_value,
        cast(coalesce(carts.checkouts_without_purchase_7d, 0) as integer) as checkouts_without_purchase_7d,

        -- timestamps
        web.last_visit_at,
        web.last_product_view_at,
        email.last_email_open_at,
        email.last_email_click_at,
        email.last_email_event_at,
        carts.last_abandoned_cart_at,
        browsing.last_browsing_intent_at,
        carts.last_checkout_without_purchase_at
    from people
    left join web
        on people.person_id = web.person_id
    left join session_counts
        on people.person_id = session_counts.person_id
    left join carts
        on people.person_id = carts.person_id
    left join email
        on people.person_id = email.person_id
    left join browsing
        on people.person_id = browsing.person_id

)

select * from final
