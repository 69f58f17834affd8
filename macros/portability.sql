{#- Engine-specific SQL lives here so the models stay portable (docs/architecture.md). -#}

{#- The whole input row as a JSON string, kept with quarantined rows so nothing
    the user gave is lost. `relation_alias` is the CTE or table alias. -#}
{% macro row_as_json(relation_alias) -%}
    {{ return(adapter.dispatch('row_as_json', 'customer_segmentation')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_as_json(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as string)
{%- endmacro %}

{% macro spark__row_as_json(relation_alias) -%}
    {#- a null is content too: Spark's to_json leaves null fields out by default -#}
    to_json(struct({{ relation_alias }}.*), map('ignoreNullFields', 'false'))
{%- endmacro %}

{#- The raw file a row of a table loaded by file came from: DuckDB's read_parquet names it
    (macro register_raw_sources); where the sources are tables there is none, and those
    tables reload every run (macros/incremental_files.sql). -#}
{% macro raw_source_file(relation_alias) -%}
    {{ return(adapter.dispatch('raw_source_file', 'customer_segmentation')(relation_alias)) }}
{%- endmacro %}

{% macro default__raw_source_file(relation_alias) -%}
    cast(null as string)
{%- endmacro %}

{% macro duckdb__raw_source_file(relation_alias) -%}
    {{ relation_alias }}.source_file
{%- endmacro %}

{#- Format a timestamp as ISO text 'YYYY-MM-DDTHH:MM:SS' (used in record keys). -#}
{% macro timestamp_to_iso(expression) -%}
    {{ return(adapter.dispatch('timestamp_to_iso', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__timestamp_to_iso(expression) -%}
    strftime({{ expression }}, '%Y-%m-%dT%H:%M:%S')
{%- endmacro %}

{% macro spark__timestamp_to_iso(expression) -%}
    date_format({{ expression }}, "yyyy-MM-dd'T'HH:mm:ss")
{%- endmacro %}

{#- String similarity in [0, 1] for fuzzy identity matching. -#}
{% macro string_similarity(left, right) -%}
    {{ return(adapter.dispatch('string_similarity', 'customer_segmentation')(left, right)) }}
{%- endmacro %}

{% macro default__string_similarity(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}

{% macro spark__string_similarity(left, right) -%}
    (1.0 - levenshtein({{ left }}, {{ right }}) / greatest(length({{ left }}), length({{ right }}), 1))
{%- endmacro %}

{#- Seconds since the epoch as a number, for range windows over event time. -#}
{% macro epoch_seconds(expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__epoch_seconds(expression) -%}
    epoch({{ expression }})
{%- endmacro %}

{% macro spark__epoch_seconds(expression) -%}
    {#- unix_timestamp drops the fraction of a second; DuckDB's epoch keeps it -#}
    (unix_micros(cast({{ expression }} as timestamp)) / 1000000.0)
{%- endmacro %}

{#- Days between two timestamps as a fraction (decay needs more than whole days). -#}
{% macro fractional_days_between(earlier, later) -%}
    (({{ epoch_seconds(later) }} - {{ epoch_seconds(earlier) }}) / 86400.0)
{%- endmacro %}

{#- The first non-null value of a window frame. -#}
{% macro first_value_ignore_nulls(expression) -%}
    {{ return(adapter.dispatch('first_value_ignore_nulls', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__first_value_ignore_nulls(expression) -%}
    first_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__first_value_ignore_nulls(expression) -%}
    first_value({{ expression }}, true)
{%- endmacro %}

{% macro last_value_ignore_nulls(expression) -%}
    {{ return(adapter.dispatch('last_value_ignore_nulls', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__last_value_ignore_nulls(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__last_value_ignore_nulls(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}

{#- Whole days between two dates (end - start). -#}
{% macro days_between_dates(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between_dates', 'customer_segmentation')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between_dates(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__days_between_dates(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- A 64-bit hash of several columns (nulls included), to tell row versions apart cheaply. -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'customer_segmentation')(columns)) }}
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- `expression` cast to `data_type`, null when the value does not convert (raw columns
    whose file type differs from the contract: macro raw_cast). Timestamps become UTC:
    text with an offset and TIMESTAMP WITH TIME ZONE columns are converted, text without
    one is read as UTC (the session's TimeZone, profiles.yml). -#}
{% macro try_cast_to(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast_to', 'customer_segmentation')(expression, data_type)) }}
{%- endmacro %}

{% macro default__try_cast_to(expression, data_type) -%}
    {%- if data_type | lower == 'timestamp' -%}
        timezone('UTC', try_cast({{ expression }} as timestamptz))
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__try_cast_to(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#- `value` as a SQL string literal: DuckDB doubles a quote, Spark escapes it (and the
    backslash) with a backslash. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'customer_segmentation')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_string(value) -%}
    '{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- Whether this build holds the cluster segments: the var enable_clustering, on an engine
    whose dbt adapter runs the Python models (dbt-spark does only on Databricks). -#}
{% macro clustering_enabled() -%}
    {{ return(var('enable_clustering') and runs_python_models()) }}
{%- endmacro %}

{% macro runs_python_models() -%}
    {{ return(adapter.dispatch('runs_python_models', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__runs_python_models() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__runs_python_models() -%}
    {{ return(false) }}
{%- endmacro %}

{#- Whether `relation` exists now. dbt's relation cache can miss a table this run has just
    re-created on Spark (a seed is dropped and created again), so Spark asks the catalog. -#}
{% macro relation_exists(relation) -%}
    {{ return(adapter.dispatch('relation_exists', 'customer_segmentation')(relation)) }}
{%- endmacro %}

{% macro default__relation_exists(relation) -%}
    {{ return(load_relation(relation) is not none) }}
{%- endmacro %}

{% macro spark__relation_exists(relation) -%}
    {%- set found = run_query("show tables in " ~ relation.schema ~ " like '" ~ relation.identifier ~ "'") -%}
    {{ return(found.rows | length > 0) }}
{%- endmacro %}

{#- `amount` (money, two decimals) divided by the whole number `divisor`, rounded half away
    from zero to the cent, in exact integer arithmetic: DuckDB divides decimals as doubles,
    so 1119.37 / 2 became 559.68 there and 559.69 on Spark. -#}
{% macro money_divided(amount, divisor) -%}
    {%- set cents = 'cast(round(' ~ amount ~ ' * 100) as bigint)' -%}
    cast(
        cast(
            sign({{ cents }}) * {{ integer_divide('2 * abs(' ~ cents ~ ') + ' ~ divisor, '2 * ' ~ divisor) }}
            as decimal(18, 0)
        ) * cast(0.01 as decimal(3, 2))
        as decimal(18, 2)
    )
{%- endmacro %}

{#- Integer division of two whole numbers, rounded toward zero. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'customer_segmentation')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) div ({{ divisor }}))
{%- endmacro %}

{#- The texts `expression` of a group joined by `delimiter` (a SQL literal) in their sort
    order. dbt-spark's listagg ignores an order by (collect_list keeps no order). -#}
{% macro sorted_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'customer_segmentation')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, delimiter) -%}
    {{ dbt.listagg(expression, delimiter, 'order by ' ~ expression) }}
{%- endmacro %}

{% macro spark__sorted_string_agg(expression, delimiter) -%}
    {#- null, not '', when every value is null (as string_agg) -#}
    case when count({{ expression }}) > 0
        then array_join(array_sort(collect_list({{ expression }})), {{ delimiter }})
    end
{%- endmacro %}

{#- The bucket (0 to buckets - 1) of the text `expression` under `salt` (a SQL literal): the
    first 32 bits of md5(salt || ':' || expression), the same number on every engine and
    machine and in Python (int(md5(...).hexdigest()[:8], 16) % buckets). -#}
{% macro hash_bucket(expression, salt, buckets=10000) -%}
    cast({{ adapter.dispatch('hex_prefix_to_bigint', 'customer_segmentation')('md5(' ~ salt ~ " || ':' || " ~ expression ~ ')') }} % {{ buckets }} as integer)
{%- endmacro %}

{% macro default__hex_prefix_to_bigint(hex_text) -%}
    cast('0x' || substr({{ hex_text }}, 1, 8) as bigint)
{%- endmacro %}

{% macro spark__hex_prefix_to_bigint(hex_text) -%}
    cast(conv(substr({{ hex_text }}, 1, 8), 16, 10) as bigint)
{%- endmacro %}

{#- Whether the text `expression` matches the regular expression `pattern` (a SQL literal;
    keep it free of backslashes, whose escaping differs between engines). -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'customer_segmentation')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regex_matches(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}
