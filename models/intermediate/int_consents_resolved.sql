-- one row per person and channel: the latest consent change over all the person's records wins
with

consents as (

    select * from {{ ref('stg_raw__consents') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

ranked as (

    select
        customers_merged.person_id,
        consents.*,
        row_number() over (
            partition by customers_merged.person_id, consents.channel
            -- same instant: opted_out wins, the conservative choice
            order by consents.changed_at desc, consents.status desc, consents.customer_id asc
        ) as recency_rank
    from consents
    inner join customers_merged
        on consents.customer_id = customers_merged.customer_id

),

latest as (

    select
        -- ids
        person_id,

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
