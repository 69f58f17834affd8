-- one row per order: the latest valid version
with

valid_rows as (

    select * from {{ ref('base_raw__orders') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in stg_raw__row_audit
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc nulls last, status asc, ordered_at desc
        ) as version_rank
    from valid_rows

),

current_rows as (

    select
        -- ids
        order_id,
        customer_id,

        -- strings
        status,
        currency,

        -- timestamps
        ordered_at,
        updated_at
    from ranked
    where version_rank = 1

)

select * from current_rows
