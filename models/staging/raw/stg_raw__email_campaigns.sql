-- one row per e-mail campaign
with

base as (

    select * from {{ ref('base_raw__email_campaigns') }}

),

current_rows as (

    select
        -- ids
        campaign_id,

        -- strings
        campaign_name,
        subject,

        -- timestamps
        sent_at
    from base
    where reject_reason is null and version_rank = 1

)

select * from current_rows
