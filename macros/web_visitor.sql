{#- The visitor of a web event: its anonymous_id, else its customer (int_web_visitors_touched
    and int_web_events_sessionized must agree on it). -#}
{% macro web_visitor_key() -%}
    coalesce(anonymous_id, 'customer:' || customer_id)
{%- endmacro %}
