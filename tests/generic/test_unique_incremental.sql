{#- `unique` for an incremental model with a `loaded_at` stamp. In a plain build every key is
    checked. The scheduled refresh passes the var `tested_through`: the newest `loaded_at`
    stamp of the last state that passed all its tests and was published. Rows stamped up to
    then were unique then, so a new duplicate must involve a row written since: only the keys of those
    rows are counted (a semi-join over the key column instead of grouping 35M keys). A failed
    refresh publishes nothing, so its rows are checked again by the next one. -#}
{% test unique_incremental(model, column_name) %}

with

checked as (

    select all_rows.{{ column_name }} as unique_field
    from {{ model }} as all_rows
    {%- if var('tested_through') %}
    where {{ shares_key_with_new_rows(model, [column_name], 'all_rows') }}
    {%- endif %}

),

duplicates as (

    select
        unique_field,
        count(*) as n_records
    from checked
    where unique_field is not null
    group by unique_field
    having count(*) > 1

)

select * from duplicates

{% endtest %}
