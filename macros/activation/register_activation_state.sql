{#- Expose the sync state (`segmentation sync` writes one Parquet file per destination under
    SEGMENTATION_ACTIVATION_STATE_DIR, default data/activation/state) as the view
    activation_state.synced_members before models run (on-run-start); an empty, typed view
    before the first sync. Spark reads the folder only when the env var names it (it cannot
    test here whether a folder exists); otherwise it starts every destination from empty. -#}
{% macro register_activation_state() %}
    {%- if execute -%}
        {%- set node = (graph.sources.values() | selectattr('source_name', 'equalto', 'activation_state') | list)[0] -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- set select = adapter.dispatch('activation_state_select', 'customer_segmentation')(node) -%}
        {%- do run_query("create schema if not exists " ~ node.schema) -%}
        {%- do run_query("create or replace view " ~ relation ~ " as " ~ select) -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro activation_state_dir() -%}
    {{ return(env_var('SEGMENTATION_ACTIVATION_STATE_DIR', 'data/activation/state').rstrip('/')) }}
{%- endmacro %}

{% macro activation_state_empty_select(node) %}
    {{ return("select " ~ typed_null_columns(node) | join(', ') ~ " where false") }}
{% endmacro %}

{% macro default__activation_state_select(node) %}
    {{ return(activation_state_empty_select(node)) }}
{% endmacro %}

{% macro duckdb__activation_state_select(node) %}
    {%- set pattern = (activation_state_dir() ~ '/*.parquet') | replace("'", "''") -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {{ return(activation_state_empty_select(node)) }}
    {%- endif -%}
    {%- set files = "read_parquet('" ~ pattern ~ "', union_by_name = true)" -%}
    {#- a state file from before a merge field existed: the field is null there, so the
        fingerprint differs and the next sync updates those members once -#}
    {%- set present = run_query("describe select * from " ~ files).columns[0].values() | map('lower') | list -%}
    {{ return("select " ~ typed_null_columns(node, present) | join(', ') ~ " from " ~ files) }}
{% endmacro %}

{% macro spark__activation_state_select(node) %}
    {%- set folder = env_var('SEGMENTATION_ACTIVATION_STATE_DIR', '').rstrip('/') -%}
    {%- if not folder -%}
        {{ return(activation_state_empty_select(node)) }}
    {%- endif -%}
    {%- do run_query(
        "create or replace temporary view segmentation_state_listing using binaryFile options (path '"
        ~ folder | replace("'", "\\'") ~ "', pathGlobFilter '*.parquet')") -%}
    {%- if run_query("select count(*) from segmentation_state_listing").columns[0].values()[0] == 0 -%}
        {{ return(activation_state_empty_select(node)) }}
    {%- endif -%}
    {%- set columns = node.columns.keys() | join(', ') -%}
    {{ return("select " ~ columns ~ " from parquet.`" ~ folder ~ "/*.parquet`") }}
{% endmacro %}
