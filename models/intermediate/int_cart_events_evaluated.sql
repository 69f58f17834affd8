-- one row per add_to_cart or checkout_started web event: the next purchase by the same
-- person (or still-anonymous visitor) and whether the cart was abandoned
with

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

orders as (

    select * from {{ ref('int_orders_priced') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

intent_events as (

    select
        coalesce(person_id, visitor_id) as actor_id,
        person_id,
        event_id,
        event_type,
        product_id,
        occurred_at,
        1 as is_intent_event,
        cast(null as timestamp) as purchase_at
    from web_events
    where event_type in ('add_to_cart', 'checkout_started')

),

purchases as (

    -- a purchase is a web purchase event or a completed order, whichever arrives
    select
        coalesce(person_id, visitor_id) as actor_id,
        occurred_at as purchase_at
    from web_events
    where event_type = 'purchase'

    union all

    select
        customers_merged.person_id as actor_id,
        orders.ordered_at as purchase_at
    from orders
    inner join customers_merged
        on orders.customer_id = customers_merged.customer_id
    where orders.is_completed

),

timeline as (

    select * from intent_events

    union all

    select
        actor_id,
        cast(null as varchar) as person_id,
        cast(null as varchar) as event_id,
        'purchase' as event_type,
        cast(null as varchar) as product_id,
        purchase_at as occurred_at,
        0 as is_intent_event,
        purchase_at
    from purchases

),

with_next_purchase as (

    select
        *,
        -- an intent event sorts before a purchase at the same instant, so that purchase counts
        {{ first_value_ignore_nulls('purchase_at') }} over (
            partition by actor_id
            order by occurred_at asc, is_intent_event desc, event_id asc
            rows between current row and unbounded following
        ) as next_purchase_at
    from timeline

),

evaluated as (

    select
        -- ids
        with_next_purchase.event_id,
        with_next_purchase.actor_id,
        with_next_purchase.person_id,
        with_next_purchase.product_id,

        -- strings
        with_next_purchase.event_type,

        -- numerics
        products.price as product_price,

        -- booleans
        -- decided only once the whole window has passed before as_of
        {{ epoch_seconds(as_of()) }} - {{ epoch_seconds('with_next_purchase.occurred_at') }}
        >= {{ var('cart_abandonment_minutes', 30) }} * 60 as is_window_closed,
        coalesce(
            {{ epoch_seconds('with_next_purchase.next_purchase_at') }}
            - {{ epoch_seconds('with_next_purchase.occurred_at') }}
            <= {{ var('cart_abandonment_minutes', 30) }} * 60,
            false
        ) as is_purchased_within_window,
        with_next_purchase.next_purchase_at is not null as is_purchased_later,

        -- timestamps
        with_next_purchase.occurred_at,
        with_next_purchase.next_purchase_at
    from with_next_purchase
    left join products
        on with_next_purchase.product_id = products.product_id
    where with_next_purchase.is_intent_event = 1

),

final as (

    select
        *,
        event_type = 'add_to_cart' and is_window_closed and not is_purchased_within_window
            as is_abandoned_cart
    from evaluated

)

select * from final
