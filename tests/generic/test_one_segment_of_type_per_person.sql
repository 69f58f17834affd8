{#- Business rule: every person in `people` belongs to exactly one segment of the given type
    (e.g. one lifecycle stage). Severity: warn in dev, error on a prod target. -#}
{% test one_segment_of_type_per_person(model, segment_type, people, person_column='person_id') %}
{{ config(severity=business_test_severity()) }}
{{ people_without_exactly_one(model, people, person_column, "segment_type = '" ~ segment_type ~ "'") }}
{% endtest %}
