-- one row per e-mail campaign
with

valid_rows as (

    select * from {{ ref('base_raw__email_campaigns') }}
    where reject_reason is null

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows
    select
        *,
        row_number() over (
            partition by campaign_id
            order by
                sent_at desc nulls last, campaign_name asc nulls last, subject asc nulls last,
                audience asc nulls last
        ) as version_rank
    from valid_rows

),

current_rows as (

    select
        -- ids
        campaign_id,

        -- strings
        campaign_name,
        subject,
        audience,

        -- timestamps
        sent_at
    from ranked
    where version_rank = 1

)

select * from current_rows
