-- one row per raw table: where every raw row went (staged, rejected or a counted duplicate)
{%- set checked_tables = [
    'customers', 'products', 'orders', 'order_items',
    'web_events', 'email_events', 'email_campaigns', 'consents',
] %}

with

unioned as (

    {% for table_name in checked_tables %}
        select
            '{{ table_name }}' as source_table,
            cast(count(*) as bigint) as raw_rows,
            sum(case when reject_reason is null and version_rank = 1 then 1 else 0 end) as staged_rows,
            sum(case when reject_reason is not null then 1 else 0 end) as rejected_rows,
            sum(case when reject_reason is null and version_rank > 1 then 1 else 0 end) as duplicate_rows
        from {{ ref('base_raw__' ~ table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        -- ids
        source_table,

        -- numerics
        raw_rows,
        cast(coalesce(staged_rows, 0) as bigint) as staged_rows,
        cast(coalesce(rejected_rows, 0) as bigint) as rejected_rows,
        cast(coalesce(duplicate_rows, 0) as bigint) as duplicate_rows,
        case
            when raw_rows = 0 then 0.0
            else cast(coalesce(rejected_rows, 0) as double) / raw_rows
        end as reject_share,

        -- timestamps
        {{ as_of() }} as as_of
    from unioned

)

select * from final
