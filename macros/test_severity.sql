{#- Severity of the business-rule tests: var `business_test_severity` if set,
    else 'error' on a prod target and 'warn' everywhere else (docs/architecture.md). -#}
{% macro business_test_severity() -%}
    {%- set configured = var('business_test_severity') -%}
    {%- if configured -%}
        {{ return(configured) }}
    {%- elif target.name == 'prod' -%}
        {{ return('error') }}
    {%- else -%}
        {{ return('warn') }}
    {%- endif -%}
{%- endmacro %}
