-- one row per segment definition: members, share of all people, revenue share and feature
-- means, with the definition's bounds and parent (empty segments included, with 0 members);
-- a segment not evaluated (a channel it needs has no data) has 0 members and no share
with

definitions as (

    select * from {{ ref('segment_definitions') }}

),

memberships as (

    select * from {{ ref('customer_segments') }}

),

features as (

    select * from {{ ref('customer_features') }}

),

audience as (

    select
        count(*) as people,
        sum(monetary) as revenue,
        max(last_event_at) as data_through_at,
        max(as_of) as as_of
    from features

),

per_segment as (

    select
        memberships.segment,
        count(*) as members,
        count(case when memberships.is_primary then 1 end) as primary_members,
        sum(features.monetary) as revenue,
        -- rounded: a parallel sum's last digits depend on thread timing
        round(avg(features.recency_days), 6) as mean_recency_days,
        round(avg(features.frequency), 6) as mean_frequency,
        round(avg(features.monetary), 6) as mean_monetary,
        round(avg(features.engagement_score), 6) as mean_engagement_score,
        round(avg(features.email_open_rate_90d), 6) as mean_email_open_rate_90d,
        round(avg(features.cart_abandonment_rate), 6) as mean_cart_abandonment_rate,
        round(avg(features.tenure_days), 6) as mean_tenure_days
    from memberships
    inner join features
        on memberships.person_id = features.person_id
    group by memberships.segment

),

final as (

    select
        -- ids
        definitions.segment,

        -- strings
        definitions.segment_type,
        definitions.parent_segment,
        definitions.description,
        definitions.segment_owner,
        definitions.required_channels,
        definitions.evaluation_status,

        -- numerics
        definitions.priority,
        cast(coalesce(per_segment.members, 0) as bigint) as members,
        cast(coalesce(per_segment.primary_members, 0) as bigint) as primary_members,
        cast(audience.people as bigint) as audience_size,
        case
            when definitions.evaluation_status <> 'evaluated' then null
            when audience.people > 0 then cast(coalesce(per_segment.members, 0) as double) / audience.people
        end as share_of_audience,
        case
            when definitions.evaluation_status <> 'evaluated' then null
            when audience.revenue > 0 then cast(coalesce(per_segment.revenue, 0) / audience.revenue as double)
        end as revenue_share,
        definitions.min_share,
        definitions.max_share,
        per_segment.mean_recency_days,
        per_segment.mean_frequency,
        cast(per_segment.mean_monetary as double) as mean_monetary,
        per_segment.mean_engagement_score,
        per_segment.mean_email_open_rate_90d,
        per_segment.mean_cart_abandonment_rate,
        per_segment.mean_tenure_days,

        -- timestamps
        audience.data_through_at,
        audience.as_of
    from definitions
    cross join audience
    left join per_segment
        on definitions.segment = per_segment.segment

)

select * from final
