-- one row per source customer_id and campaign: counts and first times of each e-mail event type
with

email_events as (

    select * from {{ ref('stg_raw__email_events') }}

),

pivoted as (

    select
        -- ids
        customer_id,
        campaign_id,

        -- numerics
        sum(case when event_type = 'sent' then 1 else 0 end) as sent_count,
        sum(case when event_type = 'delivered' then 1 else 0 end) as delivered_count,
        sum(case when event_type = 'open' then 1 else 0 end) as open_count,
        sum(case when event_type = 'click' then 1 else 0 end) as click_count,
        sum(case when event_type = 'bounce' then 1 else 0 end) as bounce_count,
        sum(case when event_type = 'unsubscribe' then 1 else 0 end) as unsubscribe_count,
        sum(case when event_type = 'spam_complaint' then 1 else 0 end) as spam_complaint_count,

        -- timestamps
        min(case when event_type = 'sent' then occurred_at end) as first_sent_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        max(case when event_type = 'open' then occurred_at end) as last_opened_at,
        max(case when event_type = 'click' then occurred_at end) as last_clicked_at,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from email_events
    group by customer_id, campaign_id

)

select * from pivoted
