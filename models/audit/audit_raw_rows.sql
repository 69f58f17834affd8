-- one row per raw table: where every raw row went (staged, rejected or a counted duplicate)
{%- set checked_tables = raw_tables() %}

with

raw_counts as (

    -- count(*) of a base view reads only the Parquet row counts: the contract is not
    -- evaluated again here, the quarantine has the verdicts
    {% for table_name in checked_tables %}
        select
            '{{ table_name }}' as source_table,
            cast(count(*) as bigint) as raw_rows
        from {{ ref('base_raw__' ~ table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

rejected_counts as (

    select
        source_table,
        count(*) as rejected_rows
    from {{ ref('audit_rejected_rows') }}
    group by source_table

),

checked_counts as (

    select
        raw_counts.source_table,
        raw_counts.raw_rows,
        raw_counts.raw_rows - coalesce(rejected_counts.rejected_rows, 0) as valid_rows,
        coalesce(rejected_counts.rejected_rows, 0) as rejected_rows
    from raw_counts
    left join rejected_counts
        on raw_counts.source_table = rejected_counts.source_table

),

staged_counts as (

    {% for table_name in checked_tables %}
        select
            '{{ table_name }}' as source_table,
            cast(count(*) as bigint) as staged_rows
        from {{ ref('stg_raw__' ~ table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

unioned as (

    select
        checked_counts.source_table,
        checked_counts.raw_rows,
        staged_counts.staged_rows,
        checked_counts.rejected_rows,
        -- valid rows that are older versions or repeated deliveries of a staged key
        checked_counts.valid_rows - staged_counts.staged_rows as duplicate_rows
    from checked_counts
    inner join staged_counts
        on checked_counts.source_table = staged_counts.source_table

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
