{#- Makes a history model run after every reader-facing mart and its tests, so that
    `dbt build` records history only when everything it will publish passed: a failing
    test skips the history models (what runs downstream of a failed test is skipped) and
    the refresh then publishes nothing. One dbt invocation for build and history. -#}
{% macro after_reader_facing_marts() %}
    {%- set marts = [
        'dim_customers', 'fct_orders', 'fct_email_engagement',
        'customer_features', 'customer_segments', 'customer_primary_segment',
        'segment_definitions', 'segment_summary',
        'customer_clusters', 'cluster_centres', 'cluster_profiles', 'cluster_diagnostics',
    ] -%}
    {%- for mart in marts %}
-- depends_on: {{ ref(mart) }}
    {%- endfor %}
{% endmacro %}
