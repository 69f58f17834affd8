-- one row per campaign and segment its recipients were in when it was sent (from the
-- membership history, point in time; a recipient in three segments counts in each), plus
-- one row over all recipients (segment_type 'all'). Recipients sent before the first
-- recorded run are under '(before history)', those in no segment under '(no segment)'.
-- A conversion: an order (not cancelled) within campaign_attribution_days after the
-- recipient's first open or click.
{%- set window_days = var('campaign_attribution_days') %}
with

engagement as (

    select * from {{ ref('fct_email_engagement') }}

),

campaigns as (

    select * from {{ ref('stg_raw__email_campaigns') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

spans as (

    select * from {{ ref('segment_membership_spans') }}

),

started as (

    select min(as_of) as history_started_at
    from {{ ref('segment_membership_history') }}

),

recipients as (

    -- one row per person and campaign (a person's records share it)
    select
        person_id,
        campaign_id,
        min(coalesce(first_sent_at, campaign_sent_at)) as sent_at,
        max(case when is_delivered then 1 else 0 end) as is_delivered,
        max(case when is_opened then 1 else 0 end) as is_opened,
        max(case when is_clicked then 1 else 0 end) as is_clicked,
        max(case when is_unsubscribed then 1 else 0 end) as is_unsubscribed,
        min(
            case
                when first_clicked_at is null then first_opened_at
                when first_opened_at is null then first_clicked_at
                when first_clicked_at < first_opened_at then first_clicked_at
                else first_opened_at
            end
        ) as engaged_at
    from engagement
    where is_sent and person_id is not null and campaign_id is not null
    group by person_id, campaign_id

),

conversions as (

    select
        recipients.person_id,
        recipients.campaign_id,
        count(*) as orders,
        sum(orders.net_revenue) as revenue
    from recipients
    inner join orders
        on
            recipients.person_id = orders.person_id
            and recipients.engaged_at < orders.ordered_at
            and orders.ordered_at
            <= {{ dbt.dateadd('day', window_days, 'recipients.engaged_at') }}
    where orders.status <> 'cancelled'
    group by recipients.person_id, recipients.campaign_id

),

outcomes as (

    select
        recipients.*,
        coalesce(conversions.orders, 0) as converted_orders,
        coalesce(cast(conversions.revenue as double), 0.0) as revenue
    from recipients
    left join conversions
        on
            recipients.person_id = conversions.person_id
            and recipients.campaign_id = conversions.campaign_id

),

in_segments as (

    select
        outcomes.*,
        spans.segment_type,
        spans.segment
    from outcomes
    inner join spans
        on
            outcomes.person_id = spans.person_id
            and outcomes.sent_at >= spans.valid_from
            and (spans.valid_to is null or outcomes.sent_at < spans.valid_to)

),

outside_segments as (

    select
        outcomes.*,
        'none' as segment_type,
        case
            when
                started.history_started_at is null
                or outcomes.sent_at < started.history_started_at
                then '(before history)'
            else '(no segment)'
        end as segment
    from outcomes
    cross join started
    left join in_segments
        on
            outcomes.person_id = in_segments.person_id
            and outcomes.campaign_id = in_segments.campaign_id
    where in_segments.person_id is null

),

all_recipients as (

    select
        outcomes.*,
        'all' as segment_type,
        '(all recipients)' as segment
    from outcomes

),

attributed as (

    select * from in_segments
    union all
    select * from outside_segments
    union all
    select * from all_recipients

),

aggregated as (

    select
        campaign_id,
        segment_type,
        segment,
        count(*) as recipients,
        sum(is_delivered) as delivered,
        sum(is_opened) as opens,
        sum(is_clicked) as clicks,
        sum(is_unsubscribed) as unsubscribes,
        sum(case when converted_orders > 0 then 1 else 0 end) as conversions,
        sum(revenue) as revenue
    from attributed
    group by campaign_id, segment_type, segment

),

final as (

    select
        -- ids
        aggregated.campaign_id,

        -- strings
        campaigns.campaign_name,
        campaigns.audience,
        aggregated.segment_type,
        aggregated.segment,

        -- numerics
        cast(aggregated.recipients as bigint) as recipients,
        cast(aggregated.delivered as bigint) as delivered,
        cast(aggregated.opens as bigint) as opens,
        cast(aggregated.clicks as bigint) as clicks,
        cast(aggregated.unsubscribes as bigint) as unsubscribes,
        cast(aggregated.conversions as bigint) as conversions,
        aggregated.revenue,
        cast(aggregated.opens as double) / aggregated.recipients as open_rate,
        cast(aggregated.clicks as double) / aggregated.recipients as click_rate,
        cast(aggregated.conversions as double) / aggregated.recipients as conversion_rate,
        aggregated.revenue / aggregated.recipients as revenue_per_recipient,

        -- timestamps
        campaigns.sent_at as campaign_sent_at
    from aggregated
    left join campaigns
        on aggregated.campaign_id = campaigns.campaign_id

)

select * from final
