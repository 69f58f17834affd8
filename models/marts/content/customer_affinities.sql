-- one row per person, affinity type (category, brand) and rank 1-3: the person's top
-- categories and brands by decayed interaction weight as of as_of (macro affinity_scores)
with

interactions as (

    {{ weighted_product_interactions(as_of()) }}

),

scored as (

    {{ affinity_scores('interactions') }}

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
        affinity_weight,
        affinity_share,
        interaction_count,

        -- timestamps
        last_interaction_at
    from scored
    where affinity_rank <= 3

)

select * from final
