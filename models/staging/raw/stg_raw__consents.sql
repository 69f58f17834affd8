-- one row per consent change (customer, channel, changed_at)
with

valid_rows as (

    select * from {{ ref('base_raw__consents') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows
    select
        *,
        -- the same change delivered twice counts once; on a conflict opted_out wins
        row_number() over (
            partition by customer_id, channel, changed_at
            order by status desc, consent_source asc
        ) as version_rank
    from valid_rows

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
    from ranked
    where version_rank = 1

)

select * from current_rows
