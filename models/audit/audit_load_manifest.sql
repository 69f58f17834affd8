-- one row per incremental model that reads it and raw table that model loads (the
-- quarantine: every raw table; a model without one: one row, no table): what this run loads,
-- computed once from the load ledgers and the models as the last run left them
-- (macros/load_manifest.sql says why; the models read it through load_window)
{{ config(materialized='table') }}
{%- set readers = load_manifest_readers(model.unique_id) %}
{%- set reader_ids = readers | map(attribute='unique_id') | list %}
{%- set lookback = var('incremental_lookback_days') | int %}

with

arrivals as (

    select * from {{ ref('audit_raw_arrivals') }}

),

raw_files as (

    select * from {{ ref('audit_raw_files') }}

),

reader_tables as (

    -- what each reader loads; late_beyond_window_only: a staging model reloads only the days
    -- beyond its lookback window (it reads the window anyway), the quarantine every changed day
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as source_table,
        cast(null as {{ dbt.type_string() }}) as load_mode,
        false as late_beyond_window_only
    where false
    {%- for reader in readers %}
        {%- for source_table, load_mode, beyond_window_only in load_manifest_tables(reader) %}

            union all

            select
                '{{ reader.name }}' as model_name,
                {{ "'" ~ source_table ~ "'" if source_table else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
                    as source_table,
                {{ "'" ~ load_mode ~ "'" if load_mode else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
                    as load_mode,
                {{ 'true' if beyond_window_only else 'false' }} as late_beyond_window_only
        {%- endfor %}
    {%- endfor %}

),

ancestors as (

    -- the readers upstream of each reader: a reload there reloads it
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as ancestor_name
    where false
    {%- for reader in readers %}
        {%- for ancestor in load_manifest_ancestors(reader, reader_ids, [], []) %}

            union all

            select
                '{{ reader.name }}' as model_name,
                '{{ ancestor }}' as ancestor_name
        {%- endfor %}
    {%- endfor %}

),

model_states as (

    -- each built reader as the last run left it, read through adapter.get_relation: the
    -- readers ref this model, so they have not run yet (a ref back would be a cycle)
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as timestamp) as last_loaded_at,
        cast(null as timestamp) as first_loaded_at,
        cast(null as timestamp) as newest_event_at,
        cast(null as timestamp) as newest_received_at,
        cast(null as timestamp) as last_as_of
    where false
    {%- for reader in readers %}
        {%- set relation = adapter.get_relation(
            database=reader.database, schema=reader.schema, identifier=reader.alias) if execute else none %}
        {%- if relation is not none and not flags.FULL_REFRESH %}
            {%- set built_columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list %}
            {%- if 'loaded_at' not in built_columns %}
                {{ exceptions.raise_compiler_error(
                    relation ~ " has no loaded_at column: it was built by an earlier version of the project, "
                    ~ "before it was incremental. Rebuild it once with `segmentation refresh --full-refresh` "
                    ~ "(or `dbt build --full-refresh`).") }}
            {%- endif %}
            {%- if reader.name == 'audit_rejected_rows' and 'checked_as_of' not in built_columns %}
                {{ exceptions.raise_compiler_error(
                    relation ~ " was built by an earlier version of the project (before the quarantine "
                    ~ "was incremental): rebuild it once with `dbt build --full-refresh -s "
                    ~ "audit_rejected_rows` or `segmentation refresh --full-refresh`.") }}
            {%- endif %}
            {%- set source_table = load_manifest_tables(reader)[0][0] %}
            {%- set contract = raw_contract(source_table) if source_table and reader.name != 'audit_rejected_rows' else {} %}

            union all

            select
                '{{ reader.name }}' as model_name,
                max(loaded_at) as last_loaded_at,
                min(loaded_at) as first_loaded_at,
                {% if contract.event_time and contract.incremental != 'none' -%}
                    max({{ contract.event_time }}) as newest_event_at,
                {%- else -%}
                    cast(null as timestamp) as newest_event_at,
                {%- endif %}
                {% if contract.incremental == 'by_received_at' -%}
                    max(received_at) as newest_received_at,
                {%- else -%}
                    cast(null as timestamp) as newest_received_at,
                {%- endif %}
                {% if reader.name == 'audit_rejected_rows' -%}
                    max(checked_as_of) as last_as_of
                {%- else -%}
                    cast(null as timestamp) as last_as_of
                {%- endif %}
            from {{ relation }}
        {%- endif %}
    {%- endfor %}

),

reader_states as (

    select
        reader_tables.model_name,
        reader_tables.source_table,
        reader_tables.load_mode,
        reader_tables.late_beyond_window_only,
        model_states.model_name is not null as is_built,
        model_states.last_loaded_at,
        model_states.first_loaded_at,
        model_states.newest_event_at,
        model_states.last_as_of,
        -- rows received before this instant were outside the last run's lookback window
        {{ dbt.date_trunc('day', dbt.dateadd('day', -lookback, 'model_states.newest_received_at')) }}
            as window_start
    from reader_tables
    left join model_states
        on reader_tables.model_name = model_states.model_name

),

changed_days as (

    -- the received days whose raw count the ledger saw change since the reader last loaded
    select distinct
        reader_states.model_name,
        reader_states.source_table,
        arrivals.received_date
    from reader_states
    inner join arrivals
        on reader_states.source_table = arrivals.source_table
    where
        reader_states.load_mode = 'by_received_at'
        and arrivals.observed_at > coalesce(reader_states.last_loaded_at, cast('1900-01-01' as timestamp))
        and (arrivals.is_beyond_window or not reader_states.late_beyond_window_only)

),

day_islands as (

    -- consecutive days share an island (the day minus its rank): a year of late days is one
    -- range, not 365 branches
    select
        model_name,
        source_table,
        received_date,
        {{ dbt.dateadd(
            'day',
            '-row_number() over (partition by model_name, source_table order by received_date)',
            'received_date',
        ) }} as island
    from changed_days
    where received_date is not null

),

day_ranges as (

    select
        model_name,
        source_table,
        min(received_date) as range_start,
        cast({{ dbt.dateadd('day', 1, 'max(received_date)') }} as date) as range_end
    from day_islands
    group by model_name, source_table, island

),

late_days as (

    -- the ranges as text 'start/end,...' ([start, end) days), for load_window to split
    select
        model_name,
        source_table,
        -- text order is day order: ISO dates
        {{ sorted_string_agg(
            "cast(range_start as " ~ dbt.type_string() ~ ") || '/' || cast(range_end as " ~ dbt.type_string() ~ ")",
            "','",
        ) }} as late_day_ranges
    from day_ranges
    group by model_name, source_table

),

late_null_days as (

    select distinct
        model_name,
        source_table
    from changed_days
    where received_date is null

),

file_changes as (

    -- the raw files the ledger saw change since the reader last loaded, paths one a line
    select
        reader_states.model_name,
        reader_states.source_table,
        {{ sorted_string_agg(
            "case when raw_files.change_type = 'added' then raw_files.file_path end", "chr(10)"
        ) }} as added_files,
        {{ sorted_string_agg(
            "case when raw_files.change_type in ('moved_in', 'moved_out') then raw_files.file_path end",
            "chr(10)",
        ) }} as moved_files,
        -- a file replaced or removed: the rows it held may be gone, the table reloads whole
        max(case when raw_files.change_type in ('replaced', 'removed') then 1 else 0 end) = 1
            as has_rewritten_files
    from reader_states
    inner join raw_files
        on reader_states.source_table = raw_files.source_table
    where
        reader_states.load_mode = 'by_file'
        and raw_files.observed_at > coalesce(reader_states.last_loaded_at, cast('1900-01-01' as timestamp))
    group by reader_states.model_name, reader_states.source_table

),

file_reloads as (

    select
        reader_states.model_name,
        reader_states.source_table,
        -- engines other than DuckDB list no files: their tables loaded by file reload every run
        reader_states.load_mode = 'by_file'
        and {{ 'coalesce(file_changes.has_rewritten_files, false)' if lists_raw_files() else 'true' }}
            as is_file_reload
    from reader_states
    left join file_changes
        on
            reader_states.model_name = file_changes.model_name
            and reader_states.source_table = file_changes.source_table

),

upstream_reloads as (

    -- a reader reloads whole when an upstream reader reloads its files this run, or holds
    -- only rows written after the reader last loaded (it reloaded since), or is empty
    select
        ancestors.model_name,
        max(
            case
                when ancestor_reloads.is_file_reload then 1
                when coalesce(ancestor_states.first_loaded_at > own_states.last_loaded_at, true) then 1
                else 0
            end
        ) = 1 as is_upstream_reloaded
    from ancestors
    left join model_states as own_states
        on ancestors.model_name = own_states.model_name
    left join model_states as ancestor_states
        on ancestors.ancestor_name = ancestor_states.model_name
    left join file_reloads as ancestor_reloads
        on
            ancestors.ancestor_name = ancestor_reloads.model_name
            and ancestor_reloads.is_file_reload
    group by ancestors.model_name

),

final as (

    select
        -- ids
        reader_states.model_name || '|' || coalesce(reader_states.source_table, '') as manifest_key,
        reader_states.model_name,
        reader_states.source_table,

        -- strings
        reader_states.load_mode,
        late_days.late_day_ranges,
        file_changes.added_files,
        file_changes.moved_files,

        -- booleans
        reader_states.is_built,
        late_null_days.model_name is not null as has_late_null_day,
        coalesce(file_reloads.is_file_reload, false) as is_file_reload,
        coalesce(upstream_reloads.is_upstream_reloaded, false) as is_upstream_reloaded,

        -- timestamps
        reader_states.last_loaded_at,
        reader_states.newest_event_at,
        reader_states.window_start,
        reader_states.last_as_of,
        {{ as_of() }} as as_of,
        {{ loaded_at() }} as computed_at
    from reader_states
    left join late_days
        on
            reader_states.model_name = late_days.model_name
            and reader_states.source_table = late_days.source_table
    left join late_null_days
        on
            reader_states.model_name = late_null_days.model_name
            and reader_states.source_table = late_null_days.source_table
    left join file_changes
        on
            reader_states.model_name = file_changes.model_name
            and reader_states.source_table = file_changes.source_table
    left join file_reloads
        on
            reader_states.model_name = file_reloads.model_name
            and reader_states.source_table is not distinct from file_reloads.source_table
    left join upstream_reloads
        on reader_states.model_name = upstream_reloads.model_name

)

select * from final
