{#- Warns (by default) for each raw table whose share of rejected rows is above
    max_share (default: var max_reject_share). Applied to audit_raw_rows. -#}
{% test reject_share_below(model, column_name, max_share=none) %}
{{ config(severity='warn') }}
{%- set threshold = max_share if max_share is not none else var('max_reject_share') %}

select *
from {{ model }}
where {{ column_name }} > {{ threshold }}

{% endtest %}
