-- one row per product interaction of a person: a product view or cart add on the web, or a
-- sold order line of an order not cancelled; only products in the catalogue (the others stay
-- in staging). Every content model reads it with its own cutoff (as_of, or the evaluation's).
-- Incremental by person: a run rewrites the interactions of the people touched since its last
-- run (content_people_touched); everyone after an upstream reload or a catalogue change
-- (catalogue_digest: category and brand are copied here)
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_recomputed_people(
        person_product_events_recompute_some(),
        content_people_touched(load_window(this.identifier).last_loaded_at),
    ) }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('int_web_people_touched') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
{%- set recompute_some = person_product_events_recompute_some() %}
{%- set touched_filter = 'and person_id in (select touched.person_id from touched)' if recompute_some else '' %}

with

{% if recompute_some %}

    touched as (

        {{ content_people_touched(load_window(this.identifier).last_loaded_at) }}

    ),

{% endif %}

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}
    where person_id is not null {{ touched_filter }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where person_id is not null {{ touched_filter }}

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
        product_id is not null
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
        interactions.occurred_at,
        {{ loaded_at() }} as loaded_at,

        -- the catalogue the category and brand come from (product_catalogue_digest)
        '{{ product_catalogue_digest() }}' as catalogue_digest
    from interactions
    inner join products
        on interactions.product_id = products.product_id

)

select * from final
