-- one row per segment and run in which its size changed: members and primary members at
-- the run's as_of, for trend charts (a segment keeps its size until its next row).
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
            max_by(members, recorded_at) as members,
            max_by(primary_members, recorded_at) as primary_members
        from {{ this }}
        group by segment

    ),

    changed as (

        select summary.*
        from summary
        left join last_sizes
            on summary.segment = last_sizes.segment
        where
            last_sizes.segment is null
            or summary.members <> last_sizes.members
            or summary.primary_members <> last_sizes.primary_members

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
