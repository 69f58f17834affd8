-- one row per person and rank (1..recommendation_count): the products to show, as of as_of,
-- with the method and reason (macro recommendation_ctes: co-occurrence with the person's
-- top products, then popular in the favourite category, then popular)
with

people as (

    select person_id from {{ ref('dim_customers') }}

),

interactions as (

    {{ weighted_product_interactions(as_of()) }}

),

associations as (

    select * from {{ ref('product_associations') }}

),

favourites as (

    select
        person_id,
        affinity_value as category
    from {{ ref('customer_affinities') }}
    where affinity_type = 'category' and affinity_rank = 1

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

{{ recommendation_ctes(
    'recommended', 'interactions', 'associations', 'favourites', 'people', as_of(),
    ['co_occurrence', 'category_popularity', 'popularity'],
) }},

final as (

    select
        -- ids
        recommended.person_id,
        recommended.product_id,

        -- strings
        products.product_name,
        products.category,
        products.brand,
        recommended.recommendation_source,
        recommended.reason,

        -- numerics
        cast(recommended.recommendation_rank as integer) as recommendation_rank,
        recommended.score,
        products.price
    from recommended
    inner join products
        on recommended.product_id = products.product_id

)

select * from final
