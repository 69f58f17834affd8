-- one row per person and rank (1..recommendation_count): the products to show, as of as_of,
-- with the method and reason (macro recommendation_ctes: co-occurrence with the person's
-- top products, then popular in the favourite category, then popular). Written in batches of
-- people (macros/content/recommendation_batches.sql): this select is the first, the post-hook
-- inserts the others
{{ config(post_hook="{{ insert_recommendation_batches() }}") }}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('product_associations') }}
-- depends_on: {{ ref('customer_affinities') }}
-- depends_on: {{ ref('stg_raw__products') }}
-- depends_on: {{ ref('int_person_product_events') }}
-- depends_on: {{ ref('affinity_weights') }}

{{ recommendations_batch(0, recommendation_batches()) }}
