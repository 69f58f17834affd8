-- one row per person with an unsubscribe, bounce or spam complaint among their e-mail events:
-- when each last happened, and whether the address was reached again after its last bounce
-- (a delivery, open or click after it: a soft bounce, not a dead address)
with

email_events as (

    select * from {{ ref('stg_raw__email_events') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

person_events as (

    select
        customers_merged.person_id,
        email_events.event_type,
        email_events.occurred_at
    from email_events
    inner join customers_merged
        on email_events.customer_id = customers_merged.customer_id

),

blocking as (

    select
        person_id,
        max(case when event_type = 'unsubscribe' then occurred_at end) as last_unsubscribed_at,
        max(case when event_type = 'bounce' then occurred_at end) as last_bounced_at,
        min(case when event_type = 'spam_complaint' then occurred_at end) as first_spam_complaint_at
    from person_events
    where event_type in ('unsubscribe', 'bounce', 'spam_complaint')
    group by person_id

),

reached_after_bounce as (

    select
        person_events.person_id,
        max(person_events.occurred_at) as last_reached_at
    from person_events
    inner join blocking
        on
            person_events.person_id = blocking.person_id
            and person_events.occurred_at > blocking.last_bounced_at
    where person_events.event_type in ('delivered', 'open', 'click')
    group by person_events.person_id

),

final as (

    select
        -- ids
        blocking.person_id,

        -- booleans
        blocking.last_bounced_at is not null and reached_after_bounce.person_id is null
            as is_hard_bounced,

        -- timestamps
        blocking.last_unsubscribed_at,
        blocking.last_bounced_at,
        blocking.first_spam_complaint_at,
        reached_after_bounce.last_reached_at as last_reached_after_bounce_at
    from blocking
    left join reached_after_bounce
        on blocking.person_id = reached_after_bounce.person_id

)

select * from final
