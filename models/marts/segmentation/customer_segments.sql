-- one row per person and segment they belong to (long membership table), compiled from the
-- segment definitions; is_primary marks each person's highest-priority segment
with

features as (

    select * from {{ ref('customer_features') }}

),

memberships as (

    {{ compile_segment_memberships('features') }}

),

ranked as (

    select
        *,
        -- rank(), not row_number(): two segments sharing the best priority both surface,
        -- and the one-primary-segment test reports the person
        rank() over (partition by person_id order by priority asc) = 1 as is_primary
    from memberships

),

final as (

    select
        -- ids
        person_id,

        -- strings
        segment_type,
        segment,
        parent_segment,

        -- numerics
        priority,

        -- booleans
        is_primary,

        -- timestamps
        {{ as_of() }} as as_of,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as computed_at
    from ranked

)

select * from final
