{#- Fails with one row per person_id of `model` that is also in `other`: e.g. no suppressed
    person in an audience. -#}
{% test excludes_people_in(model, other, column_name='person_id') %}

select distinct model_rows.{{ column_name }}
from {{ model }} as model_rows
inner join {{ other }} as other_rows
    on model_rows.{{ column_name }} = other_rows.{{ column_name }}

{% endtest %}
