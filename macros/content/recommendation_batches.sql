{#- customer_recommendations is written in batches of people (hash buckets of person_id), so
    its memory does not grow with the number of people: the model's select is batch 0, its
    post-hook inserts the others. recommendation_batch_people people per batch. -#}
{% macro recommendation_batches() -%}
    {#- parsing, or compiling before dim_customers exists (sqlfluff): one batch -#}
    {%- if not execute or load_relation(ref('dim_customers')) is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set people = run_query('select count(*) from ' ~ ref('dim_customers')).columns[0].values()[0] -%}
    {{ return([1, ((people + var('recommendation_batch_people') - 1) // var('recommendation_batch_people')) | int] | max) }}
{%- endmacro %}

{#- The post-hook: inserts batches 1.. into the table (one statement each). -#}
{% macro insert_recommendation_batches() -%}
    {%- set batches = recommendation_batches() -%}
    {%- for batch in range(1, batches) -%}
        {%- do run_query('insert into ' ~ this ~ ' ' ~ recommendations_batch(batch, batches)) -%}
    {%- endfor -%}
    select {{ batches }} as batches_written
{%- endmacro %}

{#- One batch of customer_recommendations (models/marts/content/customer_recommendations.sql). -#}
{% macro recommendations_batch(batch, batches) -%}
with

people as (

    select person_id from {{ ref('dim_customers') }}
    {%- if batches > 1 %}
        where {{ hash_bucket('person_id', sql_string('recommendation_batch'), batches) }} = {{ batch }}
    {%- endif %}

),

interactions as (

    {{ weighted_product_interactions(as_of()) }}

),

associations as (

    select * from {{ ref('product_associations') }}

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

{{ recommendation_ctes(
    'recommended', 'interactions', 'associations', 'favourites', 'people', as_of(),
    ['co_occurrence', 'category_popularity', 'popularity'],
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
        products.price
    from recommended
    inner join products
        on recommended.product_id = products.product_id

)

select * from final
{%- endmacro %}
