-- one row per web session (visitor, 30-minute inactivity gap); incremental: a run
-- rebuilds every session of the visitors int_web_events_sessionized recomputed
{{ config(
    materialized='incremental',
    unique_key='visitor_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('audit_load_manifest') }}

with

{% if is_incremental() %}

    events as (

        -- the staged table read twice, not a shared CTE (DuckDB would materialise it whole)
        select * from {{ ref('int_web_events_sessionized') }}
        where visitor_id in (
            select recomputed.visitor_id from {{ ref('int_web_events_sessionized') }} as recomputed
            where recomputed.loaded_at > {{ load_window(this.identifier).last_loaded_at }}
        )

    ),

{% else %}

    events as (

        select * from {{ ref('int_web_events_sessionized') }}

    ),

{% endif %}

aggregated as (

    select
        -- ids
        session_id,
        visitor_id,
        max(person_id) as person_id,

        -- numerics
        count(*) as event_count,
        count(case when event_type = 'page_view' then 1 end) as page_views,
        count(case when event_type = 'product_view' then 1 end) as product_views,
        count(case when event_type = 'add_to_cart' then 1 end) as cart_adds,
        count(case when event_type = 'checkout_started' then 1 end) as checkouts_started,
        count(case when event_type = 'purchase' then 1 end) as purchases,
        {{ epoch_seconds('max(occurred_at)') }} - {{ epoch_seconds('min(occurred_at)') }}
            as duration_seconds,

        -- timestamps
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        {{ loaded_at() }} as loaded_at
    from events
    group by session_id, visitor_id

)

select * from aggregated
