{#- Incremental event models (issue: scheduled refresh). The large event paths load only
    what arrived since their last run: rows whose load time (`received_at`) falls in a
    lookback window of `incremental_lookback_days` whole days before the newest load
    already built, plus the days `audit_raw_arrivals` saw grow beyond that window.
    Downstream models recompute only the visitors, people or keys those rows touch.
    What a run loads (window start, newest event built, late days, last as_of, loaded_at) is
    computed once by audit_load_manifest; the macros here turn a model's manifest row
    (load_window, macros/load_manifest.sql) into predicates and never query a table. -#}

{#- delete+insert where the engine has it. Spark without a table format (Delta, Iceberg)
    has neither row deletes nor merge: its strategy is insert_overwrite and the models that
    replace rows rebuild whole every run (rebuild_every_run), see docs/spark.md. -#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro databricks__incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- The `full_refresh` config of an incremental model that replaces or deletes rows: true
    where the engine cannot delete rows (Spark on plain Parquet), so every run rebuilds it and
    its delete hooks never run; none elsewhere (the --full-refresh flag decides). Append-only
    ledgers and histories stay incremental everywhere. -#}
{% macro rebuild_every_run() -%}
    {{ return(adapter.dispatch('rebuild_every_run', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__rebuild_every_run() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__rebuild_every_run() -%}
    {{ return(true) }}
{%- endmacro %}

{#- When this run started: stamped on every row an incremental model writes, so the next
    model down knows what changed since its own last run. -#}
{% macro loaded_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- An incremental event model holds only events up to the as_of it was built with; an
    earlier as_of would need them removed, which only a full rebuild does. `newest` is the
    newest occurred_at already built (text, or none when empty). -#}
{% macro assert_as_of_not_before_built_events(relation, newest) %}
    {%- if newest is not none and (newest | string) > as_of_literal() -%}
        {{ exceptions.raise_compiler_error(
            relation.identifier ~ " already holds events up to " ~ newest ~ ", after as_of "
            ~ as_of_literal() ~ ". as_of may only move forward between incremental runs: "
            ~ "rebuild with `dbt build --full-refresh` for an earlier as_of (a backtest).") }}
    {%- endif -%}
{% endmacro %}

{#- The rows an incremental staging model reads from its base view, from its manifest row
    `window` (load_window): what arrived in the lookback window, rows that were in the future
    of the last as_of, and the late days, as disjoint predicates, each on as few columns as it
    can. The model reads one branch per predicate (union all): a predicate on one column goes
    down into the scan, so DuckDB reads the other columns only for the rows it keeps; the same
    filter as one OR over two columns was applied after a full scan (1.5 s against 0.35 s on
    the raw web events at 1M). Literals, not subqueries, for the same reason. An empty table
    reads everything. -#}
{% macro incremental_event_branches(window) %}
    {%- if window.newest_event_at is none -%}
        {{ return(['true']) }}
    {%- endif -%}
    {%- set window_start = window.window_start -%}
    {%- set newest = manifest_timestamp(window.newest_event_at) -%}
    {%- set not_future = ' and (occurred_at <= ' ~ newest ~ ' or occurred_at is null)' -%}
    {%- set branches = [
        'received_at >= ' ~ window_start,
        'occurred_at > ' ~ newest ~ ' and (received_at < ' ~ window_start ~ ' or received_at is null)',
    ] -%}
    {%- if window.has_late_null_day -%}
        {%- do branches.append('received_at is null' ~ not_future) -%}
    {%- endif -%}
    {%- for day_start, day_end in window.late_ranges -%}
        {%- do branches.append(
            'received_at >= ' ~ day_start ~ ' and received_at < ' ~ day_end
            ~ ' and received_at < ' ~ window_start ~ not_future
        ) -%}
    {%- endfor -%}
    {{ return(branches) }}
{% endmacro %}

{#- The body of an incremental staging model of events (stg_raw__web_events,
    stg_raw__email_events): the rows of `base_model` in the load window, the latest version
    of each event_id winning by received_at then `tie_breaks`, and only versions that are not
    loaded already. `columns` are the output columns, event_id first. -#}
{% macro deduplicated_event_versions(base_model, columns, tie_breaks) %}
    {%- if 'received_at' not in columns or 'occurred_at' not in columns -%}
        {#- the version hash must cover the columns the load filter reads (see current_rows) -#}
        {{ exceptions.raise_compiler_error("deduplicated_event_versions needs received_at and occurred_at in columns") }}
    {%- endif %}
    {%- set branches = ['true'] %}
    {%- if is_incremental() %}
        {%- set window = load_window(this.identifier) %}
        {%- do assert_as_of_not_before_built_events(this, window.newest_event_at) %}
        {%- set window_start = window.window_start %}
        {%- set branches = incremental_event_branches(window) %}
    {%- endif %}

with

valid_rows as (

    {{ union_of_branches(ref(base_model), columns, branches, 'reject_reason is null') }}

),
{%- if is_incremental() %}

    loaded_in_window as (

        -- the loaded versions a winner can equal: the hash covers received_at and
        -- occurred_at, so an equal version passes the same branches
        {{ union_of_branches(this, ['event_id', 'version_hash'], branches) }}

    ),

    candidates as (

        select
            {{ columns | join(',\n            ') }},
            false as is_loaded
        from valid_rows

        union all

        -- a row received in the window beats any version loaded before the window (and
        -- one loaded from the window is reloaded itself); only rows reloaded from before
        -- the window (late days, events no longer in the future) meet their loaded version
        select
            {{ columns | join(',\n            ') }},
            true as is_loaded
        from {{ this }}
        where event_id in (
            select valid_rows.event_id from valid_rows
            where valid_rows.received_at < {{ window_start }} or valid_rows.received_at is null
        )

    ),
{%- else %}
    {#- each read of the base model is its own CTE: DuckDB materializes a CTE read twice #}
    {%- set key_hash = row_hash(['event_id']) %}
    {%- set repeated = key_hash ~ ' in (select repeated_keys.key_hash from repeated_keys)' %}

    repeated_keys as (

        -- a full build sorts only the events delivered more than once (about 1 %): ranking
        -- every row took two thirds of the model's time. A hash collision merely sends a
        -- single event through the ranking too
        select {{ key_hash }} as key_hash
        from valid_rows
        group by {{ key_hash }}
        having count(*) > 1

    ),

    single_rows as (

        select {{ columns | join(', ') }}
        from {{ ref(base_model) }}
        where reject_reason is null and not {{ repeated }}

    ),

    candidates as (

        select
            {{ columns | join(',\n            ') }},
            false as is_loaded
        from {{ ref(base_model) }}
        where reject_reason is null and {{ repeated }}

    ),
{%- endif %}

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in audit_raw_rows
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at desc nulls last, {{ tie_breaks }}, is_loaded desc
        ) as version_rank
    from candidates

),

winners as (
    {%- if not is_incremental() %}

        select
            {{ columns | join(',\n            ') }},
            {{ row_hash(columns) }} as version_hash
        from single_rows

        union all
    {%- endif %}

    select
        {{ columns | join(',\n        ') }},
        {{ row_hash(columns) }} as version_hash
    from ranked
    where version_rank = 1 and not is_loaded

),

current_rows as (

    select
        {{ columns | join(',\n        ') }},
        version_hash,
        {{ loaded_at() }} as loaded_at
    from winners
    {%- if is_incremental() %}
        -- a version already loaded as it is stays (downstream recomputes only real changes)
        where not exists (
            select 1 from loaded_in_window
            where
                loaded_in_window.event_id = winners.event_id
                and loaded_in_window.version_hash = winners.version_hash
        )
    {%- endif %}

)

select * from current_rows
{%- endmacro %}

{#- The var `tested_through` (set by the scheduled refresh) as a timestamp literal; a value
    that is not a timestamp stops the run with the var named. -#}
{% macro tested_through_literal() -%}
    {%- set value = var('tested_through') | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var tested_through must be a timestamp like 2026-11-20 12:00:00, got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    cast('{{ value }}' as timestamp)
{%- endmacro %}

{#- For the uniqueness tests in a refresh: the row of `alias` shares its `columns` with a
    row of `model` written since the published state passed (`loaded_at` after the var
    `tested_through`). A new duplicate always involves such a row. -#}
{% macro shares_key_with_new_rows(model, columns, alias) %}
    exists (
        select 1 from {{ model }} as new_rows
        where new_rows.loaded_at > {{ tested_through_literal() }}
        {%- for column in columns %}
            and new_rows.{{ column }} = {{ alias }}.{{ column }}
        {%- endfor %}
    )
{%- endmacro %}

{#- Which rejected rows of `table_name` audit_rejected_rows checks again in an incremental
    run, from its manifest row `window` (load_windows('audit_rejected_rows')), as disjoint
    predicates on received_at / occurred_at (columns of both the base views and the table; the
    model reads one branch per predicate, see incremental_event_branches).
    Event tables: rows of every received day whose raw count the load ledger saw change since
    the last run (new and late rows), null received_at, and rows in the future of the last
    run's as_of but not of this one's (a row still in the future keeps its verdict). Tables
    loaded by file (source_file): rows of the files added since the last run, and for those
    with an event_time in the contract (orders: ordered_at) also rows no longer in the future;
    all rows after a file was replaced or removed. Other tables: all rows. Literals only,
    computed from the state before the run, so the pre-hook deletes exactly what the model
    inserts again. -#}
{% macro rejected_rows_recheck(table_name, window) %}
    {%- set loaded_by_file = table_name in file_incremental_tables() -%}
    {%- if not (table_name in incremental_event_tables() or loaded_by_file) or not execute -%}
        {{ return(['true']) }}
    {%- endif -%}
    {%- if window.last_as_of is none -%}
        {{ return(['true']) }}
    {%- endif -%}
    {%- set came_out_of_future = "occurred_at > " ~ manifest_timestamp(window.last_as_of) ~ " and occurred_at <= " ~ as_of() -%}
    {%- if loaded_by_file -%}
        {%- if window.is_file_reload -%}
            {{ return(['true']) }}
        {%- endif -%}
        {#- a moved file is checked again under its new path; its rows under the old one
            go (the base view has none there any more, the pre-hook deletes them) -#}
        {%- set branches = [] -%}
        {%- set files = window.added_files + window.moved_files -%}
        {%- set added_list = "('" ~ files | map('replace', "'", "''") | join("', '") ~ "')" -%}
        {%- if files -%}
            {%- do branches.append('source_file in ' ~ added_list) -%}
        {%- endif -%}
        {%- if raw_contract(table_name).event_time -%}
            {%- do branches.append(
                came_out_of_future ~ (' and source_file not in ' ~ added_list if files else '')
            ) -%}
        {%- endif -%}
        {{ return(branches or ['false']) }}
    {%- endif -%}
    {%- set not_out_of_future = " and not coalesce(" ~ came_out_of_future ~ ", false)" -%}
    {%- set branches = [came_out_of_future, "received_at is null" ~ not_out_of_future] -%}
    {%- for day_start, day_end in window.late_ranges -%}
        {%- do branches.append(
            "received_at >= " ~ day_start ~ " and received_at < " ~ day_end ~ not_out_of_future
        ) -%}
    {%- endfor -%}
    {{ return(branches) }}
{% endmacro %}

{#- audit_rejected_rows' pre-hook: remove the rows the run checks again. -#}
{% macro rejected_rows_delete_rechecked() %}
    {%- set windows = load_windows(this.identifier) -%}
    {%- set clauses = [] -%}
    {%- for table_name in raw_tables() -%}
        {%- do clauses.append(
            "(source_table = '" ~ table_name ~ "' and (("
            ~ rejected_rows_recheck(table_name, windows[table_name]) | join(') or (') ~ ")))"
        ) -%}
    {%- endfor -%}
    delete from {{ this }} where {{ clauses | join(' or ') }}
{% endmacro %}

{#- The rows of `relation` (its `columns`) that pass one of `branches`, disjoint predicates
    (incremental_event_branches, file_loaded_versions), and `condition` if given: one select per
    branch under union all, so that each predicate goes down into its own scan. -#}
{% macro union_of_branches(relation, columns, branches, condition=none) -%}
    {%- for branch in branches %}
        select {{ columns | join(', ') }}
        from {{ relation }}
        where {% if condition %}{{ condition }} and {% endif %}({{ branch }})
        {%- if not loop.last %}

        union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
