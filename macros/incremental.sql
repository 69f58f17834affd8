{#- Incremental event models (issue: scheduled refresh). The large event paths load only
    what arrived since their last run: rows whose load time (`received_at`) falls in a
    lookback window of `incremental_lookback_days` whole days before the newest load
    already built, plus the days `stg_raw__arrivals` saw grow beyond that window.
    Downstream models recompute only the visitors, people or keys those rows touch. -#}

{#- delete+insert where the engine has it; merge on Spark and Databricks (same unique keys). -#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{% macro databricks__incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- When this run started: stamped on every row an incremental model writes, so the next
    model down knows what changed since its own last run. -#}
{% macro loaded_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- One value from a query on an existing relation, at run time (none when parsing). -#}
{% macro scalar_query(sql) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(sql) -%}
    {%- if result is none or result.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(result.columns[0].values()[0]) }}
{% endmacro %}

{#- Start of the lookback window: midnight `incremental_lookback_days` days before the newest
    `column` value already in `relation`, as a SQL timestamp literal (null when empty). -#}
{% macro lookback_window_start(relation, column='received_at') %}
    {%- set lookback = var('incremental_lookback_days', 3) | int -%}
    {%- set value = scalar_query(
        "select cast(" ~ dbt.date_trunc('day', dbt.dateadd('day', -lookback, 'max(' ~ column ~ ')'))
        ~ " as varchar) from " ~ relation
    ) -%}
    {%- if value is none -%}
        {{ return('cast(null as timestamp)') }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "' as timestamp)") }}
{% endmacro %}

{#- The newest `loaded_at` in an incremental model, as a SQL literal: rows upstream loaded
    after it are the ones this run has to process. -#}
{% macro last_loaded_at(relation) %}
    {%- set value = scalar_query("select cast(max(loaded_at) as varchar) from " ~ relation) -%}
    {%- if value is none -%}
        {{ return("cast('1900-01-01' as timestamp)") }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "' as timestamp)") }}
{% endmacro %}

{#- An incremental event model holds only events up to the as_of it was built with; an
    earlier as_of would need them removed, which only a full rebuild does. -#}
{% macro assert_as_of_not_before_built_events(relation, column='occurred_at') %}
    {%- if execute -%}
        {%- set newest = scalar_query("select cast(max(" ~ column ~ ") as varchar) from " ~ relation) -%}
        {%- if newest is not none and (newest | string) > as_of_literal() -%}
            {{ exceptions.raise_compiler_error(
                relation.identifier ~ " already holds events up to " ~ newest ~ ", after as_of "
                ~ as_of_literal() ~ ". as_of may only move forward between incremental runs: "
                ~ "rebuild with `dbt build --full-refresh` for an earlier as_of (a backtest).") }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- The received days (as SQL date literals) in which `stg_raw__arrivals` saw rows
    arrive beyond the lookback window since `relation` last loaded: they are reloaded. -#}
{% macro late_arrival_days(relation, source_table) %}
    {%- set arrivals = ref('stg_raw__arrivals') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set result = run_query(
        "select distinct cast(received_date as varchar) from " ~ arrivals
        ~ " where source_table = '" ~ source_table ~ "' and is_beyond_window"
        ~ " and observed_at > " ~ last_loaded_at(relation)
    ) -%}
    {%- set days = [] -%}
    {%- for row in result.rows -%}
        {%- do days.append(row[0]) -%}
    {%- endfor -%}
    {{ return(days) }}
{% endmacro %}

{#- The filter an incremental staging model puts on its base rows: what arrived in the
    lookback window, the late days, and rows that were in the future of the last as_of. -#}
{% macro incremental_event_filter(relation, source_table, window_start) %}
    {%- set late_days = late_arrival_days(relation, source_table) -%}
    {#- literals, not subqueries: DuckDB pushes them into the Parquet scan, where a scalar
        subquery inside an OR became a nested-loop join (28 s instead of 4 s at 1M) -#}
    {%- set newest_event = scalar_query("select cast(max(occurred_at) as varchar) from " ~ relation) -%}
    (
        received_at >= {{ window_start }}
        {%- if newest_event is not none %}
        or occurred_at > cast('{{ newest_event }}' as timestamp)
        {%- endif %}
        {%- for day in late_days %}
            {%- if day is none %}
        or received_at is null
            {%- else %}
        or cast(received_at as date) = cast('{{ day }}' as date)
            {%- endif %}
        {%- endfor %}
    )
{% endmacro %}
