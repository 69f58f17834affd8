-- one row per customer and channel: the latest consent change wins
with

consents as (

    select * from {{ ref('stg_raw__consents') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, channel
            -- same instant: opted_out wins, the conservative choice
            order by changed_at desc, status desc
        ) as recency_rank
    from consents

),

latest as (

    select
        -- ids
        customer_id,

        -- strings
        channel,
        status as consent_status,
        consent_source,

        -- booleans
        status = 'opted_in' as is_opted_in,

        -- timestamps
        changed_at as consent_changed_at
    from ranked
    where recency_rank = 1

)

select * from latest
