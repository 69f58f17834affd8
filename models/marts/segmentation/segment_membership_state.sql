-- one row per person and segment they were in when segment_membership_history last ran:
-- the state its next run compares with, so that it need not replay its own growing rows
{{ config(tags=['history']) }}

with

memberships as (

    select * from {{ ref('customer_segments') }}

),

history as (

    select * from {{ ref('segment_membership_history') }}

),

recorded as (

    -- the history's newest stamp: the next run trusts this state only if it still is
    select max(recorded_at) as recorded_at from history

),

final as (

    select
        -- ids
        memberships.person_id,

        -- strings
        memberships.segment,

        -- timestamps
        recorded.recorded_at
    from memberships
    cross join recorded

)

select * from final
