-- one row per web event: duplicates collapsed, latest delivery wins
with

valid_rows as (

    select * from {{ ref('base_raw__web_events') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in stg_raw__row_audit
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at desc nulls last, occurred_at desc, event_type asc, page_url asc
        ) as version_rank
    from valid_rows

),

current_rows as (

    select
        -- ids
        event_id,
        anonymous_id,
        customer_id,
        product_id,

        -- strings
        event_type,
        page_url,

        -- timestamps
        occurred_at,
        received_at
    from ranked
    where version_rank = 1

)

select * from current_rows
