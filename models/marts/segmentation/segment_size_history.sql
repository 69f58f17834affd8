-- one row per segment and run in which its size changed: members and primary members at
-- the run's as_of, for trend charts (a segment keeps its size until its next row; one that
-- is no longer defined gets a row of zeros).
-- Never rebuilt by --full-refresh (it is the history).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    tags=['history'],
) }}
{{ after_reader_facing_marts() }}

with

summary as (

    select * from {{ ref('segment_summary') }}

),

{% if is_incremental() %}

    last_sizes as (

        select
            segment,
            max_by(segment_type, recorded_at) as segment_type,
            max_by(members, recorded_at) as members,
            max_by(primary_members, recorded_at) as primary_members
        from {{ this }}
        group by segment

    ),

    gone as (

        -- a segment no longer defined (a renamed cluster, a removed definition): one row of
        -- zeros, so a trend does not carry its last size forever
        select
            last_sizes.segment,
            last_sizes.segment_type,
            0 as members,
            0 as primary_members,
            run.audience_size,
            0.0 as share_of_audience,
            run.as_of
        from last_sizes
        cross join (
            select
                max(audience_size) as audience_size,
                max(as_of) as as_of
            from summary
        ) as run
        left join summary
            on last_sizes.segment = summary.segment
        where
            summary.segment is null
            and (last_sizes.members <> 0 or last_sizes.primary_members <> 0)

    ),

    changed as (

        select
            summary.segment,
            summary.segment_type,
            summary.members,
            summary.primary_members,
            summary.audience_size,
            summary.share_of_audience,
            summary.as_of
        from summary
        left join last_sizes
            on summary.segment = last_sizes.segment
        where
            last_sizes.segment is null
            or summary.members <> last_sizes.members
            or summary.primary_members <> last_sizes.primary_members
        union all
        select * from gone

    ),

{% else %}

    changed as (

        select * from summary

    ),

{% endif %}

final as (

    select
        -- ids
        segment,

        -- strings
        segment_type,

        -- numerics
        cast(members as bigint) as members,
        cast(primary_members as bigint) as primary_members,
        cast(audience_size as bigint) as audience_size,
        share_of_audience,

        -- timestamps
        as_of,
        {{ loaded_at() }} as recorded_at
    from changed

)

select * from final
