-- one row per source customer_id: the latest valid version
with

valid_rows as (

    select * from {{ ref('base_raw__customers') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows. Versions with the same updated_at: the
    -- tie-breaks cover every column kept, so the winner never depends on file read order
    select
        *,
        row_number() over (
            partition by customer_id
            order by
                updated_at desc nulls last, signup_at desc nulls last, email asc nulls last,
                first_name asc nulls last, last_name asc nulls last, gender asc nulls last,
                city asc nulls last, country asc nulls last, birth_date asc nulls last
        ) as version_rank
    from valid_rows

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
    from ranked
    where version_rank = 1

)

select * from current_rows
