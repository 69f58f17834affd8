{#- Make every table of the `raw` source readable before models run (on-run-start).

    DuckDB: the raw tables are Parquet under SEGMENTATION_RAW_DIR (default data/raw),
    each either one file <dir>/<table>.parquet or a folder <dir>/<table>/ of Parquet
    files at any depth. A view per table in the source's schema points at whichever
    exists. A missing optional table becomes an empty view typed from the source
    yml; a missing required table stops the run with a message that says where it
    looked. Every file is checked first (check_raw_files): one that is not Parquet or lacks
    a contract column stops the run, naming it.

    Spark: the same layout under the same folder, read by an external Parquet table per
    raw table (raw.<table>__files, recursive for a folder) behind the view raw.<table>;
    SEGMENTATION_RAW_FORMAT=tables skips this when the `raw` schema already holds the tables
    (a cluster's own ingestion). Other engines: the sources are real tables already. -#}
{% macro register_raw_sources() %}
    {%- if execute -%}
        {{ return(adapter.dispatch('register_raw_sources', 'customer_segmentation')()) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro default__register_raw_sources() %}
    {{ return('') }}
{% endmacro %}

{% macro raw_dir() -%}
    {{ return(env_var('SEGMENTATION_RAW_DIR', 'data/raw').rstrip('/')) }}
{%- endmacro %}

{% macro duckdb__register_raw_sources() %}
    {%- do check_raw_tables_listed() -%}
    {%- set raw_directory = raw_dir() -%}
    {%- set statements = [] -%}
    {%- set raw_sources = graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | list -%}
    {#- said first: a file whose Parquet footer does not read fails with DuckDB's own message -#}
    {{ log("Checking the raw Parquet files under " ~ raw_directory ~ " (a file that is not Parquet stops the run)", info=true) }}
    {%- for node in raw_sources -%}
        {%- set pattern = raw_table_pattern(node.name) -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- if pattern is not none -%}
            {%- do check_raw_files(node.name, pattern) -%}
            {#- tables loaded by file say which file each row came from -#}
            {%- set file_column = ", filename = 'source_file'" if node.name in file_incremental_tables() else "" -%}
            {%- do statements.append(
                "create or replace view " ~ relation ~ " as select * from read_parquet('"
                ~ pattern | replace("'", "''") ~ "', union_by_name = true, hive_partitioning = false"
                ~ file_column ~ ")"
            ) -%}
        {%- else -%}
            {%- do statements.append(
                "create or replace view " ~ relation ~ " as " ~ raw_missing_table_select(node)
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if raw_sources | length > 0 -%}
        {%- do run_query("create schema if not exists " ~ raw_sources[0].schema) -%}
    {%- endif -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{#- The Parquet glob of raw table `table_name` on DuckDB: the file <dir>/<table>.parquet or
    every Parquet file under the folder <dir>/<table>/; none when neither exists, and on
    engines that list files otherwise (Spark: spark__register_raw_sources). -#}
{% macro raw_table_pattern(table_name) %}
    {{ return(adapter.dispatch('raw_table_pattern', 'customer_segmentation')(table_name)) }}
{% endmacro %}

{#- Whether the engine lists the raw files of a table (the file ledger, source_file): DuckDB
    with read_blob and read_parquet's filename; elsewhere the tables loaded by file reload
    every run. -#}
{% macro lists_raw_files() %}
    {{ return(adapter.dispatch('lists_raw_files', 'customer_segmentation')()) }}
{% endmacro %}

{% macro default__lists_raw_files() %}
    {{ return(false) }}
{% endmacro %}

{% macro duckdb__lists_raw_files() %}
    {{ return(true) }}
{% endmacro %}

{% macro default__raw_table_pattern(table_name) %}
    {{ return(none) }}
{% endmacro %}

{% macro duckdb__raw_table_pattern(table_name) %}
    {%- set raw_directory = raw_dir() -%}
    {%- set file_pattern = raw_directory ~ '/' ~ table_name ~ '.parquet' -%}
    {%- set folder_pattern = raw_directory ~ '/' ~ table_name ~ '/**/*.parquet' -%}
    {%- set found = run_query(
        "select (select count(*) from glob('" ~ file_pattern | replace("'", "''") ~ "')) as n_file, "
        ~ "(select count(*) from glob('" ~ folder_pattern | replace("'", "''") ~ "')) as n_folder"
    ) -%}
    {%- set n_file = found.columns[0].values()[0] -%}
    {%- set n_folder = found.columns[1].values()[0] -%}
    {%- if n_file > 0 and n_folder > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Raw table '" ~ table_name ~ "' is both a file (" ~ file_pattern ~ ") and a folder ("
            ~ raw_directory ~ "/" ~ table_name ~ "/): keep one of them.") }}
    {%- endif -%}
    {{ return(file_pattern if n_file > 0 else folder_pattern if n_folder > 0 else none) }}
{% endmacro %}

{#- Stop the run, naming the file, when a raw file of `table_name` (glob `pattern`) is not
    Parquet or lacks a column of the contract; log the columns the contract does not know
    (they stay in raw_record, nothing reads them). Reads only file sizes and Parquet
    footers. A file whose footer does not read (a CSV, a truncated file) fails inside
    parquet_schema with DuckDB's message, which names the file (Jinja cannot catch it). -#}
{% macro check_raw_files(table_name, pattern) %}
    {%- set glob_literal = "'" ~ pattern | replace("'", "''") ~ "'" -%}
    {%- set hint = " Replace or remove the file (every file under the table's path is read as Parquet)." -%}
    {#- a Parquet file holds at least its two 4-byte magic numbers and a footer length -#}
    {%- set small = run_query("select filename, size from read_blob(" ~ glob_literal ~ ") where size < 12 order by filename") -%}
    {%- for row in small.rows -%}
        {{ exceptions.raise_compiler_error(
            "Raw table '" ~ table_name ~ "': file " ~ row[0] ~ " has " ~ row[1]
            ~ " bytes, too small to be a Parquet file (empty or truncated)." ~ hint) }}
    {%- endfor -%}
    {%- set schema = run_query(
        "select file_name, string_agg(lower(name), chr(31) order by name) filter (where type is not null) "
        ~ "from parquet_schema(" ~ glob_literal ~ ") group by file_name order by file_name"
    ) -%}
    {%- set contract = raw_contract(table_name) -%}
    {%- set contract_columns = contract.columns.keys() | list -%}
    {%- set extra = [] -%}
    {%- for file_name, joined_names in schema.rows -%}
        {%- set names = (joined_names or '').split('\x1f') -%}
        {%- set missing = contract_columns | reject('in', names) | reject('in', contract.optional) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ table_name ~ "': file " ~ file_name ~ " has no column "
                ~ missing | join(', ') ~ " (the contract's columns: " ~ contract_columns | join(', ')
                ~ "; models/staging/raw/_raw__sources.yml)." ~ hint) }}
        {%- endif -%}
        {%- for name in names if name not in contract_columns and name not in extra -%}
            {%- do extra.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if extra -%}
        {{ log("raw." ~ table_name ~ ": column(s) " ~ extra | join(', ')
            ~ " not in the contract: kept in raw_record, not read", info=true) }}
    {%- endif -%}
{% endmacro %}

{#- The empty, typed select standing in for raw table `node` when it has no data; a
    required table stops the run instead, saying where it looked. -#}
{#- "cast(null as <type>) as <column>" for each column of a source table (its yml types). -#}
{#- Every column of the source `node` as a typed null; with `present`, the columns named
    there as themselves (a file written before a column was added to the contract). -#}
{% macro typed_null_columns(node, present=none) %}
    {%- set typed_nulls = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if present is not none and column.name | lower in present -%}
            {%- do typed_nulls.append(column.name) -%}
        {%- else -%}
            {%- do typed_nulls.append("cast(null as " ~ column.data_type ~ ") as " ~ column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(typed_nulls) }}
{% endmacro %}

{% macro raw_missing_table_select(node) %}
    {%- set raw_directory = raw_dir() -%}
    {%- if raw_contract(node.name).required -%}
        {{ exceptions.raise_compiler_error(
            "Raw table '" ~ node.name ~ "' is required but not found: expected "
            ~ raw_directory ~ "/" ~ node.name ~ ".parquet or a folder "
            ~ raw_directory ~ "/" ~ node.name ~ "/ of Parquet files. "
            ~ "Set SEGMENTATION_RAW_DIR to your raw directory, or run `segmentation generate` for demo data.") }}
    {%- endif -%}
    {%- set typed_nulls = typed_null_columns(node) -%}
    {%- if node.name in file_incremental_tables() and lists_raw_files() -%}
        {%- do typed_nulls.append("cast(null as string) as source_file") -%}
    {%- endif -%}
    {{ log("raw." ~ node.name ~ ": no data under " ~ raw_directory ~ ", using an empty table", info=true) }}
    {{ return("select " ~ typed_nulls | join(', ') ~ " where false") }}
{% endmacro %}

{#- Spark: every Parquet file under the raw folder (path relative to it, size), listed once
    through the binaryFile source, which reads no content when none is selected. -#}
{% macro spark__raw_parquet_files() %}
    {%- set raw_directory = raw_dir() -%}
    {%- do run_query(
        "create or replace temporary view segmentation_raw_listing using binaryFile options (path '"
        ~ raw_directory | replace("'", "\\'") ~ "', recursiveFileLookup 'true', pathGlobFilter '*.parquet')") -%}
    {%- set listed = run_query("select path, length from segmentation_raw_listing order by path") -%}
    {%- set files = [] -%}
    {%- set marker = '/' ~ raw_directory.split('/') | last ~ '/' -%}
    {%- for path, length in listed.rows -%}
        {%- do files.append({'path': path, 'relative': path[path.rindex(marker) + marker | length:], 'size': length}) -%}
    {%- endfor -%}
    {{ return(files) }}
{% endmacro %}

{% macro spark__register_raw_sources() %}
    {%- if env_var('SEGMENTATION_RAW_FORMAT', 'parquet') == 'tables' -%}
        {{ return('') }}
    {%- endif -%}
    {%- do check_raw_tables_listed() -%}
    {%- set raw_directory = raw_dir() -%}
    {%- set raw_sources = graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | list -%}
    {{ log("Registering the raw Parquet files under " ~ raw_directory ~ " (Spark)", info=true) }}
    {%- set files = spark__raw_parquet_files() -%}
    {%- do run_query("create schema if not exists " ~ raw_sources[0].schema) -%}
    {%- for node in raw_sources -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- set file_name = node.name ~ '.parquet' -%}
        {%- set in_file = files | selectattr('relative', 'equalto', file_name) | list -%}
        {%- set in_folder = [] -%}
        {%- for file in files if file.relative.startswith(node.name ~ '/') -%}
            {%- do in_folder.append(file) -%}
        {%- endfor -%}
        {%- if in_file and in_folder -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ node.name ~ "' is both a file (" ~ raw_directory ~ "/" ~ file_name
                ~ ") and a folder (" ~ raw_directory ~ "/" ~ node.name ~ "/): keep one of them.") }}
        {%- endif -%}
        {%- for file in in_file + in_folder if file.size < 12 -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ node.name ~ "': file " ~ file.path ~ " has " ~ file.size
                ~ " bytes, too small to be a Parquet file (empty or truncated). Replace or remove the file.") }}
        {%- endfor -%}
        {%- set file_table = node.schema ~ '.' ~ node.identifier ~ '__files' -%}
        {%- do run_query("drop table if exists " ~ file_table) -%}
        {%- if in_file or in_folder -%}
            {%- set path = raw_directory ~ '/' ~ (file_name if in_file else node.name) -%}
            {%- do run_query(
                "create table " ~ file_table ~ " using parquet options (path '" ~ path | replace("'", "\\'")
                ~ "', recursiveFileLookup 'true', mergeSchema 'true')") -%}
            {%- do spark__check_raw_columns(node, file_table) -%}
            {%- do run_query("create or replace view " ~ relation ~ " as select * from " ~ file_table) -%}
        {%- else -%}
            {%- do run_query("create or replace view " ~ relation ~ " as " ~ raw_missing_table_select(node)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{#- Spark reads a folder's files under one merged schema, so a contract column missing from
    every file stops the run, naming the table (DuckDB names the file: check_raw_files). -#}
{% macro spark__check_raw_columns(node, file_table) %}
    {%- set found = run_query("select * from " ~ file_table ~ " limit 0").column_names | map('lower') | list -%}
    {%- set contract_columns = raw_contract(node.name).columns.keys() | list -%}
    {%- set missing = contract_columns | reject('in', found) | list -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            "Raw table '" ~ node.name ~ "': its files under " ~ raw_dir() ~ " have no column "
            ~ missing | join(', ') ~ " (the contract's columns: " ~ contract_columns | join(', ')
            ~ "; models/staging/raw/_raw__sources.yml).") }}
    {%- endif -%}
{% endmacro %}
