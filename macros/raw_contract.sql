{#- The raw data contract, read from the one place that defines it: the `raw` source in
    models/staging/raw/_raw__sources.yml (its meta; the field list is at the top of that
    file). Every model and macro that needs to know how a raw table loads asks here. -#}

{#- The tables of the raw contract, each with a base_raw__ and a stg_raw__ model (the
    quarantine and the row audit union over them). A literal list because dbt resolves ref()
    while parsing, before the sources are readable; every run checks it against the
    sources (check_raw_tables_listed), so adding a source without listing it here fails. -#}
{% macro raw_tables() -%}
    {{ return([
        'customers', 'products', 'orders', 'order_items',
        'web_events', 'email_events', 'email_campaigns', 'consents',
    ]) }}
{%- endmacro %}

{#- The source nodes of the `raw` source (empty while parsing). -#}
{% macro raw_source_nodes() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return((graph.get('sources') or {}).values() | selectattr('source_name', 'equalto', 'raw') | list) }}
{% endmacro %}

{#- What the contract says of `table_name`: {required, incremental (by_file, by_received_at
    or none), event_time (a column or none), channel (the feature channel it feeds, or none),
    loaded_at_field (or none), columns: {name: data_type}, accepted_values: {column:
    [values]}, optional: [columns a file may lack: they read as null]}. While parsing (the sources are not readable yet) every field is empty. -#}
{% macro raw_contract(table_name) %}
    {%- set contract = {
        'required': false, 'incremental': 'none', 'event_time': none, 'channel': none,
        'loaded_at_field': none, 'columns': {}, 'accepted_values': {}, 'optional': [],
    } -%}
    {%- for node in raw_source_nodes() if node.name == table_name -%}
        {%- set meta = node.config.get('meta', {}) or node.meta or {} -%}
        {%- do contract.update({
            'required': meta.get('required', false),
            'incremental': meta.get('incremental', 'none'),
            'event_time': meta.get('event_time'),
            'channel': meta.get('channel'),
            'loaded_at_field': node.loaded_at_field,
        }) -%}
        {%- for column in node.columns.values() -%}
            {%- do contract.columns.update({column.name: column.data_type}) -%}
            {%- set column_meta = (column.config.get('meta', {}) if column.config else {}) or column.meta or {} -%}
            {%- if column_meta.get('optional') -%}
                {%- do contract.optional.append(column.name) -%}
            {%- endif -%}
            {%- if column_meta.get('accepted_values') -%}
                {%- do contract.accepted_values.update({column.name: column_meta.accepted_values}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(contract) }}
{% endmacro %}

{#- The raw tables whose contract says `incremental: <mode>`. -#}
{% macro raw_tables_loaded(mode) -%}
    {%- set tables = [] -%}
    {%- for table_name in raw_tables() if raw_contract(table_name).incremental == mode -%}
        {%- do tables.append(table_name) -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}

{#- The raw tables loaded incrementally by file (incremental: by_file): tables with no column
    that says when a row arrived; their staging models read the rows of the files
    audit_raw_files saw appear since their last run (macros/incremental_files.sql). -#}
{% macro file_incremental_tables() -%}
    {{ return(raw_tables_loaded('by_file')) }}
{%- endmacro %}

{#- The raw tables loaded incrementally by `received_at` (incremental: by_received_at, the
    large event tables): their staging models, late-arrival check and quarantine work by
    load window. -#}
{% macro incremental_event_tables() -%}
    {{ return(raw_tables_loaded('by_received_at')) }}
{%- endmacro %}

{#- The accepted values of a contract column as a SQL list body: 'a', 'b'. -#}
{% macro raw_accepted_values(table_name, column_name) -%}
    {%- set values = raw_contract(table_name).accepted_values.get(column_name) -%}
    {%- if execute and not values -%}
        {{ exceptions.raise_compiler_error(
            "raw." ~ table_name ~ "." ~ column_name ~ " has no meta.accepted_values in "
            ~ "models/staging/raw/_raw__sources.yml") }}
    {%- endif -%}
    {%- for value in values or [''] -%}
        {{ sql_string(value) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- Stop the run when raw_tables() and the `raw` source disagree. -#}
{% macro check_raw_tables_listed() %}
    {%- set declared = raw_source_nodes() | map(attribute='name') | sort | list -%}
    {%- set listed = raw_tables() | sort | list -%}
    {%- if execute and declared != listed -%}
        {{ exceptions.raise_compiler_error(
            "The raw source declares the tables " ~ declared ~ " but macros/raw_contract.sql "
            ~ "raw_tables() lists " ~ listed ~ ": add the table to both (a raw table also "
            ~ "needs a base_raw__ and a stg_raw__ model).") }}
    {%- endif -%}
{% endmacro %}

{#- Typing a raw table against the contract (the base models, docs/bad_input.md). A raw
    file may carry a column in another type than the contract's (a timestamp as text,
    a quantity as float): {table, contract: {column: contract type}, file_types: {column:
    engine type of the registered raw view}} (file_types empty while parsing). -#}
{% macro raw_typing(table_name) %}
    {%- set file_types = {} -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(source('raw', table_name)) -%}
            {%- do file_types.update({column.name | lower: column.dtype | upper | replace(' ', '')}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'table': table_name, 'contract': raw_contract(table_name).columns, 'file_types': file_types}) }}
{% endmacro %}

{#- True when column `column_name` needs no conversion check: the file has the contract
    type (a plain cast, as fast as before), or the contract type is text. -#}
{% macro raw_type_matches(typing, column_name) %}
    {%- set contract_type = typing.contract.get(column_name) -%}
    {%- if execute and contract_type is none -%}
        {{ exceptions.raise_compiler_error("raw." ~ typing.table ~ "." ~ column_name ~ " is not in the raw contract (models/staging/raw/_raw__sources.yml)") }}
    {%- endif -%}
    {%- set file_type = typing.file_types.get(column_name) -%}
    {{ return(file_type is none or (contract_type | lower) == 'string'
        or file_type == contract_type | upper | replace(' ', '')) }}
{% endmacro %}

{#- An optional contract column (meta optional: true) in its contract type, or a typed null
    when no file of the table has it (files written before the column was added). -#}
{% macro raw_optional_cast(typing, column_name) -%}
    {%- if column_name in typing.file_types -%}
        {{ raw_cast(typing, column_name) }}
    {%- else -%}
        cast(null as {{ typing.contract.get(column_name) }})
    {%- endif -%}
{%- endmacro %}

{#- Raw column `column_name` in its contract type; a value that does not convert is null
    (and raw_type_violation names it). A fraction is not an integer: 2.5 does not become 3. -#}
{% macro raw_cast(typing, column_name) -%}
    {%- set contract_type = typing.contract.get(column_name) -%}
    {%- if raw_type_matches(typing, column_name) -%}
        cast({{ column_name }} as {{ contract_type }})
    {%- elif contract_type | lower == 'integer' -%}
        case
            when {{ try_cast_to(column_name, 'double') }} = {{ try_cast_to(column_name, 'integer') }}
                then {{ try_cast_to(column_name, 'integer') }}
        end
    {%- else -%}
        {{ try_cast_to(column_name, contract_type) }}
    {%- endif -%}
{%- endmacro %}

{#- The reject reason of a raw row with a value that does not convert to its contract type
    (invalid_timestamp for dates and timestamps, invalid_number for numbers), else null. -#}
{% macro raw_type_violation(typing) -%}
    {%- set checks = [] -%}
    {%- for column_name, contract_type in typing.contract.items() if not raw_type_matches(typing, column_name) -%}
        {%- set reason = 'invalid_timestamp' if contract_type | lower in ('date', 'timestamp') else 'invalid_number' -%}
        {%- do checks.append('when ' ~ column_name ~ ' is not null and ' ~ raw_cast(typing, column_name)
            ~ " is null then '" ~ reason ~ "'") -%}
    {%- endfor -%}
    {%- if checks -%}
        case {{ checks | join(' ') }} end
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{%- endmacro %}
