-- one row per person: the highest-priority segment, plus RFM segment, lifecycle stage and
-- value tier as columns (for BI and the e-mail platform)
with

memberships as (

    select * from {{ ref('customer_segments') }}

),

features as (

    select * from {{ ref('customer_features') }}

),

primary_segments as (

    select * from memberships
    where is_primary

),

by_type as (

    select
        person_id,
        max(case when segment_type = 'rfm' then segment end) as rfm_segment,
        max(case when segment_type = 'lifecycle' then segment end) as lifecycle_segment,
        max(case when segment_type = 'value' then segment end) as value_segment,
        count(*) as segment_count
    from memberships
    group by person_id

),

final as (

    select
        -- ids
        features.person_id,
        {{ pseudonymous_key('features.person_id') }} as person_key,

        -- strings
        primary_segments.segment as primary_segment,
        primary_segments.segment_type as primary_segment_type,
        by_type.rfm_segment,
        by_type.lifecycle_segment,
        features.lifecycle_stage,
        by_type.value_segment,
        features.value_tier,

        -- numerics
        primary_segments.priority as primary_priority,
        cast(coalesce(by_type.segment_count, 0) as integer) as segment_count,

        -- booleans
        features.is_email_opted_in,

        -- timestamps
        features.as_of
    from features
    left join primary_segments
        on features.person_id = primary_segments.person_id
    left join by_type
        on features.person_id = by_type.person_id

)

select * from final
