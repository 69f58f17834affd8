{#- Segment definitions as data: load, validate, compile (see segment_definitions.sql). -#}

{#- All definitions, defaults filled in, overrides applied. -#}
{% macro get_segment_definitions() %}
    {%- set raw = fromyaml(segment_definitions_yaml()) or [] -%}
    {%- set extra = var('extra_segment_definitions', []) or [] -%}
    {%- set overrides = var('segment_share_overrides', {}) or {} -%}
    {%- set definitions = [] -%}
    {%- for item in raw + extra -%}
        {%- set name = item.get('name') -%}
        {%- set override = overrides.get(name, {}) if name else {} -%}
        {%- do definitions.append({
            'name': name,
            'type': (item.get('type') or 'custom') | lower,
            'description': item.get('description') or '',
            'condition': (item.get('condition') or '') | string | trim,
            'parent': item.get('parent'),
            'priority': item.get('priority', 1000),
            'min_share': override.get('min_share', item.get('min_share', var('segment_default_min_share', 0.01))),
            'max_share': override.get('max_share', item.get('max_share', var('segment_default_max_share', 1.0))),
            'owner': item.get('owner') or 'analytics',
        }) -%}
    {%- endfor -%}
    {{ return(definitions) }}
{% endmacro %}

{% macro sql_string(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{#- The columns a condition may use: the contract of customer_features. -#}
{% macro segment_feature_columns() %}
    {%- set columns = {} -%}
    {%- if not execute -%}{{ return(columns) }}{%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.name == 'customer_features' -%}
            {%- for column in node.columns.values() -%}
                {%- do columns.update({column.name | lower: column.data_type}) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{#- Fail, naming the definition, on: missing fields, duplicate names, unknown columns,
    broken expressions, unknown parents and parent cycles. Runs at on-run-start (before any
    table is written) and again when customer_segments compiles. -#}
{% macro validate_segment_definitions(definitions=none) %}
    {%- set definitions = definitions if definitions is not none else get_segment_definitions() -%}
    {%- set columns = segment_feature_columns() -%}
    {%- set words = [
        'and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'between', 'like', 'ilike',
        'case', 'when', 'then', 'else', 'end', 'as', 'cast', 'interval', 'day', 'days',
        'integer', 'int', 'bigint', 'double', 'float', 'decimal', 'varchar', 'date', 'timestamp',
        'boolean', 'distinct', 'similar', 'to', 'escape',
    ] -%}
    {%- set by_name = {} -%}
    {%- for d in definitions -%}
        {%- set label = "Segment definition '" ~ (d.name or ('#' ~ loop.index)) ~ "'" -%}
        {%- if not d.name -%}
            {{ exceptions.raise_compiler_error(label ~ ": has no name") }}
        {%- endif -%}
        {%- if d.name in by_name -%}
            {{ exceptions.raise_compiler_error(label ~ ": duplicate name (defined twice)") }}
        {%- endif -%}
        {%- do by_name.update({d.name: d}) -%}
        {%- if not d.condition -%}
            {{ exceptions.raise_compiler_error(label ~ ": has no condition") }}
        {%- endif -%}
        {%- if d.priority is not number or d.min_share is not number or d.max_share is not number -%}
            {{ exceptions.raise_compiler_error(label ~ ": priority, min_share and max_share must be numbers") }}
        {%- endif -%}
        {%- if d.min_share < 0 or d.max_share > 1 or d.min_share > d.max_share -%}
            {{ exceptions.raise_compiler_error(label ~ ": needs 0 <= min_share <= max_share <= 1") }}
        {%- endif -%}
        {#- broken expression: unbalanced quotes or parentheses, or a statement separator -#}
        {%- set without_strings = modules.re.sub("'(?:[^']|'')*'", "''", d.condition) -%}
        {%- if "'" in without_strings.replace("''", "") or ';' in without_strings
              or without_strings.count('(') != without_strings.count(')') -%}
            {{ exceptions.raise_compiler_error(label ~ ": broken expression (unbalanced quotes or parentheses, or ';'): " ~ d.condition) }}
        {%- endif -%}
        {#- unknown column: every bare identifier must be a customer_features column or SQL word -#}
        {%- for match in modules.re.finditer("(?<![\\w.])([A-Za-z_][A-Za-z0-9_]*)(\\s*\\()?", without_strings) -%}
            {%- set identifier = match.group(1) | lower -%}
            {%- if columns and not match.group(2) and identifier not in columns and identifier not in words -%}
                {{ exceptions.raise_compiler_error(label ~ ": unknown column '" ~ match.group(1) ~ "' in condition (columns of customer_features: " ~ (columns.keys() | list | sort | join(', ')) ~ ")") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for d in definitions if d.parent -%}
        {%- do segment_lineage(d, definitions) -%}
    {%- endfor -%}
    {%- if execute and target.type == 'duckdb' and columns -%}
        {{ check_segment_expressions_parse(definitions, columns) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- Let DuckDB's parser judge every condition (json_serialize_sql reports, never raises). -#}
{% macro check_segment_expressions_parse(definitions, columns) %}
    {%- set probes = [] -%}
    {%- for d in definitions -%}
        {%- do probes.append("select " ~ loop.index0 ~ " as position, json_extract(json_serialize_sql("
            ~ sql_string("select 1 from customer_features where (" ~ d.condition ~ ")")
            ~ "), '$.error') as has_error") -%}
    {%- endfor -%}
    {%- set result = run_query(probes | join(' union all ')) -%}
    {%- for row in result.rows -%}
        {%- if row[1] | string | lower == 'true' -%}
            {%- set d = definitions[row[0]] -%}
            {{ exceptions.raise_compiler_error("Segment definition '" ~ d.name ~ "': broken expression, SQL does not parse: " ~ d.condition) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{#- A definition's own condition and all its ancestors' (nested segments). -#}
{% macro effective_segment_condition(definition, definitions) %}
    {%- set parts = [] -%}
    {%- for d in segment_lineage(definition, definitions) -%}
        {%- do parts.append('(' ~ d.condition ~ ')') -%}
    {%- endfor -%}
    {{ return(parts | join(' and ')) }}
{% endmacro %}

{#- [definition, its parent, the parent's parent, ...]; fails, naming the definition, on an
    unknown parent or a parent cycle. -#}
{% macro segment_lineage(definition, definitions) %}
    {%- set by_name = {} -%}
    {%- for d in definitions -%}{%- do by_name.update({d.name: d}) -%}{%- endfor -%}
    {%- set label = "Segment definition '" ~ definition.name ~ "'" -%}
    {%- set lineage = [definition] -%}
    {%- set state = {'current': definition} -%}
    {%- for _ in range(definitions | length + 1) if state.current.parent -%}
        {%- set parent_name = state.current.parent -%}
        {%- if parent_name not in by_name -%}
            {{ exceptions.raise_compiler_error(label ~ ": unknown parent '" ~ parent_name ~ "'") }}
        {%- endif -%}
        {%- if parent_name in lineage | map(attribute='name') | list -%}
            {{ exceptions.raise_compiler_error(label ~ ": parent cycle " ~ ((lineage | map(attribute='name') | list) + [parent_name]) | join(' -> ')) }}
        {%- endif -%}
        {%- do lineage.append(by_name[parent_name]) -%}
        {%- do state.update({'current': by_name[parent_name]}) -%}
    {%- endfor -%}
    {{ return(lineage) }}
{% endmacro %}

{#- The definitions as a VALUES-like relation (one select per definition). -#}
{% macro segment_definitions_relation() %}
    {%- set definitions = get_segment_definitions() -%}
    {%- for d in definitions %}
    select
        {{ sql_string(d.name) }} as segment,
        {{ sql_string(d.type) }} as segment_type,
        {{ sql_string(d.parent) if d.parent else 'cast(null as varchar)' }} as parent_segment,
        {{ sql_string(d.description) }} as description,
        {{ sql_string(d.condition) }} as condition_sql,
        {{ sql_string(d.owner) }} as segment_owner,
        cast({{ d.priority }} as integer) as priority,
        cast({{ d.min_share }} as double) as min_share,
        cast({{ d.max_share }} as double) as max_share
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- One select per definition over the features relation, unioned: the membership rows. -#}
{% macro compile_segment_memberships(features_relation) %}
    {%- set definitions = get_segment_definitions() -%}
    {{ validate_segment_definitions(definitions) }}
    {%- for d in definitions %}
    select
        person_id,
        {{ sql_string(d.type) }} as segment_type,
        {{ sql_string(d.name) }} as segment,
        {{ sql_string(d.parent) if d.parent else 'cast(null as varchar)' }} as parent_segment,
        cast({{ d.priority }} as integer) as priority
    from {{ features_relation }}
    where {{ effective_segment_condition(d, definitions) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- The segment name of a cluster: 'Cluster 3: High spend · frequent'. -#}
{% macro cluster_segment_name(id_column, name_column) -%}
    'Cluster ' || cast({{ id_column }} as varchar) || ': ' || {{ name_column }}
{%- endmacro %}
