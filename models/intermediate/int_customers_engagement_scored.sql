-- one row per person with any e-mail or web activity: decayed engagement score,
-- 90-day e-mail open and click rates, unsubscribe and bounce flags
with

email_events as (

    select * from {{ ref('stg_raw__email_events') }}

),

web_events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

email_per_campaign as (

    select * from {{ ref('int_email_events_pivoted') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

weights as (

    select * from {{ ref('engagement_weights') }}

),

activity as (

    select
        customers_merged.person_id,
        'email' as event_source,
        email_events.event_type,
        email_events.occurred_at
    from email_events
    inner join customers_merged
        on email_events.customer_id = customers_merged.customer_id

    union all

    select
        person_id,
        'web' as event_source,
        event_type,
        occurred_at
    from web_events
    where person_id is not null

),

decayed as (

    -- points halve every engagement_half_life_days: weight * 0.5 ^ (age / half-life)
    select
        activity.person_id,
        activity.event_source,
        weights.weight * exp(
            -ln(2.0) * {{ fractional_days_between('activity.occurred_at', as_of()) }}
            / {{ var('engagement_half_life_days') }}
        ) as points
    from activity
    inner join weights
        on
            activity.event_source = weights.event_source
            and activity.event_type = weights.event_type

),

scores as (

    select
        person_id,
        sum(points) as engagement_score,
        sum(case when event_source = 'email' then points else 0 end) as email_engagement_score,
        sum(case when event_source = 'web' then points else 0 end) as web_engagement_score
    from decayed
    group by person_id

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

email_flags as (

    select
        customers_merged.person_id,
        max(case when email_per_campaign.unsubscribe_count > 0 then 1 else 0 end) as unsubscribed_flag,
        max(case when email_per_campaign.bounce_count > 0 then 1 else 0 end) as bounced_flag,
        max(case when email_per_campaign.spam_complaint_count > 0 then 1 else 0 end) as spam_flag
    from email_per_campaign
    inner join customers_merged
        on email_per_campaign.customer_id = customers_merged.customer_id
    group by customers_merged.person_id

),

people as (

    select person_id from scores
    union
    select person_id from email_flags

),

final as (

    select
        -- ids
        people.person_id,

        -- numerics
        -- rounded to 6 decimals: stable across engines and runs
        round(coalesce(scores.engagement_score, 0.0), 6) as engagement_score,
        round(coalesce(scores.email_engagement_score, 0.0), 6) as email_engagement_score,
        round(coalesce(scores.web_engagement_score, 0.0), 6) as web_engagement_score,
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
        coalesce(email_flags.unsubscribed_flag, 0) = 1 as has_unsubscribed,
        coalesce(email_flags.bounced_flag, 0) = 1 as has_bounced,
        coalesce(email_flags.spam_flag, 0) = 1 as has_spam_complaint
    from people
    left join scores
        on people.person_id = scores.person_id
    left join email_rates
        on people.person_id = email_rates.person_id
    left join email_flags
        on people.person_id = email_flags.person_id

)

select * from final
