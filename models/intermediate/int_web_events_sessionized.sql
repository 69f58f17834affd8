-- one row per web event: visitor, the person it resolves to, and its session (30-minute gap);
-- incremental: a run recomputes the visitors int_web_visitors_touched lists and writes the
-- rows that are new or changed. A visitor whose identity the run cannot change is read from
-- its earliest new event on (the open session's tail), not from its first event
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('int_web_visitors_touched') }}
-- depends_on: {{ ref('int_web_people_touched') }}

with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

{% if is_incremental() %}

    touched_visitors as (

        select * from {{ ref('int_web_visitors_touched') }}

    ),

    new_events as (

        -- the staged rows stamped after this table's last run (at the end of the table:
        -- zonemaps skip the rest)
        select
            event_id,
            anonymous_id,
            customer_id,
            product_id,
            event_type,
            page_url,
            occurred_at,
            received_at,
            {{ web_visitor_key() }} as visitor_id
        from {{ ref('stg_raw__web_events') }}
        where loaded_at > {{ load_window(this.identifier).last_loaded_at }}

    ),

    new_identifications as (

        select
            visitor_id,
            min(occurred_at) as identified_at
        from new_events
        where customer_id is not null
        group by visitor_id

    ),

    touched_history as (

        -- every built event of the touched visitors, five narrow columns: read once (a scan
        -- of this table's visitor_id costs about a second at 1M customers, however few the
        -- visitors) for the seeds and the identities below
        select
            built.visitor_id,
            built.event_id,
            built.customer_id,
            built.occurred_at,
            built.session_number
        from {{ this }} as built
        where built.visitor_id in (select touched_visitors.visitor_id from touched_visitors)

    ),

    built_history as (

        -- where each touched visitor's first identification stands, and its last event
        -- before the recompute point
        select
            touched_history.visitor_id,
            min(case when touched_history.customer_id is not null then touched_history.occurred_at end)
                as identified_at,
            max(
                case
                    when touched_history.occurred_at < touched_visitors.recompute_from
                        then touched_history.occurred_at
                end
            ) as seed_occurred_at,
            max(
                case
                    when touched_history.occurred_at < touched_visitors.recompute_from
                        then touched_history.session_number
                end
            ) as seed_session_number
        from touched_history
        inner join touched_visitors
            on touched_history.visitor_id = touched_visitors.visitor_id
        group by touched_history.visitor_id

    ),

    visitor_reads as (

        -- a visitor whose identity this run cannot change (no event moved, no customer
        -- re-attributed, no new event identifying it as early as its built identity) is
        -- read from its recompute point on: the sessions before it and their identity stand.
        -- The others are read whole, their earlier rows written again where they change
        select
            touched_visitors.visitor_id,
            touched_visitors.is_rebuilt_whole,
            touched_visitors.recompute_from,
            case
                when
                    not touched_visitors.is_rebuilt_whole
                    and not touched_visitors.is_identity_changed
                    and touched_visitors.recompute_from is not null
                    and (
                        new_identifications.identified_at is null
                        or built_history.identified_at < new_identifications.identified_at
                    )
                    then touched_visitors.recompute_from
            end as read_from,
            case when not touched_visitors.is_rebuilt_whole then built_history.seed_occurred_at end
                as seed_occurred_at,
            case when not touched_visitors.is_rebuilt_whole then built_history.seed_session_number end
                as seed_session_number
        from touched_visitors
        left join built_history
            on touched_visitors.visitor_id = built_history.visitor_id
        left join new_identifications
            on touched_visitors.visitor_id = new_identifications.visitor_id

    ),

    built_rows as (

        -- the touched visitors' earlier events come from this table, not from the staged
        -- events: its visitor_id is a stored column that DuckDB filters cheaply, where the
        -- visitor key over 35M staged events cost 3 s at 1M; the versions just replaced go
        select
            built.event_id,
            built.anonymous_id,
            built.customer_id,
            built.product_id,
            built.event_type,
            built.page_url,
            built.occurred_at,
            built.received_at,
            built.visitor_id,
            built.session_number,
            built.is_session_start,
            built.resolved_customer_id,
            built.person_id,
            visitor_reads.is_rebuilt_whole,
            coalesce(
                visitor_reads.is_rebuilt_whole
                or built.occurred_at >= visitor_reads.recompute_from,
                false
            ) as is_windowed
        from {{ this }} as built
        inner join visitor_reads
            on built.visitor_id = visitor_reads.visitor_id
        where
            (visitor_reads.read_from is null or built.occurred_at >= visitor_reads.read_from)
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
            cast(null as {{ dbt.type_string() }}) as built_resolved_customer_id,
            cast(null as {{ dbt.type_string() }}) as built_person_id
        from new_events

        union all

        -- with what was built for them: only rows that change are written again (a visitor
        -- that lost an event is written whole, so that its sessions are rebuilt downstream)
        select
            event_id,
            anonymous_id,
            customer_id,
            product_id,
            event_type,
            page_url,
            occurred_at,
            received_at,
            visitor_id,
            is_windowed,
            not is_rebuilt_whole as keep_if_unchanged,
            session_number as built_session_number,
            is_session_start as built_is_session_start,
            resolved_customer_id as built_resolved_customer_id,
            person_id as built_person_id
        from built_rows

    ),

    kept_sessions as (

        -- events before the recompute point keep their sessions (the identity may change)
        select
            event_id,
            visitor_id,
            occurred_at,
            built_session_number as session_number,
            case when built_is_session_start then 1 else 0 end as is_session_start
        from visitors
        where not is_windowed

    ),

    identified_events as (

        -- the identity of a visitor read from its recompute point needs its earlier
        -- identified events too
        select
            visitor_id,
            customer_id,
            occurred_at
        from new_events
        where customer_id is not null

        union all

        select
            touched_history.visitor_id,
            touched_history.customer_id,
            touched_history.occurred_at
        from touched_history
        where
            touched_history.customer_id is not null
            and not exists (
                select 1 from new_events
                where new_events.event_id = touched_history.event_id
            )

    ),

    seeds as (

        -- per visitor, the last event whose session stands
        select
            visitor_id,
            seed_occurred_at,
            seed_session_number
        from visitor_reads
        where seed_occurred_at is not null

    ),

    windowed_events as (

        select
            event_id,
            visitor_id,
            occurred_at
        from visitors
        where is_windowed

    ),

{% else %}

    visitors as (

        select
            *,
            {{ web_visitor_key() }} as visitor_id,
            false as keep_if_unchanged,
            cast(null as bigint) as built_session_number,
            cast(null as boolean) as built_is_session_start,
            cast(null as {{ dbt.type_string() }}) as built_resolved_customer_id,
            cast(null as {{ dbt.type_string() }}) as built_person_id
        from {{ ref('stg_raw__web_events') }}

    ),

    kept_sessions as (

        -- a full build keeps no session
        select
            cast(null as {{ dbt.type_string() }}) as event_id,
            cast(null as {{ dbt.type_string() }}) as visitor_id,
            cast(null as timestamp) as occurred_at,
            cast(null as bigint) as session_number,
            0 as is_session_start
        where false

    ),

    -- the identity and session CTEs read the staged events themselves, not `visitors`:
    -- DuckDB materializes a CTE that is read more than once, and materializing every event
    -- cost a third of this model
    identified_events as (

        select
            {{ web_visitor_key() }} as visitor_id,
            customer_id,
            occurred_at
        from {{ ref('stg_raw__web_events') }}
        where customer_id is not null

    ),

    windowed_events as (

        select
            event_id,
            {{ web_visitor_key() }} as visitor_id,
            occurred_at
        from {{ ref('stg_raw__web_events') }}

    ),

    seeds as (

        -- a full build continues no session
        select
            cast(null as {{ dbt.type_string() }}) as visitor_id,
            cast(null as timestamp) as seed_occurred_at,
            cast(null as bigint) as seed_session_number
        where false

    ),

{% endif %}

first_identification as (

    select
        visitor_id,
        min(occurred_at) as identified_at
    from identified_events
    group by visitor_id

),

visitor_identities as (

    -- the first identity a visitor reveals: their anonymous events, before and after, belong
    -- to it (aggregates, not a window over every event, keep this linear at scale)
    select
        identified_events.visitor_id,
        min(identified_events.customer_id) as identified_customer_id
    from identified_events
    inner join first_identification
        on
            identified_events.visitor_id = first_identification.visitor_id
            and identified_events.occurred_at = first_identification.identified_at
    group by identified_events.visitor_id

),

event_order as (

    -- the session windows sort only the key columns, the other columns join back by
    -- event_id: carrying every column through two sorts of 35M events at 1M customers took
    -- most of the model's time
    select
        windowed_events.event_id,
        windowed_events.visitor_id,
        windowed_events.occurred_at,
        seeds.seed_session_number,
        coalesce(
            lag(windowed_events.occurred_at) over (
                partition by windowed_events.visitor_id
                order by windowed_events.occurred_at, windowed_events.event_id
            ),
            seeds.seed_occurred_at
        ) as previous_occurred_at
    from windowed_events
    left join seeds
        on windowed_events.visitor_id = seeds.visitor_id

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
        coalesce(seed_session_number, 0) + count(case when is_session_start = 1 then 1 end) over (
            partition by visitor_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts

    union all

    select
        event_id,
        is_session_start,
        session_number
    from kept_sessions

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
        numbered.visitor_id || '#' || cast(numbered.session_number as {{ dbt.type_string() }}) as session_id,
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
    -- an incremental run writes only the rows that change (a full build keeps none)
    where
        not numbered.keep_if_unchanged
        or numbered.session_number is distinct from numbered.built_session_number
        or (numbered.is_session_start = 1) is distinct from numbered.built_is_session_start
        or numbered.resolved_customer_id is distinct from numbered.built_resolved_customer_id
        or customers_merged.person_id is distinct from numbered.built_person_id

)

select * from final
