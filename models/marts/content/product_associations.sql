-- one row per product and associated product (the best recommendation_neighbours of each):
-- bought together, viewed then bought, and the association score, from the orders up to
-- as_of (macro product_association_scores). Part of the content fit (macros/content/fit.sql):
-- refitted every recommendation_refit_every_days, else kept as it is (the select is empty)
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{% if is_incremental() and content_fit_is_due() %}delete from {{ this }}{% endif %}",
) }}
-- depends_on: {{ ref('affinity_weights') }}
{%- set refitting = content_fit_is_due() %}

with

interactions as (

    select * from {{ ref('int_person_product_events') }}

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

associations as (

    {{ product_association_scores('interactions', as_of()) }}

),

final as (

    select
        -- ids
        associations.product_id,
        associations.associated_product_id,

        -- strings
        products.product_name as associated_product_name,
        products.category as associated_category,

        -- numerics
        cast(associations.neighbour_rank as bigint) as neighbour_rank,
        associations.co_bought_baskets,
        associations.viewed_then_bought_baskets,
        associations.support,
        associations.association_score,

        -- timestamps
        {{ as_of() }} as fitted_as_of,

        -- the fit's settings (content_fit_config)
        '{{ content_fit_config() }}' as fit_config
    from associations
    inner join products
        on associations.associated_product_id = products.product_id
    {%- if not refitting %}
        -- not due: the stored fit stays
        where false
    {%- endif %}

)

select * from final
