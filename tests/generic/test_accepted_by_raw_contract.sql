{#- The column holds only the values the raw contract accepts for it (meta.accepted_values
    of the same column of raw.<raw_table>, or of `raw_column`): the contract's list, not a
    copy of it. Nulls pass, as in dbt's accepted_values. -#}
{% test accepted_by_raw_contract(model, column_name, raw_table, raw_column=none) %}

select
    {{ column_name }} as value_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} not in ({{ raw_accepted_values(raw_table, raw_column or column_name) }})
group by {{ column_name }}

{% endtest %}
