-- one row per person, affinity type (category, brand) and rank 1-3: what of the person's
-- affinities does not depend on as_of (value, rank, share, counts, last interaction) and the
-- decayed weight at weight_reference_at; customer_affinities projects it to as_of. A shift
-- of as_of decays every weight of a person by the same factor, so ranks and shares stay.
-- Incremental by person: a run recomputes the people touched since its last run
-- (affinity_state_people_touched); everyone after an upstream reload or when the half-life or
-- the weights changed (state_config)
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_recomputed_people(affinity_state_recompute_some(), affinity_state_people_touched()) }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('int_web_events_sessionized') }}
-- depends_on: {{ ref('int_web_people_touched') }}
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('int_person_product_events') }}
-- depends_on: {{ ref('affinity_weights') }}
{%- set recompute_some = affinity_state_recompute_some() %}

with

{% if recompute_some %}

    touched as (

        {{ affinity_state_people_touched() }}

    ),

{% endif %}

interactions as (

    {{ weighted_product_interactions(as_of(), 'touched' if recompute_some else none) }}

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
        affinity_weight as weight_at_reference,
        affinity_share,
        interaction_count,

        -- timestamps
        last_interaction_at,
        {{ as_of() }} as weight_reference_at,
        {{ loaded_at() }} as loaded_at,

        -- the half-life and weights the row was computed with (affinity_state_config)
        '{{ affinity_state_config() }}' as state_config
    from scored
    where affinity_rank <= 3

)

select * from final
