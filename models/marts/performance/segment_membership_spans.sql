-- one row per person, segment and stay: from the as_of of the run that saw the person enter
-- to the as_of of the run that saw them leave (null while still in it), from
-- segment_membership_history. A person was in the segment at time t when
-- valid_from <= t < valid_to (or valid_to is null); before the first recorded run nothing is
-- known (history_started_at). An entry recorded again without an exit continues the stay.
with

spans as (

    {{ history_spans(ref('segment_membership_history'), ['person_id', 'segment'], ['segment_type']) }}

),

started as (

    select min(as_of) as history_started_at
    from {{ ref('segment_membership_history') }}

),

final as (

    select
        -- ids
        spans.person_id,

        -- strings
        spans.segment_type,
        spans.segment,

        -- timestamps
        spans.valid_from,
        spans.valid_to,
        started.history_started_at
    from spans
    cross join started

)

select * from final
