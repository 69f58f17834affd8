{#- Layers get plain schema names (staging, intermediate, core, ...) instead of
    dbt's default <target_schema>_<custom>, so analysts query core.dim_customers. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
