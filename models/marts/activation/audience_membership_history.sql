-- one row per audience, person and change: entering or leaving the audience in a split group
-- (treatment, holdout or global_control), stamped with the run's as_of. Appends only what
-- differs from the last recorded state, so a run that changes nothing adds nothing; never
-- rebuilt by --full-refresh (it is the history: campaign uplift reads who was in the
-- holdout when a campaign went out).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    tags=['history'],
) }}
{{ after_reader_facing_marts() }}

with

members as (

    select * from {{ ref('audience_members') }}

),

{% if is_incremental() %}

    last_known as (

        select
            audience,
            person_id,
            max_by(split_group, recorded_at) as split_group,
            max_by(change_type, recorded_at) as last_change_type
        from {{ this }}
        group by audience, person_id

    ),

    known_members as (

        select
            audience,
            person_id,
            split_group
        from last_known
        where last_change_type = 'entered'

    ),

{% else %}

    known_members as (

        select
            cast(null as string) as audience,
            cast(null as string) as person_id,
            cast(null as string) as split_group
        where false

    ),

{% endif %}

entered as (

    select
        members.audience,
        members.person_id,
        members.split_group,
        'entered' as change_type
    from members
    left join known_members
        on
            members.audience = known_members.audience
            and members.person_id = known_members.person_id
            and members.split_group = known_members.split_group
    where known_members.person_id is null

),

left_audience as (

    -- gone, or now in another split group (a changed holdout share): left, then entered
    select
        known_members.audience,
        known_members.person_id,
        known_members.split_group,
        'left' as change_type
    from known_members
    left join members
        on
            known_members.audience = members.audience
            and known_members.person_id = members.person_id
            and known_members.split_group = members.split_group
    where members.person_id is null

),

changes as (

    select * from entered
    union all
    select * from left_audience

),

final as (

    select
        -- ids
        audience,
        person_id,

        -- strings
        split_group,
        change_type,

        -- timestamps
        {{ as_of() }} as as_of,
        {{ loaded_at() }} as recorded_at
    from changes

)

select * from final
