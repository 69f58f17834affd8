-- one row per consent change (customer, channel, changed_at)
with

base as (

    select * from {{ ref('base_raw__consents') }}

),

current_rows as (

    select
        -- ids
        customer_id,

        -- strings
        channel,
        status,
        consent_source,

        -- timestamps
        changed_at
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
