-- one row per add_to_cart or checkout_started web event: the next purchase by the same
-- person (or still-anonymous visitor) and whether it came within the cart window; whether
-- the window has closed depends on as_of and is decided downstream (as is the price).
-- Incremental: a run recomputes every actor with a new web event, a changed order or a
-- re-attributed identity
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('audit_load_manifest') }}

{%- set cart_event_types = "('add_to_cart', 'checkout_started', 'purchase')" %}

with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

{% if is_incremental() %}

    {#- each CTE reads its table itself: DuckDB materialises a CTE read twice, and these
        span every web event and order #}
    {%- set since = load_window(this.identifier).last_loaded_at %}

    new_events as (

        select
            event_id,
            coalesce(person_id, visitor_id) as actor_id
        from {{ ref('int_web_events_sessionized') }}
        where event_type in {{ cart_event_types }} and loaded_at > {{ since }}

    ),

    affected_actors as (

        select actor_id from new_events

        union

        -- an event that now belongs to another actor leaves its old one
        select actor_id from {{ this }}
        where event_id in (select new_events.event_id from new_events)

        union

        -- orders priced since the last run (new or changed, any status)
        select customers_merged.person_id as actor_id
        from {{ ref('int_orders_priced') }} as changed_orders
        inner join customers_merged
            on changed_orders.customer_id = customers_merged.customer_id
        where changed_orders.loaded_at > {{ since }}

        union

        {{ persons_with_identity_changes(since) }}

    ),

    web_events as (

        -- the actor is the person, or the visitor while anonymous: one filter per stored
        -- column, which DuckDB answers from the column's dictionary, where the coalesce over
        -- every web event cost seconds at 1M
        select
            *,
            person_id as actor_id
        from {{ ref('int_web_events_sessionized') }}
        where
            event_type in {{ cart_event_types }}
            and person_id in (select affected_actors.actor_id from affected_actors)

        union all

        select
            *,
            visitor_id as actor_id
        from {{ ref('int_web_events_sessionized') }}
        where
            event_type in {{ cart_event_types }}
            and person_id is null
            and visitor_id in (select affected_actors.actor_id from affected_actors)

    ),

    orders as (

        select
            customers_merged.person_id as actor_id,
            all_orders.ordered_at
        from {{ ref('int_orders_priced') }} as all_orders
        inner join customers_merged
            on all_orders.customer_id = customers_merged.customer_id
        where
            all_orders.is_completed
            and customers_merged.person_id in (select affected_actors.actor_id from affected_actors)

    ),

{% else %}

    web_events as (

        select
            *,
            coalesce(person_id, visitor_id) as actor_id
        from {{ ref('int_web_events_sessionized') }}
        where event_type in {{ cart_event_types }}

    ),

    orders as (

        select
            customers_merged.person_id as actor_id,
            all_orders.ordered_at
        from {{ ref('int_orders_priced') }} as all_orders
        inner join customers_merged
            on all_orders.customer_id = customers_merged.customer_id
        where all_orders.is_completed

    ),

{% endif %}

intent_events as (

    select
        actor_id,
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
        actor_id,
        occurred_at as purchase_at
    from web_events
    where event_type = 'purchase'

    union all

    select
        actor_id,
        ordered_at as purchase_at
    from orders

),

timeline as (

    select * from intent_events

    union all

    select
        actor_id,
        cast(null as string) as person_id,
        cast(null as string) as event_id,
        'purchase' as event_type,
        cast(null as string) as product_id,
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

        -- booleans
        coalesce(
            {{ epoch_seconds('with_next_purchase.next_purchase_at') }}
            - {{ epoch_seconds('with_next_purchase.occurred_at') }}
            <= {{ var('cart_abandonment_minutes') }} * 60,
            false
        ) as is_purchased_within_window,
        with_next_purchase.next_purchase_at is not null as is_purchased_later,

        -- timestamps
        with_next_purchase.occurred_at,
        with_next_purchase.next_purchase_at,
        {{ dbt.dateadd('minute', var('cart_abandonment_minutes'), 'with_next_purchase.occurred_at') }}
            as window_closes_at,
        {{ loaded_at() }} as loaded_at
    from with_next_purchase
    where with_next_purchase.is_intent_event = 1

)

select * from evaluated
