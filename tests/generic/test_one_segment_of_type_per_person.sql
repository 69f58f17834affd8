{#- Business rule: every person in `people` belongs to exactly one segment of the given type
    (e.g. one lifecycle stage). Severity: warn in dev, error on a prod target. -#}
{% test one_segment_of_type_per_person(model, segment_type, people, person_column='person_id') %}
{{ config(severity=business_test_severity()) }}

with

typed as (

    select
        {{ person_column }} as person_id,
        count(*) as segments
    from {{ model }}
    where segment_type = '{{ segment_type }}'
    group by {{ person_column }}

),

checked as (

    select
        people.person_id,
        coalesce(typed.segments, 0) as segments
    from {{ people }} as people
    left join typed
        on people.person_id = typed.person_id

)

select * from checked
where segments <> 1

{% endtest %}
