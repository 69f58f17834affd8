-- one row per e-mail event: duplicates collapsed, latest delivery wins
with

base as (

    select * from {{ ref('base_raw__email_events') }}

),

current_rows as (

    select
        -- ids
        event_id,
        customer_id,
        campaign_id,

        -- strings
        event_type,

        -- timestamps
        occurred_at,
        received_at
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
