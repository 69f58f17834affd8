-- one row per raw table, load day and run in which that day's raw row count changed: the
-- load ledger behind the incremental refresh, its late-arrival check and its rows-in count
{{ config(materialized='incremental', incremental_strategy='append') }}

{#- each raw table by the column that says when a row was loaded (its loaded_at_field in the
    contract); only the tables loaded by received_at load by window, so only their late
    arrivals matter -#}
{%- set incremental_tables = incremental_event_tables() %}

with

arrivals as (

    {% for table_name in raw_tables() %}
        {%- set load_column = raw_contract(table_name).loaded_at_field %}
        {#- typed as the base models type it: a value that does not convert is a null day #}
        {%- set load_time = raw_cast(raw_typing(table_name), load_column) if load_column else none %}
        select
            '{{ table_name }}' as source_table,
            {% if load_column -%}
                cast({{ load_time }} as date) as received_date,
                max({{ load_time }}) as max_received_at,
            {%- else -%}
                cast(null as date) as received_date,
                cast(null as timestamp) as max_received_at,
            {%- endif %}
            count(*) as raw_rows
        from {{ source('raw', table_name) }}
        {% if load_column -%}
            group by cast({{ load_time }} as date)
        {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

{% if is_incremental() %}

    previous_counts as (

        -- the count each day had when it last changed
        select
            source_table,
            received_date,
            raw_rows
        from (
            select
                source_table,
                received_date,
                raw_rows,
                row_number() over (
                    partition by source_table, received_date
                    order by observed_at desc
                ) as observation_rank
            from {{ this }}
        ) as observations
        where observation_rank = 1

    ),

    windows as (

        -- rows received before this instant were outside the last run's lookback window
        select
            source_table,
            {{ dbt.date_trunc('day', dbt.dateadd('day', -var('incremental_lookback_days'), 'max(max_received_at)')) }}
                as window_start
        from {{ this }}
        group by source_table

    ),

    changed as (

        select
            arrivals.source_table,
            arrivals.received_date,
            arrivals.raw_rows,
            arrivals.max_received_at,
            coalesce(previous_counts.raw_rows, 0) as previous_raw_rows,
            case
                -- only the incremental tables load by window
                when arrivals.source_table not in ('{{ incremental_tables | join("', '") }}') then false
                -- nothing loaded before: nothing can be late
                when windows.window_start is null then false
                -- a null received_at can be anywhere in time: treat it as late
                when arrivals.received_date is null then true
                else arrivals.received_date < cast(windows.window_start as date)
            end as is_beyond_window
        from arrivals
        left join previous_counts
            on
                arrivals.source_table = previous_counts.source_table
                and arrivals.received_date is not distinct from previous_counts.received_date
        left join windows
            on arrivals.source_table = windows.source_table
        where
            previous_counts.raw_rows is null
            or arrivals.raw_rows <> previous_counts.raw_rows

    ),

{% else %}

    changed as (

        select
            source_table,
            received_date,
            raw_rows,
            max_received_at,
            0 as previous_raw_rows,
            false as is_beyond_window
        from arrivals

    ),

{% endif %}

final as (

    select
        -- ids
        source_table,

        -- numerics
        cast(raw_rows as bigint) as raw_rows,
        cast(previous_raw_rows as bigint) as previous_raw_rows,
        cast(raw_rows - previous_raw_rows as bigint) as new_rows,
        cast(case when is_beyond_window then raw_rows - previous_raw_rows else 0 end as bigint)
            as late_rows,

        -- booleans
        is_beyond_window,

        -- dates
        received_date,

        -- timestamps
        max_received_at,
        {{ as_of() }} as as_of,
        {{ loaded_at() }} as observed_at
    from changed

)

select * from final
