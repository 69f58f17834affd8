{#- People of `people` who do not have exactly one membership row matching `condition`
    (shared by the one-primary-segment and one-segment-of-type tests). -#}
{% macro people_without_exactly_one(model, people, person_column, condition) %}

with

counted as (

    select
        {{ person_column }} as person_id,
        sum(case when {{ condition }} then 1 else 0 end) as matching_rows
    from {{ model }}
    group by {{ person_column }}

),

checked as (

    select
        people.person_id,
        coalesce(counted.matching_rows, 0) as matching_rows
    from {{ people }} as people
    left join counted
        on people.person_id = counted.person_id

)

select * from checked
where matching_rows <> 1

{% endmacro %}
