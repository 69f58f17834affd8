-- one row per e-mail event: duplicates collapsed, latest delivery wins
with

valid_rows as (

    select * from {{ ref('base_raw__email_events') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in stg_raw__row_audit
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at desc nulls last, occurred_at desc, event_type asc
        ) as version_rank
    from valid_rows

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
    from ranked
    where version_rank = 1

)

select * from current_rows
