{#- Incremental loading by raw file (orders, order_items: macro file_incremental_tables).
    audit_raw_files keeps a ledger of the raw files and their changes; a staging model reads
    the rows of the files added since its own last run, competing with the versions it
    already holds. A file replaced or removed reloads the whole table (the single-file
    layout does this on every change, the folder layout only when a file is rewritten).
    Which files were added or moved, and whether the table reloads, audit_load_manifest
    works out once per run from that ledger (columns added_files, moved_files,
    is_file_reload); the model reads them through load_window. -#}

{#- Pre-hook of a staging model loaded by file: a reload starts from an empty table, so rows
    of a removed file or a replaced version go. -#}
{% macro delete_on_raw_file_reload() %}
    {%- if is_incremental() and load_window(this.identifier).is_file_reload -%}
        delete from {{ this }}
    {%- endif -%}
{% endmacro %}

{#- The CTEs valid_rows, candidates, ranked and current_rows of a staging model loaded by
    file: the valid rows of `base_model` (the added files in an incremental run, and with a
    `time_column` also rows that were in the future of the last run's as_of), competing with
    the versions already loaded for the same keys; the first row by `order_by` wins and is
    written only when it is not the loaded one (a loaded version wins ties). `columns` are
    the output columns, `key_columns` the unique key (its first column narrows the lookup
    of loaded versions). The model adds its own final CTE. -#}
{% macro file_loaded_versions(base_model, key_columns, columns, order_by, time_column=none) %}
    {%- set branches = ['true'] %}
    {%- set merge_loaded = false %}
    {%- if is_incremental() %}
        {%- set window = load_window(this.identifier) %}
        {%- if not window.is_file_reload %}
            {%- set merge_loaded = true %}
            {%- set branches = [] %}
            {%- set added_list = "('" ~ window.added_files | map('replace', "'", "''") | join("', '") ~ "')" %}
            {%- if window.added_files %}
                {%- do branches.append('source_file in ' ~ added_list) %}
            {%- endif %}
            {%- if time_column %}
                {#- the newest time_column built: the manifest's newest_event_at (the
                    contract's event_time, the same column) -#}
                {%- set newest = window.newest_event_at %}
                {%- do assert_as_of_not_before_built_events(this, newest) %}
                {%- if newest is none %}
                    {#- nothing loaded yet (every row was in the future): read everything -#}
                    {%- set branches = ['true'] %}
                {%- else %}
                    {#- rows rejected as in the future then, valid now (the newest row built is
                        at most the last as_of); re-read rows that lost stay lost -#}
                    {%- do branches.append(
                        time_column ~ " > cast('" ~ newest ~ "' as timestamp)"
                        ~ (' and source_file not in ' ~ added_list if window.added_files else '')
                    ) %}
                {%- endif %}
            {%- endif %}
            {%- if not branches %}
                {%- do branches.append('false') %}
            {%- endif %}
        {%- endif %}
    {%- endif %}

valid_rows as (

    {{ union_of_branches(ref(base_model), columns, branches, 'reject_reason is null') }}

),

candidates as (

    select
        {{ columns | join(',\n        ') }},
        false as is_loaded
    from valid_rows
    {%- if merge_loaded %}

        union all

        select
            {{ columns | join(',\n            ') }},
            true as is_loaded
        from {{ this }}
        where {{ key_columns[0] }} in (select valid_rows.{{ key_columns[0] }} from valid_rows)
    {%- endif %}

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows
    select
        *,
        row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by {{ order_by }}, is_loaded desc
        ) as version_rank
    from candidates

),

current_rows as (

    select
        {{ columns | join(',\n        ') }},
        {{ loaded_at() }} as loaded_at
    from ranked
    where version_rank = 1 and not is_loaded

)
{%- endmacro %}

{#- Pre-hook of a model built from models loaded by file (int_orders_priced, fct_orders):
    when an upstream model reloads this run or reloaded since this one last ran (manifest
    column is_upstream_reloaded), start from an empty table, so that keys gone upstream go
    here too. -#}
{% macro delete_on_upstream_reload() %}
    {%- if is_incremental() and load_window(this.identifier).is_upstream_reloaded -%}
        delete from {{ this }}
    {%- endif -%}
{% endmacro %}
