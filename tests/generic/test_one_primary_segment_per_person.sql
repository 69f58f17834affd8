{#- Business rule: every person in `people` has exactly one primary segment in the
    membership table (is_primary). Severity: warn in dev, error on a prod target. -#}
{% test one_primary_segment_per_person(model, people, person_column='person_id') %}
{{ config(severity=business_test_severity()) }}
{{ people_without_exactly_one(model, people, person_column, 'is_primary') }}
{% endtest %}
