-- one row per order: the latest valid version
with

base as (

    select * from {{ ref('base_raw__orders') }}

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
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
