-- one row per person and product viewed or put in the cart in the last
-- browse_abandonment_days before as_of and not bought since: newest first, with the product's
-- current name and price; in_abandoned_cart marks the products of the person's abandoned
-- carts (what the cart-abandonment segments e-mail about)
with

interactions as (

    select * from {{ ref('int_person_product_events') }}
    where occurred_at <= {{ as_of() }}

),

cart_events as (

    select * from {{ ref('int_cart_events_evaluated') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

recent as (

    select
        person_id,
        product_id,
        count(case when interaction = 'product_view' then 1 end) as view_count,
        count(case when interaction = 'add_to_cart' then 1 end) as cart_add_count,
        max(case when interaction = 'product_view' then occurred_at end) as last_viewed_at,
        max(case when interaction = 'add_to_cart' then occurred_at end) as last_added_to_cart_at,
        max(occurred_at) as last_interaction_at
    from interactions
    where
        interaction in ('product_view', 'add_to_cart')
        and occurred_at > {{ dbt.dateadd('day', -1 * var('browse_abandonment_days'), as_of()) }}
    group by person_id, product_id

),

bought as (

    select
        person_id,
        product_id,
        max(occurred_at) as last_purchased_at
    from interactions
    where interaction = 'purchase'
    group by person_id, product_id

),

abandoned_carts as (

    -- add_to_cart events whose cart window closed before as_of without a purchase
    select distinct
        person_id,
        product_id
    from cart_events
    where
        event_type = 'add_to_cart'
        and person_id is not null
        and product_id is not null
        and not is_purchased_within_window
        and window_closes_at <= {{ as_of() }}
        and occurred_at > {{ dbt.dateadd('day', -1 * var('browse_abandonment_days'), as_of()) }}

),

abandoned as (

    select
        recent.*,
        bought.last_purchased_at,
        abandoned_carts.person_id is not null as is_in_abandoned_cart
    from recent
    left join bought
        on
            recent.person_id = bought.person_id
            and recent.product_id = bought.product_id
    left join abandoned_carts
        on
            recent.person_id = abandoned_carts.person_id
            and recent.product_id = abandoned_carts.product_id
    where bought.last_purchased_at is null or bought.last_purchased_at < recent.last_interaction_at

),

final as (

    select
        -- ids
        abandoned.person_id,
        abandoned.product_id,

        -- strings
        products.product_name,
        products.category,
        products.brand,
        case when abandoned.cart_add_count > 0 then 'cart' else 'browse' end as abandonment_type,

        -- numerics
        cast(row_number() over (
            partition by abandoned.person_id
            order by abandoned.last_interaction_at desc, abandoned.product_id asc
        ) as integer) as recency_rank,
        cast(abandoned.view_count as integer) as view_count,
        cast(abandoned.cart_add_count as integer) as cart_add_count,
        products.price,

        -- booleans
        abandoned.is_in_abandoned_cart,

        -- timestamps
        abandoned.last_viewed_at,
        abandoned.last_added_to_cart_at,
        abandoned.last_interaction_at,
        abandoned.last_purchased_at
    from abandoned
    inner join products
        on abandoned.product_id = products.product_id

)

select * from final
