{#- Incremental loading by raw file (orders, order_items: macro file_incremental_tables).
    audit_raw_files keeps a ledger of the raw files and their changes; a staging model reads
    the rows of the files added since its own last run, competing with the versions it
    already holds. A file replaced or removed reloads the whole table (the single-file
    layout does this on every change, the folder layout only when a file is rewritten). -#}

{#- The file changes of `source_table` audit_raw_files saw since `relation` last loaded:
    {'added': [paths], 'moved': [old and new paths of renamed files], 'reload': true when a
    file was replaced or removed}. Engines other than DuckDB have no file list here: they
    reload every run. -#}
{% macro raw_file_changes(relation, source_table) %}
    {%- set ledger = ref('audit_raw_files') -%}
    {%- if not execute or target.type != 'duckdb' -%}
        {{ return({'added': [], 'moved': [], 'reload': true}) }}
    {%- endif -%}
    {%- set result = run_query(
        "select change_type, file_path from " ~ ledger ~ " where source_table = '" ~ source_table
        ~ "' and observed_at > " ~ last_loaded_at(relation) ~ " order by file_path"
    ) -%}
    {%- set added, moved, reload = [], [], [] -%}
    {%- for row in result.rows -%}
        {%- if row[0] == 'added' -%}
            {%- do added.append(row[1]) -%}
        {%- elif row[0] in ('moved_in', 'moved_out') -%}
            {%- do moved.append(row[1]) -%}
        {%- else -%}
            {%- do reload.append(row[1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'added': added, 'moved': moved, 'reload': reload | length > 0}) }}
{% endmacro %}

{#- Pre-hook of a staging model loaded by file: a reload starts from an empty table, so rows
    of a removed file or a replaced version go. -#}
{% macro delete_on_raw_file_reload(source_table) %}
    {%- if is_incremental() and raw_file_changes(this, source_table).reload -%}
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
{% macro file_loaded_versions(base_model, source_table, key_columns, columns, order_by, time_column=none) %}
    {%- set branches = ['true'] %}
    {%- set merge_loaded = false %}
    {%- if is_incremental() %}
        {%- set changes = raw_file_changes(this, source_table) %}
        {%- if not changes.reload %}
            {%- set merge_loaded = true %}
            {%- set branches = [] %}
            {%- set added_list = "('" ~ changes.added | map('replace', "'", "''") | join("', '") ~ "')" %}
            {%- if changes.added %}
                {%- do branches.append('source_file in ' ~ added_list) %}
            {%- endif %}
            {%- if time_column %}
                {%- set newest = scalar_query("select cast(max(" ~ time_column ~ ") as varchar) from " ~ this) %}
                {%- do assert_as_of_not_before_built_events(this, newest) %}
                {%- if newest is none %}
                    {#- nothing loaded yet (every row was in the future): read everything -#}
                    {%- set branches = ['true'] %}
                {%- else %}
                    {#- rows rejected as in the future then, valid now (the newest row built is
                        at most the last as_of); re-read rows that lost stay lost -#}
                    {%- do branches.append(
                        time_column ~ " > cast('" ~ newest ~ "' as timestamp)"
                        ~ (' and source_file not in ' ~ added_list if changes.added else '')
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

{#- True when a model built from `upstreams` must recompute everything: on its first
    incremental run after one of them reloaded (every row of it written since this model's
    last run), or when one is empty. Its pre-hook then empties it, so keys that went
    upstream go here too. -#}
{% macro upstream_reloaded(upstreams) %}
    {%- if not (execute and is_incremental()) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set since = last_loaded_at(this) -%}
    {%- for upstream in upstreams -%}
        {%- if scalar_query("select coalesce(min(loaded_at) > " ~ since ~ ", true) from " ~ upstream) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}
