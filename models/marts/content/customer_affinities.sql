-- one row per person, affinity type (category, brand) and rank 1-3: the person's top
-- categories and brands by decayed interaction weight as of as_of: the kept state
-- (int_person_affinity_state) with its weight decayed from weight_reference_at to as_of
with

affinity_state as (

    select * from {{ ref('int_person_affinity_state') }}

),

final as (

    select
        -- ids
        person_id,

        -- strings
        affinity_type,
        affinity_value,

        -- numerics
        affinity_rank,
        {{ half_life_decay(
            'weight_at_reference', 'weight_reference_at', as_of(), var('affinity_half_life_days')
        ) }} as affinity_weight,
        affinity_share,
        interaction_count,

        -- timestamps
        last_interaction_at
    from affinity_state

)

select * from final
