-- one row per customer and campaign: what the customer did with that campaign's e-mail
with

email_events as (

    select * from {{ ref('stg_raw__email_events') }}

),

campaigns as (

    select * from {{ ref('stg_raw__email_campaigns') }}

),

per_customer_campaign as (

    select
        customer_id,
        campaign_id,
        sum(case when event_type = 'sent' then 1 else 0 end) as sent_count,
        sum(case when event_type = 'open' then 1 else 0 end) as open_count,
        sum(case when event_type = 'click' then 1 else 0 end) as click_count,
        max(case when event_type = 'delivered' then 1 else 0 end) as delivered_flag,
        max(case when event_type = 'bounce' then 1 else 0 end) as bounce_flag,
        max(case when event_type = 'unsubscribe' then 1 else 0 end) as unsubscribe_flag,
        max(case when event_type = 'spam_complaint' then 1 else 0 end) as spam_complaint_flag,
        min(case when event_type = 'sent' then occurred_at end) as first_sent_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        max(occurred_at) as last_event_at
    from email_events
    group by customer_id, campaign_id

),

final as (

    select
        -- ids
        per_customer_campaign.customer_id,
        per_customer_campaign.campaign_id,

        -- strings
        campaigns.campaign_name,

        -- numerics
        cast(per_customer_campaign.open_count as bigint) as open_count,
        cast(per_customer_campaign.click_count as bigint) as click_count,

        -- booleans
        per_customer_campaign.sent_count > 0 as is_sent,
        per_customer_campaign.delivered_flag = 1 as is_delivered,
        -- a click implies the e-mail was opened even when the open pixel was blocked
        per_customer_campaign.open_count + per_customer_campaign.click_count > 0 as is_opened,
        per_customer_campaign.click_count > 0 as is_clicked,
        per_customer_campaign.bounce_flag = 1 as is_bounced,
        per_customer_campaign.unsubscribe_flag = 1 as is_unsubscribed,
        per_customer_campaign.spam_complaint_flag = 1 as is_spam_complaint,

        -- timestamps
        campaigns.sent_at as campaign_sent_at,
        per_customer_campaign.first_sent_at,
        per_customer_campaign.first_opened_at,
        per_customer_campaign.first_clicked_at,
        per_customer_campaign.last_event_at
    from per_customer_campaign
    left join campaigns
        on per_customer_campaign.campaign_id = campaigns.campaign_id

)

select * from final
