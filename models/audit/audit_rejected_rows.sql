-- one row per raw row that breaks the data contract, with its reason and the row itself.
-- Incremental: the event tables (the only big ones) are checked again only where a row can
-- be new or its verdict can change: the received days whose raw count the load ledger saw
-- change since the last run, and rows that were in the future of the last run's as_of and
-- are no longer. Orders and order lines: the files added since the last run (all of them
-- after a file was replaced or removed) and orders no longer in the future. The other
-- (small) tables are checked whole every run. A pre-hook deletes exactly
-- the rows the run checks again (macro rejected_rows_recheck: the same predicates for both,
-- from this model's rows in audit_load_manifest).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}{{ rejected_rows_delete_rechecked() }}{% endif %}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
{%- set checked_tables = raw_tables() %}
{%- set windows = load_windows(this.identifier) if is_incremental() else {} %}

with

unioned as (

    {% for table_name in checked_tables %}
        {%- set branches = rejected_rows_recheck(table_name, windows[table_name]) if is_incremental() else ['true'] %}
        {%- for branch in branches %}
            select
                '{{ table_name }}' as source_table,
                record_key,
                reject_reason,
                raw_record,
                {%- set contract = raw_contract(table_name) %}
                {% if contract.incremental == 'by_received_at' -%}
                    received_at,
                    {{ contract.event_time }} as occurred_at,
                {%- elif contract.incremental == 'by_file' and contract.event_time -%}
                    cast(null as timestamp) as received_at,
                    {{ contract.event_time }} as occurred_at,
                {%- else -%}
                    cast(null as timestamp) as received_at,
                    cast(null as timestamp) as occurred_at,
                {%- endif %}
                {% if table_name in file_incremental_tables() -%}
                    source_file
                {%- else -%}
                    cast(null as string) as source_file
                {%- endif %}
            from {{ ref('base_raw__' ~ table_name) }}
            where reject_reason is not null and ({{ branch }})
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

numbered as (

    -- two raw rows can be identical (same table, file and content) and are two rows all
    -- the same: their copy number tells them apart. Stable across incremental runs, since
    -- identical rows always pass the same recheck branch and are checked again together
    select
        *,
        row_number() over (
            partition by source_table, source_file, raw_record order by record_key
        ) as raw_copy_number
    from unioned

),

described as (

    select
        -- ids
        -- MD5, not the engine's 64-bit hash(): DuckDB's hash() gave two order lines that
        -- differ in two fields the same value at 1M customers (192k rejected rows)
        {{ dbt.hash(
            "source_table || '|' || coalesce(source_file, '') || '|' || raw_record || '|' || "
            ~ "cast(raw_copy_number as " ~ dbt.type_string() ~ ")"
        ) }} as rejected_row_id,
        source_table,
        record_key,

        -- strings
        reject_reason,
        case reject_reason
            when 'invalid_timestamp' then 'a date or timestamp that does not convert (text, out of range)'
            when 'invalid_number' then 'a number that does not convert (text, a fraction for an integer, out of range)'
            when 'null_key' then 'a key or required id is null'
            when 'unknown_event_type' then 'event type, status or channel outside the contract'
            when 'negative_price' then 'price below zero'
            when 'future_timestamp' then 'timestamp after as_of'
            when 'invalid_quantity' then 'quantity zero or null, or unit price null'
        end as reject_description,
        raw_record,

        -- numerics
        cast(raw_copy_number as integer) as raw_copy_number,

        -- lineage
        source_file,

        -- timestamps
        received_at,
        occurred_at,
        {{ as_of() }} as checked_as_of,
        {{ loaded_at() }} as loaded_at
    from numbered

)

select * from described
