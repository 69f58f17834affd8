-- one row per segment and recorded as_of (every as_of in segment_size_history): the
-- segment's size then. segment_size_history writes a row only when a size changed; here
-- each segment keeps its last size until its next row, so a chart reads every point.
with

history as (

    select * from {{ ref('segment_size_history') }}

),

recorded as (

    select distinct as_of
    from history

),

versions as (

    -- each recorded size, valid until the segment's next row
    select
        segment,
        segment_type,
        members,
        primary_members,
        audience_size,
        share_of_audience,
        as_of as valid_from,
        lead(as_of) over (partition by segment order by as_of, recorded_at) as valid_to
    from history

),

final as (

    select
        -- ids
        versions.segment,

        -- strings
        versions.segment_type,

        -- numerics
        versions.members,
        versions.primary_members,
        versions.audience_size,
        versions.share_of_audience,

        -- timestamps
        recorded.as_of
    from recorded
    inner join versions
        on
            recorded.as_of >= versions.valid_from
            and (versions.valid_to is null or recorded.as_of < versions.valid_to)

)

select * from final
