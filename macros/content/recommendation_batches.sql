{#- customer_recommendations is incremental by person: a run that follows a new content fit
    (content_fit_changed, macros/content/fit.sql) recomputes everyone; any other run the people
    whose product interactions may have changed since it last ran (recommendation_people_touched):
    the ranking of the others does not move with as_of, since every weight of a person decays by
    the same factor and the scores are ratios of them. Either set is recomputed in batches of
    people (hash buckets of person_id, recommendation_batch_people people per batch) so that
    memory does not grow with it (an upstream reload touches nearly everyone): the pre-hook
    deletes the rows recomputed, the model's select is batch 0, the post-hook inserts the
    others. -#}
{#- Whether this run recomputes only the touched people (an incremental run that keeps the
    fit); else everyone. Judged on the rows written before this run, so that the pre-hook, the
    select and the post-hook agree. -#}
{% macro recommendation_touched_only() -%}
    {{ return(is_incremental() and not content_fit_changed(before_this_run=true)) }}
{%- endmacro %}

{#- The number of batches: of the touched people when `touched_only`, else of everyone. -#}
{% macro recommendation_batches(touched_only) -%}
    {#- parsing, or compiling before dim_customers exists (sqlfluff): one -#}
    {%- if not execute or load_relation(ref('dim_customers')) is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- if touched_only -%}
        {%- set people = 'select count(*) from (' ~ recommendation_people_touched() ~ ') as touched' -%}
    {%- else -%}
        {%- set people = 'select count(*) from ' ~ ref('dim_customers') -%}
    {%- endif -%}
    {%- set people = run_query(people).columns[0].values()[0] -%}
    {{ return([1, ((people + var('recommendation_batch_people') - 1) // var('recommendation_batch_people')) | int] | max) }}
{%- endmacro %}

{#- The people a run that keeps the fit recomputes: those whose interactions may have changed
    since the model last ran (content_people_touched), and the people without recommendations
    written before this run (not those of this run's batches: the set, and so the batches, stay
    the same from the pre-hook to the post-hook). -#}
{% macro recommendation_people_touched() -%}
    {{ content_people_touched(load_window(this.identifier).last_loaded_at) }}

    union

    select customers.person_id
    from {{ ref('dim_customers') }} as customers
    where not exists (
        select 1 from {{ this }} as recommended
        where
            recommended.person_id = customers.person_id
            and recommended.loaded_at < {{ loaded_at() }}
    )
{%- endmacro %}

{#- The post-hook: writes batches 1.. (one statement each); the pre-hook deleted the rows they
    replace (nothing to replace where every run rebuilds the table: Spark, which has no
    delete). -#}
{% macro insert_recommendation_batches() -%}
    {%- set touched_only = recommendation_touched_only() -%}
    {%- set batches = recommendation_batches(touched_only) -%}
    {%- for batch in range(1, batches) -%}
        {%- do run_query('insert into ' ~ this ~ ' ' ~ recommendations_batch(batch, batches, touched_only)) -%}
    {%- endfor -%}
    select {{ batches }} as batches_written
{%- endmacro %}

{#- One batch of customer_recommendations (models/marts/content/customer_recommendations.sql):
    of the touched people in it when `touched_only` (recommendation_touched_only). -#}
{% macro recommendations_batch(batch, batches, touched_only) -%}
with

people as (

    select person_id from {{ ref('dim_customers') }}
    where
        {%- if batches > 1 %}
            {{ hash_bucket('person_id', sql_string('recommendation_batch'), batches) }} = {{ batch }}
        {%- else %}
            true
        {%- endif %}
        {%- if touched_only %}
            and person_id in ({{ recommendation_people_touched() }})
        {%- endif %}

),

interactions as (

    {{ weighted_product_interactions(as_of()) }}

),

associations as (

    select * from {{ ref('product_associations') }}

),

popular as (

    select * from {{ ref('product_popularity') }}

),

favourites as (

    select
        person_id,
        favourite_category as category
    from ({{ favourite_categories() }}) as favourite_categories

),

products as (

    select * from {{ ref('stg_raw__products') }}

),

fit as (

    {{ content_fit_stamp() }}

),

{{ recommendation_ctes(
    'recommended', 'interactions', 'associations', 'favourites', 'people', as_of(),
    ['co_occurrence', 'category_popularity', 'popularity'], popular='popular',
) }},

final as (

    select
        -- ids
        recommended.person_id,
        recommended.product_id,

        -- strings
        products.product_name,
        products.category,
        products.brand,
        recommended.recommendation_source,
        recommended.reason,

        -- numerics
        cast(recommended.recommendation_rank as integer) as recommendation_rank,
        recommended.score,
        products.price,

        -- timestamps
        fit.fitted_as_of,
        {{ loaded_at() }} as loaded_at,

        -- the fit's settings (content_fit_config)
        fit.fit_config
    from recommended
    inner join products
        on recommended.product_id = products.product_id
    cross join fit

)

select * from final
{%- endmacro %}
