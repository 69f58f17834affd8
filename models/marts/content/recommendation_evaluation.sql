-- one row per recommendation method: offline evaluation on a time split. Each method
-- recommends as of cutoff_at (as_of minus recommendation_evaluation_days) from the data up to
-- then; the people who bought in (cutoff_at, as_of] are scored on what they bought:
-- hit rate at 5 and 10 (share with a bought product in the top k), recall and precision at 10.
-- Part of the content fit (macros/content/fit.sql): evaluated at the fit's as_of when
-- product_associations was refitted, else kept as it is
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{% if is_incremental() and content_fit_changed() %}delete from {{ this }}{% endif %}",
) }}
-- depends_on: {{ ref('product_associations') }}
{%- set refitting = content_fit_changed() %}
{%- set fit = content_fit_of(ref('product_associations')) %}
{%- set evaluated_as_of = "cast('" ~ fit[0] ~ "' as timestamp)" if fit else as_of() %}
{%- set cutoff = dbt.dateadd('day', -1 * var('recommendation_evaluation_days'), evaluated_as_of) %}
{%- set methods = {
    'co_occurrence': ['co_occurrence', 'category_popularity', 'popularity'],
    'category_popularity': ['category_popularity', 'popularity'],
    'popularity': ['popularity'],
} %}
with

all_interactions as (

    select * from {{ ref('int_person_product_events') }}

),

test_purchases as (

    select distinct
        person_id,
        product_id
    from all_interactions
    where
        interaction = 'purchase'
        and occurred_at > {{ cutoff }}
        and occurred_at <= {{ evaluated_as_of }}

),

people as (

    select distinct person_id from test_purchases

),

interactions as (

    {{ weighted_product_interactions(cutoff) }}

),

people_interactions as (

    select interactions.*
    from interactions
    inner join people
        on interactions.person_id = people.person_id

),

associations as (

    {{ product_association_scores('all_interactions', cutoff) }}

),

favourites as (

    select
        person_id,
        affinity_value as category
    from ({{ affinity_scores('people_interactions') }}) as scored
    where affinity_type = 'category' and affinity_rank = 1

),

{% for method, sources in methods.items() %}
    {{ recommendation_ctes(
        'recommended_' ~ method, 'interactions', 'associations', 'favourites', 'people', cutoff, sources,
    ) }},
{% endfor %}

recommended as (

    {%- for method in methods %}
        select
            '{{ method }}' as recommendation_method,
            person_id,
            product_id,
            recommendation_rank
        from recommended_{{ method }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

methods as (

    select distinct recommendation_method from recommended

),

people_hits as (

    select
        methods.recommendation_method,
        people.person_id,
        count(distinct case when recommended.recommendation_rank <= 5 then test_purchases.product_id end)
            as hits_at_5,
        count(distinct case when recommended.recommendation_rank <= 10 then test_purchases.product_id end)
            as hits_at_10
    from methods
    cross join people
    left join recommended
        on
            methods.recommendation_method = recommended.recommendation_method
            and people.person_id = recommended.person_id
    left join test_purchases
        on
            recommended.person_id = test_purchases.person_id
            and recommended.product_id = test_purchases.product_id
    group by methods.recommendation_method, people.person_id

),

people_purchases as (

    select
        person_id,
        count(*) as bought_products
    from test_purchases
    group by person_id

),

scored as (

    select
        people_hits.recommendation_method,
        count(*) as people_evaluated,
        sum(people_purchases.bought_products) as test_purchases,
        avg(case when people_hits.hits_at_5 > 0 then cast(1 as double) else cast(0 as double) end)
            as hit_rate_at_5,
        avg(case when people_hits.hits_at_10 > 0 then cast(1 as double) else cast(0 as double) end)
            as hit_rate_at_10,
        avg(cast(people_hits.hits_at_10 as double) / people_purchases.bought_products) as recall_at_10,
        avg(cast(people_hits.hits_at_10 as double) / 10) as precision_at_10
    from people_hits
    inner join people_purchases
        on people_hits.person_id = people_purchases.person_id
    group by people_hits.recommendation_method

),

fit as (

    {{ content_fit_stamp() }}

),

final as (

    select
        -- ids
        scored.recommendation_method,

        -- numerics
        cast(scored.people_evaluated as bigint) as people_evaluated,
        cast(scored.test_purchases as bigint) as test_purchases,
        cast(scored.hit_rate_at_5 as double) as hit_rate_at_5,
        cast(scored.hit_rate_at_10 as double) as hit_rate_at_10,
        cast(scored.recall_at_10 as double) as recall_at_10,
        cast(scored.precision_at_10 as double) as precision_at_10,
        -- doubles on both engines (Spark's 1.0 is a decimal)
        cast(scored.hit_rate_at_10 / nullif(baseline.hit_rate_at_10, 0) as double) as hit_rate_at_10_lift,

        -- timestamps
        {{ cutoff }} as cutoff_at,
        {{ evaluated_as_of }} as evaluated_as_of,
        fit.fitted_as_of,

        -- the fit's settings (content_fit_config)
        fit.fit_config
    from scored
    left join scored as baseline
        on baseline.recommendation_method = 'popularity'
    cross join fit
    {%- if not refitting %}
        -- the fit did not change: the stored evaluation stays
        where false
    {%- endif %}

)

select * from final
