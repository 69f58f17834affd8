-- one row per person with any activity: last time of each activity, 90-day web counts,
-- cart abandonment and browsing / checkout intent. A projection to as_of: what does not
-- depend on it comes from int_people_web_state and int_people_email_state (kept
-- incrementally); the 90- and 7-day windows and the carts whose window closed are counted here
with

web_state as (

    select * from {{ ref('int_people_web_state') }}
    where web_event_count > 0

),

email_state as (

    select * from {{ ref('int_people_email_state') }}
    where email_event_count > 0

),

all_cart_events as (

    select * from {{ ref('int_cart_events_evaluated') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

web_90d as (

    -- the window on one stored column, so the scan reads the other columns only for the
    -- events inside it
    select
        person_id,
        count(case when event_type = 'product_view' then 1 end) as product_views_90d,
        count(case when event_type = 'add_to_cart' then 1 end) as cart_adds_90d
    from {{ ref('int_web_events_sessionized') }}
    where
        occurred_at > {{ dbt.dateadd('day', -90, as_of()) }}
        and person_id is not null
        and event_type in ('product_view', 'add_to_cart')
    group by person_id

),

sessions_90d as (

    select
        person_id,
        count(*) as web_sessions_90d
    from {{ ref('int_sessions_aggregated') }}
    where started_at > {{ dbt.dateadd('day', -90, as_of()) }} and person_id is not null
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

people as (

    select person_id from web_state
    union
    select person_id from email_state

),

final as (

    select
        -- ids
        people.person_id,

        -- numerics
        cast(coalesce(web_state.web_sessions_total, 0) as integer) as web_sessions_total,
        cast(coalesce(sessions_90d.web_sessions_90d, 0) as integer) as web_sessions_90d,
        cast(coalesce(web_90d.product_views_90d, 0) as integer) as product_views_90d,
        cast(coalesce(web_90d.cart_adds_90d, 0) as integer) as cart_adds_90d,
        cast(coalesce(carts.cart_add_count, 0) as integer) as cart_add_count,
        cast(coalesce(carts.abandoned_cart_count, 0) as integer) as abandoned_cart_count,
        case
            when carts.cart_add_count > 0
                then cast(carts.abandoned_cart_count as double) / carts.cart_add_count
        end as cart_abandonment_rate,
        cast(coalesce(carts.abandoned_cart_value, 0) as decimal(18, 2)) as abandoned_cart_value,
        cast(coalesce(carts.checkouts_without_purchase_7d, 0) as integer) as checkouts_without_purchase_7d,

        -- timestamps
        web_state.last_visit_at,
        web_state.last_product_view_at,
        email_state.last_email_open_at,
        email_state.last_email_click_at,
        email_state.last_email_event_at,
        carts.last_abandoned_cart_at,
        web_state.last_browsing_intent_at,
        carts.last_checkout_without_purchase_at
    from people
    left join web_state
        on people.person_id = web_state.person_id
    left join email_state
        on people.person_id = email_state.person_id
    left join web_90d
        on people.person_id = web_90d.person_id
    left join sessions_90d
        on people.person_id = sessions_90d.person_id
    left join carts
        on people.person_id = carts.person_id

)

select * from final
