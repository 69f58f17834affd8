-- one row per person with any e-mail or web activity: decayed engagement score,
-- 90-day e-mail open and click rates, unsubscribe and bounce flags. A projection to as_of:
-- the scores kept at their reference time in int_people_web_state and int_people_email_state
-- are decayed to as_of; the 90-day rates are counted here
with

web_state as (

    -- people with a weighted web event (every listed type, zero weights included)
    select * from {{ ref('int_people_web_state') }}
    where weighted_event_count > 0

),

email_state as (

    select * from {{ ref('int_people_email_state') }}
    where email_event_count > 0

),

email_per_campaign as (

    select * from {{ ref('int_email_events_pivoted') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

email_rates as (

    -- received = delivered, or sent and not bounced when the platform sends no delivered events
    select
        customers_merged.person_id,
        count(
            case
                when email_per_campaign.delivered_count > 0 then 1
                when email_per_campaign.sent_count > 0 and email_per_campaign.bounce_count = 0 then 1
            end
        ) as emails_received_90d,
        count(
            case when email_per_campaign.open_count + email_per_campaign.click_count > 0 then 1 end
        ) as emails_opened_90d,
        count(case when email_per_campaign.click_count > 0 then 1 end) as emails_clicked_90d
    from email_per_campaign
    inner join customers_merged
        on email_per_campaign.customer_id = customers_merged.customer_id
    where email_per_campaign.first_event_at > {{ dbt.dateadd('day', -90, as_of()) }}
    group by customers_merged.person_id

),

people as (

    select person_id from web_state
    union
    select person_id from email_state

),

scores as (

    select
        people.person_id,
        coalesce(
            {{ person_state_decayed('email_state.email_score_at_reference', 'email_state.score_reference_at') }},
            0.0
        ) as email_engagement_score,
        coalesce(
            {{ person_state_decayed('web_state.web_score_at_reference', 'web_state.score_reference_at') }},
            0.0
        ) as web_engagement_score
    from people
    left join web_state
        on people.person_id = web_state.person_id
    left join email_state
        on people.person_id = email_state.person_id

),

final as (

    select
        -- ids
        scores.person_id,

        -- numerics
        -- rounded to 6 decimals: stable across engines and runs
        round(scores.email_engagement_score + scores.web_engagement_score, 6) as engagement_score,
        round(scores.email_engagement_score, 6) as email_engagement_score,
        round(scores.web_engagement_score, 6) as web_engagement_score,
        cast(coalesce(email_rates.emails_received_90d, 0) as integer) as emails_received_90d,
        case
            when email_rates.emails_received_90d > 0
                then least(1.0, cast(email_rates.emails_opened_90d as double) / email_rates.emails_received_90d)
        end as email_open_rate_90d,
        case
            when email_rates.emails_received_90d > 0
                then least(1.0, cast(email_rates.emails_clicked_90d as double) / email_rates.emails_received_90d)
        end as email_click_rate_90d,

        -- booleans
        coalesce(email_state.has_unsubscribed, false) as has_unsubscribed,
        coalesce(email_state.has_bounced, false) as has_bounced,
        coalesce(email_state.has_spam_complaint, false) as has_spam_complaint
    from scores
    left join email_state
        on scores.person_id = email_state.person_id
    left join email_rates
        on scores.person_id = email_rates.person_id

)

select * from final
