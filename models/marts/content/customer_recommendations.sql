-- one row per person and rank (1..recommendation_count): the products to show, as of as_of,
-- with the method and reason (macro recommendation_ctes: co-occurrence with the person's
-- top products, then popular in the favourite category, then popular), ranked on the content
-- fit (product_associations, product_popularity). Incremental by person
-- (macros/content/recommendation_batches.sql): after a new fit everyone, else the people
-- touched since its last run, in batches (this select is the first, the post-hook inserts
-- the others)
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_recomputed_people(
        recommendation_touched_only(), recommendation_people_touched()
    ) }}",
    post_hook="{{ insert_recommendation_batches() }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('product_associations') }}
-- depends_on: {{ ref('product_popularity') }}
-- depends_on: {{ ref('customer_affinities') }}
-- depends_on: {{ ref('stg_raw__products') }}
-- depends_on: {{ ref('int_person_product_events') }}
-- depends_on: {{ ref('int_web_events_sessionized') }}
-- depends_on: {{ ref('int_web_people_touched') }}
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('affinity_weights') }}

{%- set touched_only = recommendation_touched_only() %}
{{ recommendations_batch(0, recommendation_batches(touched_only), touched_only) }}
