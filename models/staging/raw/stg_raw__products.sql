-- one row per product: the latest valid version
with

base as (

    select * from {{ ref('base_raw__products') }}

),

current_rows as (

    select
        -- ids
        product_id,

        -- strings
        product_name,
        category,
        brand,

        -- numerics
        price,

        -- timestamps
        updated_at
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
