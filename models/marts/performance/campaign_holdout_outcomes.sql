-- one row per campaign sent to an audience of ours (email_campaigns.audience) and person in
-- that audience's treatment or holdout group when it was sent (audience_membership_history,
-- point in time): whether they were sent it, and their orders in the
-- campaign_attribution_days after the campaign's send time, the same window for both groups
-- (the holdout has no e-mail to open: intention to treat). The input of campaign_uplift.
{%- set window_days = var('campaign_attribution_days') %}
with

campaigns as (

    select * from {{ ref('stg_raw__email_campaigns') }}

),

engagement as (

    select * from {{ ref('fct_email_engagement') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

spans as (

    {{ history_spans(ref('audience_membership_history'), ['audience', 'person_id', 'split_group']) }}

),

audience_campaigns as (

    select
        campaign_id,
        campaign_name,
        audience,
        sent_at
    from campaigns
    where audience is not null and sent_at is not null

),

population as (

    select
        audience_campaigns.campaign_id,
        audience_campaigns.campaign_name,
        audience_campaigns.audience,
        audience_campaigns.sent_at,
        spans.person_id,
        spans.split_group
    from audience_campaigns
    inner join spans
        on
            spans.split_group in ('treatment', 'holdout')
            and audience_campaigns.audience = spans.audience
            and audience_campaigns.sent_at >= spans.valid_from
            and (spans.valid_to is null or audience_campaigns.sent_at < spans.valid_to)

),

sent as (

    select distinct
        person_id,
        campaign_id
    from engagement
    where is_sent and person_id is not null

),

window_orders as (

    select
        population.campaign_id,
        population.person_id,
        count(*) as orders,
        sum(orders.net_revenue) as revenue
    from population
    inner join orders
        on
            population.person_id = orders.person_id
            and population.sent_at < orders.ordered_at
            and orders.ordered_at <= {{ dbt.dateadd('day', window_days, 'population.sent_at') }}
    where orders.status <> 'cancelled'
    group by population.campaign_id, population.person_id

),

final as (

    select
        -- ids
        population.campaign_id,
        population.person_id,

        -- strings
        population.campaign_name,
        population.audience,
        population.split_group,

        -- numerics
        cast(coalesce(window_orders.orders, 0) as bigint) as orders,
        coalesce(cast(window_orders.revenue as double), 0.0) as revenue,

        -- booleans
        sent.person_id is not null as was_sent,
        coalesce(window_orders.orders, 0) > 0 as has_converted,

        -- timestamps
        population.sent_at as campaign_sent_at
    from population
    left join sent
        on
            population.person_id = sent.person_id
            and population.campaign_id = sent.campaign_id
    left join window_orders
        on
            population.person_id = window_orders.person_id
            and population.campaign_id = window_orders.campaign_id

)

select * from final
