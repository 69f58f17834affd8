{#- The reference time of every feature and segment (docs/architecture.md).
    The only reader of the clock: var `as_of`, else the time the run started,
    so a rebuild with the same data and as_of gives the same answer. -#}
{% macro as_of_literal() -%}
    {%- set value = var('as_of') -%}
    {%- if value is none or value == '' -%}
        {%- set value = run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- endif -%}
    {{ return(value | string) }}
{%- endmacro %}

{% macro as_of() -%}
    cast('{{ as_of_literal() }}' as timestamp)
{%- endmacro %}
