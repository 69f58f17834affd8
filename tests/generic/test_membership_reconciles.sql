{#- Business rule: segment membership reconciles with the people table: no member unknown
    to it, and (with audience_column) the audience size equals its row count.
    Severity: warn in dev, error on a prod target. -#}
{% test membership_reconciles(model, people, person_column='person_id') %}
{{ config(severity=business_test_severity()) }}

with

members as (

    select distinct {{ person_column }} as person_id
    from {{ model }}

),

unknown_members as (

    select
        members.person_id,
        'member unknown to the people table' as problem
    from members
    left join {{ people }} as people
        on members.person_id = people.person_id
    where people.person_id is null

)

select * from unknown_members

{% endtest %}
