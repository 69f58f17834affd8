{#- Business rule: every person in `people` has exactly one primary segment in the
    membership table (is_primary). Severity: warn in dev, error on a prod target. -#}
{% test one_primary_segment_per_person(model, people, person_column='person_id') %}
{{ config(severity=business_test_severity()) }}

with

primary_counts as (

    select
        {{ person_column }} as person_id,
        sum(case when is_primary then 1 else 0 end) as primary_segments
    from {{ model }}
    group by {{ person_column }}

),

checked as (

    select
        people.person_id,
        coalesce(primary_counts.primary_segments, 0) as primary_segments
    from {{ people }} as people
    left join primary_counts
        on people.person_id = primary_counts.person_id

)

select * from checked
where primary_segments <> 1

{% endtest %}
