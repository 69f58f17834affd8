-- one row per destination, audience and person whose exported membership differs from what
-- the destination holds after its last confirmed sync: add (new there), update (a merge field
-- changed), remove (left the audience, moved to another or became suppressed; the merge
-- fields are the ones last synced). `segmentation sync` delivers it; base_sync_id names the
-- state it was diffed against, so a change set is never delivered twice.
with

destinations as (

    select * from {{ ref('activation_destinations') }}

),

members as (

    select * from {{ ref('audience_members') }}
    where is_exported

),

synced as (

    select * from {{ ref('stg_activation_state__synced_members') }}

),

base as (

    select
        destinations.destination,
        coalesce(max(synced.sync_id), 'none') as base_sync_id
    from destinations
    left join synced
        on destinations.destination = synced.destination
    group by destinations.destination

),

compared as (

    select
        coalesce(members.destination, synced.destination) as destination,
        coalesce(members.audience, synced.audience) as audience,
        coalesce(members.person_id, synced.person_id) as person_id,
        case
            when synced.person_id is null then 'add'
            when members.person_id is null then 'remove'
            when members.member_fingerprint <> synced.member_fingerprint then 'update'
        end as change_type,
        coalesce(members.email, synced.email) as email,
        coalesce(members.first_name, synced.first_name) as first_name,
        case when members.person_id is null then synced.primary_segment else members.primary_segment end
            as primary_segment,
        case when members.person_id is null then synced.lifecycle_stage else members.lifecycle_stage end
            as lifecycle_stage,
        case when members.person_id is null then synced.value_tier else members.value_tier end
            as value_tier,
        case when members.person_id is null then synced.purchase_likelihood else members.purchase_likelihood end
            as purchase_likelihood,
        case when members.person_id is null then synced.churn_risk else members.churn_risk end
            as churn_risk,
        case when members.person_id is null then synced.predicted_value else members.predicted_value end
            as predicted_value,
        case when members.person_id is null then synced.favourite_category else members.favourite_category end
            as favourite_category,
        coalesce(members.member_fingerprint, synced.member_fingerprint) as member_fingerprint
    from members
    full outer join synced
        on
            members.destination = synced.destination
            and members.audience = synced.audience
            and members.person_id = synced.person_id

),

final as (

    select
        -- ids
        compared.destination,
        compared.audience,
        compared.person_id,

        -- strings
        compared.change_type,
        compared.email,
        compared.first_name,
        compared.primary_segment,
        compared.lifecycle_stage,
        compared.value_tier,
        compared.purchase_likelihood,
        compared.churn_risk,
        compared.predicted_value,
        compared.favourite_category,
        compared.member_fingerprint,
        base.base_sync_id,

        -- timestamps
        {{ as_of() }} as as_of
    from compared
    inner join base
        on compared.destination = base.destination
    where compared.change_type is not null

)

select * from final
