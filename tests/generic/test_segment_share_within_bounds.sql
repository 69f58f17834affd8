{#- Business rule: each segment's share of the audience lies within [min_share, max_share]
    of its definition (default min 1 %; columns of segment_summary). var
    segment_share_overrides ({"<segment>": {min_share: .., max_share: ..}}) replaces a
    segment's bounds when the test compiles, so a bound can be tried without a rebuild.
    A segment that is not evaluated (status_column other than 'evaluated': a channel it
    needs has no data) has no size to check: it is skipped, and the test logs which.
    Severity: warn in dev, error on a prod target. -#}
{% test segment_share_within_bounds(model, column_name='share_of_audience', status_column='evaluation_status') %}
{{ config(severity=business_test_severity()) }}
{%- set overrides = var('segment_share_overrides') or {} %}
{%- if execute and load_relation(model) is not none %}
    {%- set skipped = run_query(
        "select segment, " ~ status_column ~ " from " ~ model ~ " where " ~ status_column
        ~ " <> 'evaluated' order by segment") %}
    {%- if skipped.rows %}
        {%- set listed = [] %}
        {%- for row in skipped.rows %}{% do listed.append(row[0] ~ ' (' ~ row[1] ~ ')') %}{% endfor %}
        {{ log("segment_share_within_bounds: " ~ skipped.rows | length ~ " segments not evaluated, size not checked: " ~ listed | join('; '), info=True) }}
    {%- endif %}
{%- endif %}

with

bounded as (

    select
        segment,
        {{ column_name }} as share,
        case
            when false then null
            {% for name, bounds in overrides.items() if bounds.get('min_share') is not none %}
                when segment = {{ sql_string(name) }} then cast({{ bounds.get('min_share') }} as double)
            {% endfor %}
            else min_share
        end as required_min_share,
        case
            when false then null
            {% for name, bounds in overrides.items() if bounds.get('max_share') is not none %}
                when segment = {{ sql_string(name) }} then cast({{ bounds.get('max_share') }} as double)
            {% endfor %}
            else max_share
        end as required_max_share
    from {{ model }}
    where {{ status_column }} = 'evaluated'

)

select * from bounded
where
    coalesce(share, 0) < required_min_share
    or coalesce(share, 0) > required_max_share

{% endtest %}
