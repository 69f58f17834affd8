-- one row per product interaction of a person: a product view or cart add on the web, or a
-- sold order line of an order not cancelled; only products in the catalogue (the others stay
-- in staging). Every content model reads it with its own cutoff (as_of, or the evaluation's)
with

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_items as (

    select * from {{ ref('stg_raw__order_items') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

web_interactions as (

    select
        event_id as interaction_id,
        person_id,
        product_id,
        event_type as interaction,
        session_id as basket_id,
        occurred_at
    from web_events
    where
        person_id is not null
        and product_id is not null
        and event_type in ('product_view', 'add_to_cart')

),

purchases as (

    -- a product on several lines of one order is one purchase
    select
        concat(orders.order_id, '|', order_items.product_id) as interaction_id,
        orders.person_id,
        order_items.product_id,
        'purchase' as interaction,
        orders.order_id as basket_id,
        orders.ordered_at as occurred_at
    from orders
    inner join order_items
        on orders.order_id = order_items.order_id
    where
        orders.person_id is not null
        and orders.status <> 'cancelled'
        and order_items.product_id is not null
        and not order_items.is_return_line
    group by orders.person_id, order_items.product_id, orders.order_id, orders.ordered_at

),

interactions as (

    select * from web_interactions
    union all
    select * from purchases

),

final as (

    select
        -- ids
        interactions.interaction_id,
        interactions.person_id,
        interactions.product_id,
        interactions.basket_id,

        -- strings
        interactions.interaction,
        products.category,
        products.brand,

        -- timestamps
        interactions.occurred_at
    from interactions
    inner join products
        on interactions.product_id = products.product_id

)

select * from final
