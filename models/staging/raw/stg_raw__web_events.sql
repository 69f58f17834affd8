-- one row per web event: duplicates collapsed, latest delivery wins
with

base as (

    select * from {{ ref('base_raw__web_events') }}

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
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
