-- one row per source customer_id and campaign: what the recipient did with that campaign's e-mail
with

pivoted as (

    select * from {{ ref('int_email_events_pivoted') }}

),

campaigns as (

    select * from {{ ref('stg_raw__email_campaigns') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

final as (

    select
        -- ids
        pivoted.customer_id,
        customers_merged.person_id,
        pivoted.campaign_id,

        -- strings
        campaigns.campaign_name,

        -- numerics
        cast(pivoted.open_count as bigint) as open_count,
        cast(pivoted.click_count as bigint) as click_count,

        -- booleans
        pivoted.sent_count > 0 as is_sent,
        pivoted.delivered_count > 0 as is_delivered,
        -- a click implies the e-mail was opened even when the open pixel was blocked
        pivoted.open_count + pivoted.click_count > 0 as is_opened,
        pivoted.click_count > 0 as is_clicked,
        pivoted.bounce_count > 0 as is_bounced,
        pivoted.unsubscribe_count > 0 as is_unsubscribed,
        pivoted.spam_complaint_count > 0 as is_spam_complaint,

        -- timestamps
        campaigns.sent_at as campaign_sent_at,
        pivoted.first_sent_at,
        pivoted.first_opened_at,
        pivoted.first_clicked_at,
        pivoted.last_event_at
    from pivoted
    left join campaigns
        on pivoted.campaign_id = campaigns.campaign_id
    left join customers_merged
        on pivoted.customer_id = customers_merged.customer_id

)

select * from final
