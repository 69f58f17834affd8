-- one row per product: the latest valid version
with

valid_rows as (

    select * from {{ ref('base_raw__products') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows
    select
        *,
        row_number() over (
            partition by product_id
            order by
                updated_at desc nulls last, price desc nulls last, product_name asc nulls last,
                category asc nulls last, brand asc nulls last
        ) as version_rank
    from valid_rows

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
    from ranked
    where version_rank = 1

)

select * from current_rows
