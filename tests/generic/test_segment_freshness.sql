{#- Business rule: segments are computed from data no older than max_age_hours before as_of:
    the newest event behind them (column_name) must be within the window.
    Severity: warn in dev, error on a prod target. -#}
{% test segment_freshness(model, column_name, as_of_column='as_of', max_age_hours=none) %}
{{ config(severity=business_test_severity()) }}
{%- set hours = max_age_hours if max_age_hours is not none else var('segment_max_data_age_hours') %}

with

newest as (

    select
        max({{ column_name }}) as data_through_at,
        max({{ as_of_column }}) as as_of
    from {{ model }}

)

select * from newest
where
    data_through_at is null
    or data_through_at < {{ dbt.dateadd('hour', -1 * hours, 'as_of') }}

{% endtest %}
