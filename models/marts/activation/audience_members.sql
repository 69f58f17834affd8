-- one row per destination and person in one of its audiences: the most important audience of
-- the destination the person qualifies for, their split group (treatment is exported; holdout
-- and the global control group are recorded for uplift, never exported) and merge fields.
-- Suppressed people are not here at all.
{%- set salt = var('activation_salt') %}
with

audiences as (

    select * from {{ ref('audience_definitions') }}

),

memberships as (

    select * from {{ ref('customer_segments') }}

),

primary_segments as (

    select * from {{ ref('customer_primary_segment') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

favourites as (

    -- the favourite category (content.customer_affinities rank 1): a merge field
    {{ favourite_categories() }}

),

{% if predictions_enabled() %}
    predictions as (

        select * from {{ ref('customer_predictions') }}

    ),
{% endif %}

prediction_fields as (

    -- the predictions as banded merge fields, stable from day to day (a score that moves a
    -- little does not make an update); null without predictions (Spark, or disabled)
    select
        customers.person_id,
    {%- if predictions_enabled() %}
        case
            when predictions.purchase_propensity_decile = 10 then 'high'
            when predictions.purchase_propensity_decile >= 8 then 'medium'
            when predictions.purchase_propensity_decile >= 1 then 'low'
        end as purchase_likelihood,
        case
            when predictions.churn_risk_decile >= 9 then 'high'
            when predictions.churn_risk_decile >= 6 then 'medium'
            when predictions.churn_risk_decile >= 1 then 'low'
        end as churn_risk,
        case
            when predictions.predicted_clv_decile = 10 then 'top_10'
            when predictions.predicted_clv_decile >= 6 then 'next_40'
            when predictions.predicted_clv_decile >= 1 then 'rest'
        end as predicted_value
    from customers
    left join predictions
        on customers.person_id = predictions.person_id
    {%- else %}
        cast(null as string) as purchase_likelihood,
        cast(null as string) as churn_risk,
        cast(null as string) as predicted_value
    from customers
    {%- endif %}

),

suppressed as (

    select distinct person_id from {{ ref('activation_suppressions') }}

),

candidates as (

    select
        audiences.destination,
        audiences.audience,
        audiences.priority,
        audiences.holdout_buckets,
        memberships.person_id
    from audiences
    inner join memberships
        on
            audiences.segment = memberships.segment
            and (audiences.segment_scope = 'any' or memberships.is_primary)
    left join suppressed
        on memberships.person_id = suppressed.person_id
    where suppressed.person_id is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by destination, person_id
            order by priority asc, audience asc
        ) as audience_rank
    from candidates

),

assigned as (

    select
        destination,
        audience,
        person_id,
        holdout_buckets,
        {{ hash_bucket('person_id', sql_string(salt ~ ':global')) }} as global_bucket,
        {{ hash_bucket('person_id', sql_string(salt) ~ " || ':' || audience") }} as holdout_bucket
    from ranked
    where audience_rank = 1

),

split as (

    select
        *,
        case
            when global_bucket < {{ share_buckets(var('activation_global_control_share')) }}
                then 'global_control'
            when holdout_bucket < holdout_buckets then 'holdout'
            else 'treatment'
        end as split_group
    from assigned

),

final as (

    select
        -- ids
        split.destination,
        split.audience,
        split.person_id,

        -- strings
        split.split_group,
        customers.email,
        customers.first_name,
        primary_segments.primary_segment,
        primary_segments.lifecycle_stage,
        primary_segments.value_tier,
        prediction_fields.purchase_likelihood,
        prediction_fields.churn_risk,
        prediction_fields.predicted_value,
        favourites.favourite_category,
        {{ member_fingerprint('customers.email', 'customers.first_name', 'primary_segments.primary_segment',
            'primary_segments.lifecycle_stage', 'primary_segments.value_tier',
            'prediction_fields.purchase_likelihood', 'prediction_fields.churn_risk',
            'prediction_fields.predicted_value', 'favourites.favourite_category') }} as member_fingerprint,

        -- numerics
        split.holdout_bucket,
        split.global_bucket,

        -- booleans
        split.split_group = 'treatment' as is_exported,

        -- timestamps
        {{ as_of() }} as as_of
    from split
    inner join customers
        on split.person_id = customers.person_id
    inner join primary_segments
        on split.person_id = primary_segments.person_id
    inner join prediction_fields
        on split.person_id = prediction_fields.person_id
    left join favourites
        on split.person_id = favourites.person_id

)

select * from final
