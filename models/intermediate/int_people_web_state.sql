-- one row per person with a web event: what of their web activity does not depend on
-- as_of: last times, the session total, the last browsing intent and the decayed web score
-- at score_reference_at. int_customers_activity_summarized and
-- int_customers_engagement_scored project it to as_of.
-- Incremental: a run recomputes from their whole history the persons with a web event written
-- since its last run, the persons the touched visitors' events belonged to before
-- (int_web_people_touched) and those whose records changed person; every person when the
-- weights, the half-life or the intent settings changed (state_config)
{{ config(
    materialized='incremental',
    unique_key='person_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    post_hook="{% if is_incremental() %}delete from {{ this }} where web_event_count = 0{% endif %}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('int_web_people_touched') }}
{#- at least one view: the lag below looks back (min_views - 1) views -#}
{%- set min_views = [var('browsing_intent_min_views') | int, 1] | max %}
{%- set state_config = person_state_config(
    'web', ';intent=' ~ min_views ~ '/' ~ var('browsing_intent_minutes')) %}
{%- set recompute_some = is_incremental() and not person_state_is_stale(this, state_config) %}
{%- if recompute_some %}
    {%- set since = load_window(this.identifier).last_loaded_at %}
    {#- each CTE reads its table itself with this filter: DuckDB materialises a CTE read twice -#}
    {%- set touched_filter = 'and person_id in (select touched.person_id from touched)' %}
{%- else %}
    {%- set touched_filter = '' %}
{%- endif %}

with

weights as (

    select * from {{ ref('engagement_weights') }}
    where event_source = 'web'

),

{% if recompute_some %}

    touched as (

        select person_id from {{ ref('int_web_events_sessionized') }}
        where loaded_at > {{ since }} and person_id is not null

        union

        select person_id from {{ ref('int_web_people_touched') }}

        union

        {{ persons_with_identity_changes(since) }}

    ),

{% endif %}

web as (

    select
        web_events.person_id,
        count(*) as web_event_count,
        count(weights.weight) as weighted_event_count,
        max(web_events.occurred_at) as last_visit_at,
        max(case when web_events.event_type = 'product_view' then web_events.occurred_at end)
            as last_product_view_at,
        sum({{ person_state_decayed('weights.weight', 'web_events.occurred_at') }}) as web_score_at_reference
    from (
        select
            person_id,
            event_type,
            occurred_at
        from {{ ref('int_web_events_sessionized') }}
        where person_id is not null {{ touched_filter }}
    ) as web_events
    left join weights
        on web_events.event_type = weights.event_type
    group by web_events.person_id

),

product_view_bursts as (

    -- a view completes a burst when the view (min_views - 1) views earlier in the person's
    -- order is within the window: the same answer as counting the views in a range window
    -- (the last of tied views sees the whole window), at the cost of one sort
    select
        person_id,
        occurred_at,
        lag(occurred_at, {{ min_views - 1 }}) over (
            partition by person_id
            order by occurred_at
        ) as burst_started_at
    from {{ ref('int_web_events_sessionized') }}
    where event_type = 'product_view' and person_id is not null {{ touched_filter }}

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

session_counts as (

    select
        person_id,
        count(*) as web_sessions_total
    from {{ ref('int_sessions_aggregated') }}
    where person_id is not null {{ touched_filter }}
    group by person_id

),

people as (

    {{ person_state_people(recompute_some, 'touched', 'web') }}

),

final as (

    select
        -- ids
        people.person_id,

        -- strings
        '{{ state_config }}' as state_config,

        -- numerics
        cast(coalesce(web.web_event_count, 0) as bigint) as web_event_count,
        cast(coalesce(web.weighted_event_count, 0) as bigint) as weighted_event_count,
        cast(coalesce(session_counts.web_sessions_total, 0) as integer) as web_sessions_total,
        -- unrounded: int_customers_engagement_scored decays it to as_of and rounds
        coalesce(web.web_score_at_reference, 0.0) as web_score_at_reference,

        -- timestamps
        web.last_visit_at,
        web.last_product_view_at,
        browsing.last_browsing_intent_at,
        {{ as_of() }} as score_reference_at,
        {{ loaded_at() }} as loaded_at
    from people
    left join web
        on people.person_id = web.person_id
    left join browsing
        on people.person_id = browsing.person_id
    left join session_counts
        on people.person_id = session_counts.person_id

)

select * from final
