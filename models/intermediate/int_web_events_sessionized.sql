-- one row per web event: visitor, the person it resolves to, and its session (30-minute gap);
-- incremental: a run recomputes every visitor with a new event or a re-attributed identity
-- and writes the rows that are new or changed
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}

{%- set visitor_key = "coalesce(anonymous_id, 'customer:' || customer_id)" %}

with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

{% if is_incremental() %}

    {#- the affected visitors' earlier events come from this table, not from the staged
        events: its visitor_id is a stored column that DuckDB filters cheaply, where the
        visitor key over 35M staged events cost 3 s at 1M; the new rows are the staged rows
        stamped after this table's last run (at the end of the table: zonemaps skip the rest) #}
    {%- set since = last_loaded_at(this) %}
    {%- set event_columns = [
        'event_id', 'anonymous_id', 'customer_id', 'product_id', 'event_type', 'page_url',
        'occurred_at', 'received_at',
    ] %}

    identity_changes as (

        select * from {{ ref('int_customers_identity_tracked') }}

    ),

    new_events as (

        select
            {{ event_columns | join(',\n            ') }},
            {{ visitor_key }} as visitor_id
        from {{ ref('stg_raw__web_events') }}
        where loaded_at > {{ since }}

    ),

    moved_from_visitors as (

        -- a re-delivered event may have moved from another visitor
        select distinct visitor_id from {{ this }}
        where event_id in (select new_events.event_id from new_events)

    ),

    affected_visitors as (

        select visitor_id from new_events

        union

        select visitor_id from moved_from_visitors

        union

        -- a customer may now belong to another person
        select visitor_id from {{ this }}
        where resolved_customer_id in (
            select identity_changes.customer_id from identity_changes
            where identity_changes.loaded_at > {{ since }}
        )

    ),

    recompute_bounds as (

        -- sessions before a visitor's earliest new event stand: the windows run from there
        -- on, seeded with the last session before it (a visitor whose event was replaced or
        -- moved away runs whole)
        select
            visitor_id,
            min(occurred_at) as recompute_from
        from new_events
        group by visitor_id

    ),

    built_rows as (

        select
            {{ event_columns | join(',\n            ') }},
            visitor_id,
            session_number,
            is_session_start,
            resolved_customer_id,
            person_id,
            visitor_id in (select moved_from_visitors.visitor_id from moved_from_visitors)
                as is_rebuilt_whole
        from {{ this }} as built
        where
            visitor_id in (select affected_visitors.visitor_id from affected_visitors)
            and not exists (
                select 1 from new_events
                where new_events.event_id = built.event_id
            )

    ),

    visitors as (

        select
            *,
            true as is_windowed,
            false as keep_if_unchanged,
            cast(null as bigint) as built_session_number,
            cast(null as boolean) as built_is_session_start,
            cast(null as varchar) as built_resolved_customer_id,
            cast(null as varchar) as built_person_id
        from new_events

        union all

        -- the affected visitors' events built before, but for the versions just replaced,
        -- with what was built for them: only rows that change are written again (a visitor
        -- that lost an event is written whole, so that its sessions are rebuilt downstream)
        select
            {{ event_columns | join(',\n            ') }},
            built_rows.visitor_id,
            coalesce(
                built_rows.is_rebuilt_whole
                or built_rows.occurred_at >= recompute_bounds.recompute_from,
                false
            ) as is_windowed,
            not built_rows.is_rebuilt_whole as keep_if_unchanged,
            built_rows.session_number as built_session_number,
            built_rows.is_session_start as built_is_session_start,
            built_rows.resolved_customer_id as built_resolved_customer_id,
            built_rows.person_id as built_person_id
        from built_rows
        left join recompute_bounds
            on built_rows.visitor_id = recompute_bounds.visitor_id

    ),

    seeds as (

        -- per visitor, the last event whose session stands
        select
            visitor_id,
            max(occurred_at) as seed_occurred_at,
            max(built_session_number) as seed_session_number
        from visitors
        where not is_windowed
        group by visitor_id

    ),

    {%- set identified_events_from = 'visitors' %}
    {%- set ordered_events_from = 'visitors' %}

{% else %}

    visitors as (

        select
            *,
            {{ visitor_key }} as visitor_id
        from {{ ref('stg_raw__web_events') }}

    ),

    {#- the identity and session CTEs read the staged events themselves: DuckDB materializes a
        CTE that is read more than once, and materializing every event cost a third of this model #}
    {%- set identified_events_from = '(select ' ~ visitor_key ~ ' as visitor_id, customer_id, occurred_at from '
        ~ ref('stg_raw__web_events') ~ ')' %}
    {%- set ordered_events_from = '(select event_id, ' ~ visitor_key ~ ' as visitor_id, occurred_at from '
        ~ ref('stg_raw__web_events') ~ ')' %}

{% endif %}

first_identification as (

    select
        visitor_id,
        min(occurred_at) as identified_at
    from {{ identified_events_from }} as identified_events
    where customer_id is not null
    group by visitor_id

),

visitor_identities as (

    -- the first identity a visitor reveals: their anonymous events, before and after, belong
    -- to it (aggregates, not a window over every event, keep this linear at scale)
    select
        identified_events.visitor_id,
        min(identified_events.customer_id) as identified_customer_id
    from {{ identified_events_from }} as identified_events
    inner join first_identification
        on
            identified_events.visitor_id = first_identification.visitor_id
            and identified_events.occurred_at = first_identification.identified_at
    where identified_events.customer_id is not null
    group by identified_events.visitor_id

),

event_order as (

    -- the session windows sort only the key columns, the other columns join back by
    -- event_id: carrying every column through two sorts of 35M events at 1M customers took
    -- most of the model's time
    select
        ordered_events.event_id,
        ordered_events.visitor_id,
        ordered_events.occurred_at,
        {%- if is_incremental() %}
            seeds.seed_session_number,
            coalesce(
                lag(ordered_events.occurred_at) over (
                    partition by ordered_events.visitor_id
                    order by ordered_events.occurred_at, ordered_events.event_id
                ),
                seeds.seed_occurred_at
            ) as previous_occurred_at
        {%- else %}
            lag(ordered_events.occurred_at) over (
                partition by ordered_events.visitor_id
                order by ordered_events.occurred_at, ordered_events.event_id
            ) as previous_occurred_at
        {%- endif %}
    from {{ ordered_events_from }} as ordered_events
    {%- if is_incremental() %}
        left join seeds
            on ordered_events.visitor_id = seeds.visitor_id
    where ordered_events.is_windowed
    {%- endif %}

),

session_starts as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when
                {{ epoch_seconds('occurred_at') }} - {{ epoch_seconds('previous_occurred_at') }}
                > {{ var('session_gap_minutes') }} * 60 then 1
            else 0
        end as is_session_start
    from event_order

),

event_sessions as (

    select
        event_id,
        is_session_start,
        {% if is_incremental() %}coalesce(seed_session_number, 0) + {% endif -%}
        count(case when is_session_start = 1 then 1 end) over (
            partition by visitor_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts
    {%- if is_incremental() %}

        union all

        -- events before the recompute point keep their sessions (the identity may change)
        select
            event_id,
            case when built_is_session_start then 1 else 0 end as is_session_start,
            built_session_number as session_number
        from visitors
        where not is_windowed
    {%- endif %}

),

numbered as (

    select
        visitors.*,
        coalesce(visitors.customer_id, visitor_identities.identified_customer_id)
            as resolved_customer_id,
        event_sessions.is_session_start,
        event_sessions.session_number
    from visitors
    inner join event_sessions
        on visitors.event_id = event_sessions.event_id
    left join visitor_identities
        on visitors.visitor_id = visitor_identities.visitor_id

),

final as (

    select
        -- ids
        numbered.event_id,
        numbered.visitor_id || '#' || cast(numbered.session_number as varchar) as session_id,
        numbered.visitor_id,
        numbered.anonymous_id,
        numbered.customer_id,
        numbered.resolved_customer_id,
        customers_merged.person_id,
        numbered.product_id,

        -- strings
        numbered.event_type,
        numbered.page_url,

        -- numerics
        numbered.session_number,

        -- booleans
        numbered.is_session_start = 1 as is_session_start,
        numbered.customer_id is null and numbered.resolved_customer_id is not null as is_stitched,

        -- timestamps
        numbered.occurred_at,
        numbered.received_at,
        {{ loaded_at() }} as loaded_at
    from numbered
    left join customers_merged
        on numbered.resolved_customer_id = customers_merged.customer_id
    {%- if is_incremental() %}
    where
        not numbered.keep_if_unchanged
        or numbered.session_number is distinct from numbered.built_session_number
        or (numbered.is_session_start = 1) is distinct from numbered.built_is_session_start
        or numbered.resolved_customer_id is distinct from numbered.built_resolved_customer_id
        or customers_merged.person_id is distinct from numbered.built_person_id
    {%- endif %}

)

select * from final
