{#- The load manifest (issue 18): what an incremental run loads is decided once, by the model
    audit_load_manifest, and every incremental model reads its row through load_window() (the
    pattern of Snowplow's base_new_event_limits model and return_base_new_event_limits macro).

    Why: each model used to query its own {{ this }} (and the ledgers) while compiling, a dozen
    queries spread over as many macros, each deciding a part of the window on its own.
    The manifest is a table built right after the ledgers audit_raw_arrivals and audit_raw_files
    and before every model that reads it (they ref it): it reads those models' tables as the
    last run left them with adapter.get_relation (a ref back would be a cycle) and holds, per
    model and raw table, the lookback window start, the newest event built, the last as_of,
    the late day ranges, the files added or moved, whether a file or an upstream model
    reloaded, and the model's last loaded_at. A model then reads its rows with one query (a
    pre-hook that needs them, as the deletes of audit_rejected_rows and the file reloads, is
    a second rendering and a second query) and turns them into literal predicates: literals,
    not subqueries, go down into the Parquet scans (macros/incremental.sql,
    incremental_event_branches).

    Its readers are the incremental models that ref it (no list to keep): a stg_raw__ model
    for its raw table, audit_rejected_rows for every raw table, any other model for its
    loaded_at. A manifest left from an earlier run (a selection without it) widens the
    windows: every value is from an older state, so a model reads more rows and dedupes them
    against what it has; only a --full-refresh of an upstream model since then goes unseen.
    A warning says so. -#}

{#- The incremental models that ref the manifest `manifest_id`, by name (none while
    parsing); a table that refs it (int_web_visitors_touched) reads another model's row. -#}
{% macro load_manifest_readers(manifest_id) %}
    {%- set readers = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='name')
            if node.resource_type == 'model' and node.config.materialized == 'incremental'
            and manifest_id in node.depends_on.nodes -%}
            {%- do readers.append(node) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(readers) }}
{% endmacro %}

{#- The raw tables a reader loads, as (source_table, load_mode, late_days_beyond_window_only):
    its own for a stg_raw__ model, every raw table for the quarantine, none for the others
    (one row with no table). -#}
{% macro load_manifest_tables(reader) %}
    {%- if reader.name == 'audit_rejected_rows' -%}
        {%- set tables = [] -%}
        {%- for table_name in raw_tables() -%}
            {%- do tables.append((table_name, raw_contract(table_name).incremental, false)) -%}
        {%- endfor -%}
        {{ return(tables) }}
    {%- elif reader.name.startswith('stg_raw__') and reader.name[9:] in raw_tables() -%}
        {%- set table_name = reader.name[9:] -%}
        {{ return([(table_name, raw_contract(table_name).incremental, true)]) }}
    {%- endif -%}
    {{ return([(none, none, false)]) }}
{% endmacro %}

{#- The readers upstream of `node` (through any model in between), by name; `visited`
    keeps the walk to one visit per node. -#}
{% macro load_manifest_ancestors(node, reader_ids, found, visited) %}
    {%- for parent_id in node.depends_on.nodes if parent_id in graph.nodes and parent_id not in visited -%}
        {%- do visited.append(parent_id) -%}
        {%- if parent_id in reader_ids -%}
            {%- do found.append(graph.nodes[parent_id].name) -%}
        {%- endif -%}
        {%- do load_manifest_ancestors(graph.nodes[parent_id], reader_ids, found, visited) -%}
    {%- endfor -%}
    {{ return(found | sort) }}
{% endmacro %}

{#- SQL timestamp literal of a manifest value (text), or `default` when it is null. -#}
{% macro manifest_timestamp(value, default='cast(null as timestamp)') -%}
    {{ return(default if value is none else "cast('" ~ value ~ "' as timestamp)") }}
{%- endmacro %}

{#- The manifest rows of `model_name`, one per raw table it loads (key none for a model
    without one): {is_built, last_loaded_at (literal, 1900 when nothing is loaded),
    newest_event_at (text or none), window_start (literal), last_as_of (text or none),
    late_ranges ([(start, end)] literals), has_late_null_day, added_files, moved_files,
    is_file_reload, is_upstream_reloaded}. One query; empty while parsing. -#}
{% macro load_windows(model_name) %}
    {%- set manifest = ref('audit_load_manifest') -%}
    {%- if not execute -%}
        {{ return({}) }}
    {%- endif -%}
    {%- if load_relation(manifest) is none -%}
        {#- nothing was built yet (or only the models that do not read it) -#}
        {%- if is_incremental() -%}
            {{ exceptions.raise_compiler_error(
                this.identifier ~ " is incremental but " ~ manifest ~ " does not exist: build it first "
                ~ "(dbt build -s audit_load_manifest, or a plain dbt build).") }}
        {%- endif -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set result = run_query(
        "select source_table, is_built, cast(last_loaded_at as " ~ dbt.type_string() ~ ") as last_loaded_at,"
        ~ " cast(newest_event_at as " ~ dbt.type_string() ~ ") as newest_event_at,"
        ~ " cast(window_start as " ~ dbt.type_string() ~ ") as window_start,"
        ~ " cast(last_as_of as " ~ dbt.type_string() ~ ") as last_as_of,"
        ~ " late_day_ranges, has_late_null_day, added_files, moved_files, is_file_reload,"
        ~ " is_upstream_reloaded, computed_at = " ~ loaded_at() ~ " as is_current"
        ~ " from " ~ manifest ~ " where model_name = '" ~ model_name ~ "'"
    ) -%}
    {%- if result.rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ " has no row in " ~ manifest ~ ": a model that reads the manifest must "
            ~ "ref it (-- depends_on: {{ ref('audit_load_manifest') }}), and the manifest be built "
            ~ "once after that (dbt build -s audit_load_manifest).") }}
    {%- endif -%}
    {%- if not result.rows[0]['is_current'] -%}
        {%- do exceptions.warn(
            "audit_load_manifest is from an earlier run than " ~ model_name ~ "'s: its windows are those "
            ~ "of the state then (wider; a --full-refresh upstream since goes unseen). Select "
            ~ "audit_load_manifest too.") -%}
    {%- endif -%}
    {%- set windows = {} -%}
    {%- for row in result.rows -%}
        {%- set ranges = [] -%}
        {%- for pair in (row['late_day_ranges'] or '').split(',') if pair -%}
            {%- set bounds = pair.split('/') -%}
            {%- do ranges.append((manifest_timestamp(bounds[0]), manifest_timestamp(bounds[1]))) -%}
        {%- endfor -%}
        {%- do windows.update({row['source_table']: {
            'is_built': row['is_built'],
            'last_loaded_at': manifest_timestamp(row['last_loaded_at'], "cast('1900-01-01' as timestamp)"),
            'newest_event_at': row['newest_event_at'],
            'window_start': manifest_timestamp(row['window_start']),
            'last_as_of': row['last_as_of'],
            'late_ranges': ranges,
            'has_late_null_day': row['has_late_null_day'],
            'added_files': (row['added_files'] or '').splitlines(),
            'moved_files': (row['moved_files'] or '').splitlines(),
            'is_file_reload': row['is_file_reload'],
            'is_upstream_reloaded': row['is_upstream_reloaded'],
        }}) -%}
    {%- endfor -%}
    {{ return(windows) }}
{% endmacro %}

{#- The manifest row of a model that loads at most one raw table (see load_windows). -#}
{% macro load_window(model_name) %}
    {%- set windows = load_windows(model_name) -%}
    {{ return((windows.values() | list)[0] if windows else {}) }}
{% endmacro %}
