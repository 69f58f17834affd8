-- one row per web visitor whose sessions this run recomputes in int_web_events_sessionized:
-- a visitor with an event loaded since that model's last run (from its earliest new event
-- on), one a re-delivered event moved away from (whole), or one whose customer now belongs to
-- another person (identity only). Empty when int_web_events_sessionized is built whole.
{{ config(materialized='table') }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('stg_raw__web_events') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
{%- set window = load_window('int_web_events_sessionized') %}
{#- int_web_events_sessionized as its last run left it: it refs this model, so it runs after
    it (a ref would be a cycle), as the manifest reads the models it serves -#}
{%- set sessionized = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_web_events_sessionized') if execute else none %}

with

{% if sessionized is not none and window.is_built %}

    new_events as (

        -- the staged rows stamped after the sessionized model's last run (at the end of the
        -- table: zonemaps skip the rest)
        select
            event_id,
            occurred_at,
            {{ web_visitor_key() }} as visitor_id
        from {{ ref('stg_raw__web_events') }}
        where loaded_at > {{ window.last_loaded_at }}

    ),

    identity_changes as (

        select customer_id from {{ ref('int_customers_identity_tracked') }}
        where loaded_at > {{ window.last_loaded_at }}

    ),

    touched as (

        -- sessions before a visitor's earliest new event stand: the windows run from there
        select
            visitor_id,
            min(occurred_at) as recompute_from,
            0 as is_rebuilt_whole,
            0 as is_identity_changed
        from new_events
        group by visitor_id

        union all

        -- a re-delivered event may have moved from another visitor: that one runs whole
        select distinct
            visitor_id,
            cast(null as timestamp) as recompute_from,
            1 as is_rebuilt_whole,
            0 as is_identity_changed
        from {{ sessionized }}
        where event_id in (select new_events.event_id from new_events)

        union all

        -- a customer may now belong to another person: the visitor's person changes
        select distinct
            visitor_id,
            cast(null as timestamp) as recompute_from,
            0 as is_rebuilt_whole,
            1 as is_identity_changed
        from {{ sessionized }}
        where resolved_customer_id in (select identity_changes.customer_id from identity_changes)

    ),

{% else %}

    touched as (

        select
            cast(null as {{ dbt.type_string() }}) as visitor_id,
            cast(null as timestamp) as recompute_from,
            0 as is_rebuilt_whole,
            0 as is_identity_changed
        where false

    ),

{% endif %}

final as (

    select
        -- ids
        visitor_id,

        -- booleans
        max(is_rebuilt_whole) = 1 as is_rebuilt_whole,
        max(is_identity_changed) = 1 as is_identity_changed,

        -- timestamps
        min(recompute_from) as recompute_from
    from touched
    group by visitor_id

)

select * from final
