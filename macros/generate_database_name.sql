{#- DuckDB: the layers readers never query (staging with its base views, audit, intermediate
    and the seeds) live in a second file attached as `work` (profiles.yml); the main file holds
    only the marts, so the scheduled refresh publishes them by copying a file instead of
    copying every row (src/segmentation/refresh.py). Other engines: dbt's default. -#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- if custom_database_name is not none -%}
        {{ custom_database_name | trim }}
    {%- elif node is not none and has_work_database() and is_work_layer(node) -%}
        work
    {%- else -%}
        {{ target.database }}
    {%- endif -%}
{%- endmacro %}

{% macro is_work_layer(node) -%}
    {{ return(
        node.resource_type == 'seed'
        or (node.resource_type == 'model' and node.fqn | length > 2 and node.fqn[1] in ('staging', 'audit', 'intermediate'))
    ) }}
{%- endmacro %}

{#- Whether the target keeps the work layers in their own database (DuckDB's work file). -#}
{% macro has_work_database() -%}
    {{ return(adapter.dispatch('has_work_database', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__has_work_database() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__has_work_database() -%}
    {{ return(true) }}
{%- endmacro %}
