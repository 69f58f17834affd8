-- one row per source customer_id: the latest valid version
with

base as (

    select * from {{ ref('base_raw__customers') }}

),

current_rows as (

    select
        -- ids
        customer_id,

        -- strings
        email,
        first_name,
        last_name,
        gender,
        city,
        country,

        -- dates
        birth_date,

        -- timestamps
        signup_at,
        updated_at
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
