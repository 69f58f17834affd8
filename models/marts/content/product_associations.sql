-- one row per product and associated product (the best recommendation_neighbours of each):
-- bought together, viewed then bought, and the association score, from the orders up to
-- as_of (macro product_association_scores)
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
        associations.association_score
    from associations
    inner join products
        on associations.associated_product_id = products.product_id

)

select * from final
