-- one row per person, segment and change: entering or leaving the segment, stamped with
-- the run's as_of. Appends only what differs from the last known state (segment_membership_state,
-- so that a run does not grow with the runs before it), so a run that changes nothing adds
-- nothing; never rebuilt by --full-refresh (it is the history).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    tags=['history'],
) }}
{{ after_reader_facing_marts() }}

with

memberships as (

    select * from {{ ref('customer_segments') }}

),

{% if is_incremental() and recorded_state_is_current() %}

    known_members as (

        -- what the last run recorded, kept by segment_membership_state
        select
            person_id,
            segment
        from {{ membership_state_relation() }}

    ),

{% elif is_incremental() %}

    last_known as (

        -- no current state (a first run of this version, or the state model failed after
        -- the history ran): the latest change recorded for each person and segment
        select
            person_id,
            segment,
            max_by(change_type, recorded_at) as last_change_type
        from {{ this }}
        group by person_id, segment

    ),

    known_members as (

        select
            person_id,
            segment
        from last_known
        where last_change_type = 'entered'

    ),

{% else %}

    known_members as (

        select
            cast(null as string) as person_id,
            cast(null as string) as segment
        where false

    ),

{% endif %}

entered as (

    select
        memberships.person_id,
        memberships.segment_type,
        memberships.segment,
        'entered' as change_type
    from memberships
    left join known_members
        on
            memberships.person_id = known_members.person_id
            and memberships.segment = known_members.segment
    where known_members.person_id is null

),

left_segment as (

    select
        known_members.person_id,
        cast(null as string) as segment_type,
        known_members.segment,
        'left' as change_type
    from known_members
    left join memberships
        on
            known_members.person_id = memberships.person_id
            and known_members.segment = memberships.segment
    where memberships.person_id is null

),

changes as (

    select * from entered
    union all
    select * from left_segment

),

final as (

    select
        -- ids
        person_id,

        -- strings
        segment_type,
        segment,
        change_type,

        -- timestamps
        {{ as_of() }} as as_of,
        {{ loaded_at() }} as recorded_at
    from changes

)

select * from final
