{#- Engine-specific SQL lives here so the models stay portable (DESIGN.md section 6). -#}

{#- The whole input row as a JSON string, kept with quarantined rows so nothing
    the user gave is lost. `relation_alias` is the CTE or table alias. -#}
{% macro row_as_json(relation_alias) -%}
    {{ return(adapter.dispatch('row_as_json', 'customer_segmentation')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_as_json(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as varchar)
{%- endmacro %}

{% macro spark__row_as_json(relation_alias) -%}
    to_json(struct({{ relation_alias }}.*))
{%- endmacro %}

{#- Format a timestamp as ISO text 'YYYY-MM-DDTHH:MM:SS' (used in record keys). -#}
{% macro timestamp_to_iso(expression) -%}
    {{ return(adapter.dispatch('timestamp_to_iso', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__timestamp_to_iso(expression) -%}
    strftime({{ expression }}, '%Y-%m-%dT%H:%M:%S')
{%- endmacro %}

{% macro spark__timestamp_to_iso(expression) -%}
    date_format({{ expression }}, "yyyy-MM-dd'T'HH:mm:ss")
{%- endmacro %}
