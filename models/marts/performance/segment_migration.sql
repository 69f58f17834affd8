-- one row per segment type, segment a person was in at from_as_of and segment they were in
-- at to_as_of (membership history, point in time): how many people moved, e.g. Champions
-- that became At Risk. Types whose segments exclude each other only (var
-- migration_segment_types); '(none)' = in no segment of the type then. to_as_of: the
-- newest recorded run (or var migration_to_as_of); from_as_of: the newest recorded run at
-- least migration_days before it (or var migration_from_as_of), else the first one.
{%- set type_list = [] %}
{%- for t in var('migration_segment_types') %}{% do type_list.append(sql_string(t)) %}{% endfor %}
{%- set lookback_days = var('migration_days') %}
with

spans as (

    select * from {{ ref('segment_membership_spans') }}
    where segment_type in ({{ type_list | join(', ') }})

),

runs as (

    select distinct as_of
    from {{ ref('segment_membership_history') }}

),

to_run as (

    select
        {%- if var('migration_to_as_of') %}
            cast({{ sql_string(var('migration_to_as_of')) }} as timestamp) as to_as_of
        {%- else %}
            max(as_of) as to_as_of
        {%- endif %}
    from runs

),

dates as (

    select
        to_run.to_as_of,
        {%- if var('migration_from_as_of') %}
            cast({{ sql_string(var('migration_from_as_of')) }} as timestamp) as from_as_of
        {%- else %}
            coalesce(
                max(
                    case
                        when runs.as_of <= {{ dbt.dateadd('day', -lookback_days, 'to_run.to_as_of') }}
                            then runs.as_of
                    end
                ),
                min(runs.as_of)
            ) as from_as_of
        {%- endif %}
    from to_run
    cross join runs
    group by to_run.to_as_of

),

members_then as (

    select
        spans.person_id,
        spans.segment_type,
        spans.segment
    from spans
    cross join dates
    where
        spans.valid_from <= dates.from_as_of
        and (spans.valid_to is null or spans.valid_to > dates.from_as_of)

),

members_now as (

    select
        spans.person_id,
        spans.segment_type,
        spans.segment
    from spans
    cross join dates
    where
        spans.valid_from <= dates.to_as_of
        and (spans.valid_to is null or spans.valid_to > dates.to_as_of)

),

moves as (

    select
        coalesce(members_then.segment_type, members_now.segment_type) as segment_type,
        coalesce(members_then.segment, '(none)') as from_segment,
        coalesce(members_now.segment, '(none)') as to_segment
    from members_then
    full outer join members_now
        on
            members_then.person_id = members_now.person_id
            and members_then.segment_type = members_now.segment_type

),

counted as (

    select
        segment_type,
        from_segment,
        to_segment,
        count(*) as people
    from moves
    group by segment_type, from_segment, to_segment

),

final as (

    select
        -- strings
        counted.segment_type,
        counted.from_segment,
        counted.to_segment,

        -- numerics
        cast(counted.people as bigint) as people,
        cast(counted.people as double)
        / sum(counted.people) over (
            partition by counted.segment_type, counted.from_segment
        ) as share_of_from,

        -- timestamps
        dates.from_as_of,
        dates.to_as_of
    from counted
    cross join dates

)

select * from final
