-- one row per product bought in the recommendation_popularity_days before the fit: distinct
-- buyers and rank among all products and in its category (the popularity lists of
-- customer_recommendations). Part of the content fit (macros/content/fit.sql): recomputed when
-- product_associations was refitted, else kept as it is
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{% if is_incremental() and content_fit_changed() %}delete from {{ this }}{% endif %}",
) }}
{%- set refitting = content_fit_changed() %}
{#- the lists are those of the fit's as_of (this run's when it refitted) -#}
{%- set fit = content_fit_of(ref('product_associations')) %}
{%- set cutoff = "cast('" ~ fit[0] ~ "' as timestamp)" if fit else as_of() %}

with

interactions as (

    select * from {{ ref('int_person_product_events') }}

),

fit as (

    {{ content_fit_stamp() }}

),

popular as (

    {{ product_popularity_ranks('interactions', cutoff) }}

),

final as (

    select
        -- ids
        popular.product_id,

        -- strings
        popular.category,

        -- numerics
        cast(popular.buyer_count as bigint) as buyer_count,
        cast(popular.global_rank as bigint) as global_rank,
        cast(popular.category_rank as bigint) as category_rank,

        -- timestamps
        fit.fitted_as_of,

        -- the fit's settings (content_fit_config)
        fit.fit_config
    from popular
    cross join fit
    {%- if not refitting %}
        -- the fit did not change: the stored lists stay
        where false
    {%- endif %}

)

select * from final
