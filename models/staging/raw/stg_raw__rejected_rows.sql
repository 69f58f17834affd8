-- one row per raw row that breaks the data contract, with its reason and the row itself
{%- set checked_tables = raw_tables() %}

with

unioned as (

    {% for table_name in checked_tables %}
        select
            '{{ table_name }}' as source_table,
            record_key,
            reject_reason,
            raw_record
        from {{ ref('base_raw__' ~ table_name) }}
        where reject_reason is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

described as (

    select
        -- ids
        source_table,
        record_key,

        -- strings
        reject_reason,
        case reject_reason
            when 'null_key' then 'a key or required id is null'
            when 'unknown_event_type' then 'event type, status or channel outside the contract'
            when 'negative_price' then 'price below zero'
            when 'future_timestamp' then 'timestamp after as_of'
            when 'invalid_quantity' then 'quantity zero or null, or unit price null'
        end as reject_description,
        raw_record,

        -- timestamps
        {{ as_of() }} as as_of
    from unioned

)

select * from described
