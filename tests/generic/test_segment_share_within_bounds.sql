{#- Business rule: each segment's share of the audience lies within its definition's
    [min_share, max_share] (default min 1 %). Bounds are read from the definitions when the
    test compiles, so var segment_share_overrides applies without a rebuild.
    Applied to segment_summary. Severity: warn in dev, error on a prod target. -#}
{% test segment_share_within_bounds(model, column_name='share_of_audience') %}
{{ config(severity=business_test_severity()) }}

with

bounds as (

    {% for d in get_segment_definitions() %}
        select
            {{ sql_string(d.name) }} as segment,
            cast({{ d.min_share }} as double) as required_min_share,
            cast({{ d.max_share }} as double) as required_max_share
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

checked as (

    select
        summary.segment,
        summary.{{ column_name }} as share,
        bounds.required_min_share,
        bounds.required_max_share
    from {{ model }} as summary
    inner join bounds
        on summary.segment = bounds.segment

)

select * from checked
where
    coalesce(share, 0) < required_min_share
    or coalesce(share, 0) > required_max_share

{% endtest %}
