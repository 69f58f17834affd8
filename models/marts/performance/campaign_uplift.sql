-- one row per audience and campaign sent to it: conversion and revenue per person of the
-- audience's treatment group against its holdout (campaign_holdout_outcomes), the
-- difference and its 95 % confidence interval (normal approximation: the two proportions'
-- variances; Welch for revenue). Null intervals when a group has fewer than 2 people.
{%- set z = 1.959963984540054 %}
with

outcomes as (

    select * from {{ ref('campaign_holdout_outcomes') }}

),

grouped as (

    select
        audience,
        campaign_id,
        campaign_name,
        campaign_sent_at,
        sum(case when split_group = 'treatment' then 1 else 0 end) as treatment_people,
        sum(case when split_group = 'holdout' then 1 else 0 end) as holdout_people,
        sum(case when split_group = 'treatment' and was_sent then 1 else 0 end) as treatment_sent,
        sum(case when split_group = 'treatment' and has_converted then 1 else 0 end)
            as treatment_conversions,
        sum(case when split_group = 'holdout' and has_converted then 1 else 0 end)
            as holdout_conversions,
        sum(case when split_group = 'treatment' then revenue else 0.0 end) as treatment_revenue,
        sum(case when split_group = 'holdout' then revenue else 0.0 end) as holdout_revenue,
        sum(case when split_group = 'treatment' then revenue * revenue else 0.0 end)
            as treatment_revenue_squares,
        sum(case when split_group = 'holdout' then revenue * revenue else 0.0 end)
            as holdout_revenue_squares
    from outcomes
    group by audience, campaign_id, campaign_name, campaign_sent_at

),

rates as (

    select
        *,
        case when treatment_people > 0 then cast(treatment_conversions as double) / treatment_people end
            as treatment_conversion_rate,
        case when holdout_people > 0 then cast(holdout_conversions as double) / holdout_people end
            as holdout_conversion_rate,
        case when treatment_people > 0 then treatment_revenue / treatment_people end
            as treatment_revenue_per_person,
        case when holdout_people > 0 then holdout_revenue / holdout_people end
            as holdout_revenue_per_person,
        case
            when treatment_people > 1
                then
                    (treatment_revenue_squares - treatment_revenue * treatment_revenue / treatment_people)
                    / (treatment_people - 1)
        end as treatment_revenue_variance,
        case
            when holdout_people > 1
                then
                    (holdout_revenue_squares - holdout_revenue * holdout_revenue / holdout_people)
                    / (holdout_people - 1)
        end as holdout_revenue_variance
    from grouped

),

errors as (

    select
        *,
        treatment_conversion_rate - holdout_conversion_rate as conversion_uplift,
        treatment_revenue_per_person - holdout_revenue_per_person as revenue_uplift,
        case
            when treatment_people > 1 and holdout_people > 1
                then sqrt(
                    treatment_conversion_rate * (1 - treatment_conversion_rate) / treatment_people
                    + holdout_conversion_rate * (1 - holdout_conversion_rate) / holdout_people
                )
        end as conversion_uplift_se,
        case
            when treatment_people > 1 and holdout_people > 1
                then sqrt(
                    greatest(treatment_revenue_variance, 0.0) / treatment_people
                    + greatest(holdout_revenue_variance, 0.0) / holdout_people
                )
        end as revenue_uplift_se
    from rates

),

final as (

    select
        -- ids
        audience,
        campaign_id,

        -- strings
        campaign_name,

        -- numerics
        cast(treatment_people as bigint) as treatment_people,
        cast(holdout_people as bigint) as holdout_people,
        cast(treatment_sent as bigint) as treatment_sent,
        cast(treatment_conversions as bigint) as treatment_conversions,
        cast(holdout_conversions as bigint) as holdout_conversions,
        treatment_conversion_rate,
        holdout_conversion_rate,
        conversion_uplift,
        conversion_uplift - {{ z }} * conversion_uplift_se as conversion_uplift_ci_low,
        conversion_uplift + {{ z }} * conversion_uplift_se as conversion_uplift_ci_high,
        treatment_revenue_per_person,
        holdout_revenue_per_person,
        revenue_uplift,
        revenue_uplift - {{ z }} * revenue_uplift_se as revenue_uplift_ci_low,
        revenue_uplift + {{ z }} * revenue_uplift_se as revenue_uplift_ci_high,

        -- timestamps
        campaign_sent_at
    from errors

)

select * from final
