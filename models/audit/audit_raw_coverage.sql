-- one row per raw table: how many rows it holds and staged, the time its events span (the
-- contract's event_time, over the staged rows) and whether it holds data at all. Rebuilt
-- every run from the staging tables and the row audit, so an incremental refresh sees the
-- same coverage as a full build. customer_features and the segment definitions read it: a
-- channel whose tables hold no staged row is unknown, not zero (macros/channels.sql)
{{ config(materialized='table') }}

with

row_audit as (

    select * from {{ ref('audit_raw_rows') }}

),

arrivals as (

    select * from {{ ref('audit_raw_arrivals') }}

),

event_spans as (

    {% for table_name in raw_tables() %}
        {%- set contract = raw_contract(table_name) %}
        select
            '{{ table_name }}' as source_table,
            {{ "'" ~ contract.channel ~ "'" if contract.channel else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
                as channel,
            {{ "'" ~ contract.event_time ~ "'" if contract.event_time else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
                as event_time_column,
            {% if contract.event_time -%}
                min({{ contract.event_time }}) as first_event_at,
                max({{ contract.event_time }}) as last_event_at
            {%- else -%}
                -- an aggregate all the same: one row per table
                min(cast(null as timestamp)) as first_event_at,
                max(cast(null as timestamp)) as last_event_at
            {%- endif %}
        from {{ ref('stg_raw__' ~ table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

loads as (

    -- the load ledger is append-only: its newest load timestamp per table
    select
        source_table,
        max(max_received_at) as last_loaded_at
    from arrivals
    group by source_table

),

final as (

    select
        -- ids
        row_audit.source_table,

        -- strings
        event_spans.channel,
        event_spans.event_time_column,

        -- numerics
        row_audit.raw_rows,
        row_audit.staged_rows,
        row_audit.rejected_rows,

        -- booleans
        row_audit.staged_rows > 0 as has_data,

        -- timestamps
        event_spans.first_event_at,
        event_spans.last_event_at,
        loads.last_loaded_at,
        row_audit.as_of
    from row_audit
    inner join event_spans
        on row_audit.source_table = event_spans.source_table
    left join loads
        on row_audit.source_table = loads.source_table

)

select * from final
