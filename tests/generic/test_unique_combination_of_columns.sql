{#- Fails for each combination of the given columns that occurs more than once
    (a composite primary key test; what dbt_utils would give, written here).
    new_rows_only: the model has a `loaded_at` stamp, and in a refresh only combinations
    that occur in rows written since the last published state are counted (see
    unique_incremental).
    stamp_column: an append-only model whose run stamp is one of the columns (a history):
    rows of two runs never share a combination, so in a refresh only the rows stamped since
    the last published state are grouped, and the test does not grow with the runs. -#}
{% test unique_combination_of_columns(
    model, combination_of_columns, new_rows_only=false, stamp_column=none
) %}

with

{%- set columns = combination_of_columns | join(', ') %}

checked as (

    select {{ columns }}
    from {{ model }} as all_rows
    {%- if stamp_column and var('tested_through') %}
    where {{ stamp_column }} > {{ tested_through_literal() }}
    {%- elif new_rows_only and var('tested_through') %}
    where {{ shares_key_with_new_rows(model, combination_of_columns, 'all_rows') }}
    {%- endif %}

),

grouped as (

    select
        {{ columns }},
        count(*) as occurrences
    from checked
    group by {{ columns }}
    having count(*) > 1

)

select * from grouped

{% endtest %}
