{#- Segment definitions as data: load, validate, compile. The definitions live in the meta
    of the model segment_definitions (models/marts/segmentation/_segmentation__segments.yml). -#}

{#- The meta of the model segment_definitions: {segments: [...], cluster_segments: {...}}
    (empty while parsing: the graph is not readable yet, and nothing compiled then runs). -#}
{% macro segment_config() %}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'segment_definitions' -%}
            {{ return(node.config.get('meta', {}) or node.meta or {}) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return({}) }}
{% endmacro %}

{#- `text` with each {var_name} replaced by the var's value ({var_name:percent}: 0.1 -> 10 %),
    so a description states the threshold the build uses. -#}
{% macro render_var_placeholders(text) %}
    {%- set rendered = {'text': text | string} -%}
    {%- for name, format in modules.re.findall('\\{([a-z_][a-z0-9_]*)(?::(percent))?\\}', text | string) -%}
        {%- set value = var(name) -%}
        {%- set shown = ((value * 100) | round(2) | string | replace('.0', '') ~ ' %') if format == 'percent' else value | string -%}
        {%- do rendered.update({'text': rendered.text | replace('{' ~ name ~ (':' ~ format if format else '') ~ '}', shown)}) -%}
    {%- endfor -%}
    {{ return(rendered.text) }}
{% endmacro %}

{#- All definitions, defaults filled in, overrides applied; none while parsing (the shipped
    ones are not readable then, and an extra one nested under a shipped one would name an
    unknown parent). -#}
{% macro get_segment_definitions() %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set raw = segment_config().get('segments') or [] -%}
    {%- set extra = var('extra_segment_definitions') or [] -%}
    {%- set overrides = var('segment_share_overrides') or {} -%}
    {%- set definitions = [] -%}
    {%- for item in raw + extra -%}
        {%- set name = item.get('name') -%}
        {%- set override = overrides.get(name, {}) if name else {} -%}
        {%- do definitions.append({
            'name': name,
            'type': (item.get('type') or 'custom') | lower,
            'description': render_var_placeholders(item.get('description') or ''),
            'condition': (item.get('condition') or '') | string | trim,
            'parent': item.get('parent'),
            'priority': item.get('priority', 1000),
            'min_share': override.get('min_share', item.get('min_share', var('segment_default_min_share'))),
            'max_share': override.get('max_share', item.get('max_share', var('segment_default_max_share'))),
            'owner': item.get('owner') or 'analytics',
            'channels_any': item.get('channels_any') or [],
        }) -%}
    {%- endfor -%}
    {{ return(definitions) }}
{% endmacro %}

{#- The priority of the cluster segment of `id_column`: below every rule segment. -#}
{% macro cluster_segment_priority(id_column) -%}
    cast({{ segment_config().get('cluster_segments', {}).get('priority_start', 400) }} + {{ id_column }} as integer)
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

{#- Fail, naming the definition, on: missing fields, duplicate names, bad shares, a condition
    the engine does not take as an expression over customer_features, unknown parents and
    parent cycles. Runs at on-run-start (before any table is written) and again when
    customer_segments compiles. -#}
{% macro validate_segment_definitions(definitions=none) %}
    {%- set definitions = definitions if definitions is not none else get_segment_definitions() -%}
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
    {%- endfor -%}
    {%- for d in definitions if d.parent -%}
        {%- do segment_lineage(d, definitions) -%}
    {%- endfor -%}
    {%- set columns = segment_feature_columns() -%}
    {%- if execute and columns -%}
        {%- do check_segment_conditions(definitions, columns) -%}
        {#- after the engine's check, whose messages are more specific -#}
        {%- for d in definitions -%}
            {%- do check_condition_self_contained("Segment definition '" ~ d.name ~ "'", d.condition) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- A condition is pasted between parentheses and joined to its parents' with `and`
    (effective_segment_condition): `1=1) or (1=1` parses as one expression yet would escape
    the parentheses and its parent. So its own parentheses must balance and never close one
    it did not open, and it holds no comment (`--` would swallow what follows it). String
    literals and quoted names are skipped. -#}
{% macro check_condition_self_contained(label, condition) %}
    {%- set state = {'depth': 0, 'quote': none, 'previous': '', 'closes_outer': false, 'comment': false} -%}
    {%- for char in condition -%}
        {%- if state.quote -%}
            {%- if char == state.quote -%}{%- do state.update({'quote': none}) -%}{%- endif -%}
        {%- elif char in ["'", '"'] -%}
            {%- do state.update({'quote': char}) -%}
        {%- elif (state.previous ~ char) in ['--', '/*'] -%}
            {%- do state.update({'comment': true}) -%}
        {%- elif char == '(' -%}
            {%- do state.update({'depth': state.depth + 1}) -%}
        {%- elif char == ')' -%}
            {%- do state.update({'depth': state.depth - 1, 'closes_outer': state.closes_outer or state.depth == 0}) -%}
        {%- endif -%}
        {%- do state.update({'previous': '' if state.quote else char}) -%}
    {%- endfor -%}
    {%- if state.comment -%}
        {{ exceptions.raise_compiler_error(label ~ ": broken expression, a comment ('--' or '/*') is not allowed in a condition: " ~ condition) }}
    {%- endif -%}
    {%- if state.closes_outer or state.depth != 0 or state.quote -%}
        {{ exceptions.raise_compiler_error(label ~ ": broken expression, unbalanced parentheses or quotes (a condition cannot close a parenthesis it did not open): " ~ condition) }}
    {%- endif -%}
{% endmacro %}

{#- Ask the engine whether each condition is an expression over customer_features and
    nothing else. -#}
{% macro check_segment_conditions(definitions, columns) %}
    {{ return(adapter.dispatch('check_segment_conditions', 'customer_segmentation')(definitions, columns)) }}
{% endmacro %}

{#- One row typed like customer_features, with a plain value in every column (not null: a
    condition like `frequency > 'many'` fails only on a value). -#}
{% macro segment_probe_row(columns) %}
    {%- set typed = [] -%}
    {%- for name, data_type in columns.items() -%}
        {%- set t = data_type | lower -%}
        {%- set value = "''" if ('char' in t or 'string' in t or 'text' in t)
            else 'false' if 'bool' in t
            else "cast('2000-01-01' as " ~ data_type ~ ")" if ('date' in t or 'time' in t)
            else 'cast(0 as ' ~ data_type ~ ')' -%}
        {%- do typed.append(value ~ ' as ' ~ name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ typed | join(', ') ~ ') as customer_features') }}
{% endmacro %}

{#- Every condition evaluated on one row typed like customer_features, one per line and
    named (`wrap` around each, e.g. try(...)); an engine error names the line. -#}
{% macro segment_condition_probe(definitions, columns, wrap='{}') %}
    {%- set probes = [] -%}
    {%- for d in definitions -%}
        {%- do probes.append('\n    ' ~ wrap.replace('{}', 'case when (' ~ d.condition ~ ') then 1 else 0 end')
            ~ ' as ' ~ adapter.quote(d.name | replace('"', ''))) -%}
    {%- endfor -%}
    {{ return(run_query('select' ~ probes | join(',') ~ '\nfrom ' ~ segment_probe_row(columns))) }}
{% endmacro %}

{#- Any engine: the engine binds and evaluates every condition on a row typed like
    customer_features; an unknown column or function, or a type error, fails the run. -#}
{% macro default__check_segment_conditions(definitions, columns) %}
    {%- do segment_condition_probe(definitions, columns) -%}
{% endmacro %}

{#- DuckDB: [(definition, parts), ...]: each condition parsed by the engine as the WHERE
    clause of `select 1 from customer_features` (one query for all; json_serialize_sql
    reports, never raises) and walked by segment_condition_parts. The validation and the
    channel needs (segment_channels.sql) read the same parts. -#}
{% macro segment_condition_parse(definitions, columns) %}
    {%- set probes = [] -%}
    {%- for d in definitions -%}
        {%- do probes.append("select " ~ loop.index0 ~ " as position, cast(json_serialize_sql("
            ~ sql_string("select 1 from customer_features where (" ~ d.condition ~ ")")
            ~ ") as string) as ast") -%}
    {%- endfor -%}
    {%- set result = run_query(probes | join(' union all ') ~ ' order by position') -%}
    {%- set parsed = [] -%}
    {%- for row in result.rows -%}
        {%- set d = definitions[row[0]] -%}
        {%- do parsed.append((d, segment_condition_parts(d, fromjson(row[1]), columns))) -%}
    {%- endfor -%}
    {{ return(parsed) }}
{% endmacro %}

{#- DuckDB: first its parser judges each condition as the WHERE clause of
    `select 1 from customer_features` (json_serialize_sql reports, never raises), so every
    rejection names its definition: it must parse, stay one statement with nothing but the
    WHERE clause, hold no subquery, refer only to customer_features columns (or names the
    engine resolves itself, like current_date) and call only scalar functions the engine
    knows. Then each condition runs on a typed row under try(): one that fails (a value of
    the wrong type) is named too. -#}
{% macro duckdb__check_segment_conditions(definitions, columns) %}
    {%- set functions, names = {}, {} -%}
    {%- for d, found in segment_condition_parse(definitions, columns) -%}
        {%- for name in found.functions -%}
            {%- do functions.setdefault(name | lower, []).append(d.name) -%}
        {%- endfor -%}
        {%- for name in found.unknown_names -%}
            {%- do names.setdefault(name | lower, []).append(d.name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set asked = (functions.keys() | list) + (names.keys() | list) -%}
    {%- set types = {} -%}
    {%- if asked -%}
        {%- set known = run_query(
            "select function_name, string_agg(distinct function_type, ',') from duckdb_functions() "
            ~ "where function_name in ('" ~ asked | map('replace', "'", "''") | join("', '") ~ "') "
            ~ "group by function_name"
        ) -%}
        {%- for row in known.rows -%}
            {%- do types.update({row[0] | lower: row[1].split(',')}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name, users in names.items() if 'scalar' not in types.get(name, []) -%}
        {{ exceptions.raise_compiler_error("Segment definition '" ~ users[0] ~ "': unknown column '" ~ name
            ~ "' in condition (columns of customer_features: " ~ (columns.keys() | list | sort | join(', ')) ~ ")") }}
    {%- endfor -%}
    {%- for name, users in functions.items() -%}
        {%- set kinds = types.get(name, []) -%}
        {%- if not ('scalar' in kinds or 'macro' in kinds) -%}
            {{ exceptions.raise_compiler_error(
                "Segment definition '" ~ users[0] ~ "': " ~ ("'" ~ name ~ "' is a " ~ kinds | join('/') ~ " function, not a scalar one" if kinds else "unknown function '" ~ name ~ "'")
                ~ ": a condition is an expression over the columns of customer_features") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set evaluated = segment_condition_probe(definitions, columns, wrap='try({})') -%}
    {%- for d in definitions -%}
        {%- if evaluated.rows[0][loop.index0] is none -%}
            {{ exceptions.raise_compiler_error("Segment definition '" ~ d.name ~ "': the condition fails on a row of customer_features (a value of the wrong type?): " ~ d.condition) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{#- The function names a parsed condition calls and the bare names that are not
    customer_features columns; fails, naming the definition, on anything but a single WHERE
    expression over customer_features. -#}
{% macro segment_condition_parts(definition, ast, columns) %}
    {%- set label = "Segment definition '" ~ definition.name ~ "'" -%}
    {%- if ast.get('error') -%}
        {{ exceptions.raise_compiler_error(label ~ ": broken expression, SQL does not parse: " ~ ast.get('error_message', '') ~ ": " ~ definition.condition) }}
    {%- endif -%}
    {%- set statements = ast.get('statements', []) -%}
    {%- set node = statements[0].get('node', {}) if statements | length == 1 else {} -%}
    {%- set from_table = node.get('from_table', {}) -%}
    {%- if statements | length != 1 or node.get('type') != 'SELECT_NODE' or node.get('modifiers')
          or node.get('group_expressions') or node.get('having') or node.get('qualify')
          or node.get('sample') or (node.get('cte_map', {}).get('map') or [])
          or from_table.get('table_name') != 'customer_features' -%}
        {{ exceptions.raise_compiler_error(label ~ ": broken expression, not one condition (a ';', a closing parenthesis or a clause after it): " ~ definition.condition) }}
    {%- endif -%}
    {%- set found = {'functions': [], 'columns': [], 'unknown_names': [], 'subqueries': 0} -%}
    {%- do collect_expression_parts(node.get('where_clause'), found) -%}
    {%- if found.subqueries -%}
        {{ exceptions.raise_compiler_error(label ~ ": a subquery is not allowed, a condition is an expression over the columns of customer_features: " ~ definition.condition) }}
    {%- endif -%}
    {%- for names in found.columns -%}
        {%- set column = names[-1] | lower -%}
        {%- if names | length > 2 or (names | length == 2 and names[0] | lower != 'customer_features') -%}
            {{ exceptions.raise_compiler_error(label ~ ": '" ~ names | join('.') ~ "' refers to another relation; a condition reads only customer_features") }}
        {%- endif -%}
        {%- if column not in columns and names | length == 1 -%}
            {%- do found.unknown_names.append(names[0]) -%}
        {%- elif column not in columns -%}
            {{ exceptions.raise_compiler_error(label ~ ": unknown column '" ~ names[-1] ~ "' in condition (columns of customer_features: " ~ (columns.keys() | list | sort | join(', ')) ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{% endmacro %}

{#- Walk a parsed expression: function names, column references, subqueries. -#}
{% macro collect_expression_parts(node, found) %}
    {%- if node is mapping -%}
        {%- if node.get('class') == 'SUBQUERY' -%}
            {%- do found.update({'subqueries': found.subqueries + 1}) -%}
        {%- elif node.get('class') == 'COLUMN_REF' -%}
            {%- do found.columns.append(node.get('column_names', [])) -%}
        {%- elif node.get('class') == 'FUNCTION' and not node.get('is_operator') -%}
            {%- do found.functions.append(node.get('function_name')) -%}
        {%- endif -%}
        {%- for value in node.values() -%}
            {%- do collect_expression_parts(value, found) -%}
        {%- endfor -%}
    {%- elif node is iterable and node is not string -%}
        {%- for value in node -%}
            {%- do collect_expression_parts(value, found) -%}
        {%- endfor -%}
    {%- endif -%}
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
        {{ sql_string(d.parent) if d.parent else 'cast(null as string)' }} as parent_segment,
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
        {{ sql_string(d.parent) if d.parent else 'cast(null as string)' }} as parent_segment,
        cast({{ d.priority }} as integer) as priority
    from {{ features_relation }}
    where {{ effective_segment_condition(d, definitions) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- The segment name of a cluster: 'Cluster 3: High spend · frequent'. -#}
{% macro cluster_segment_name(id_column, name_column) -%}
    'Cluster ' || cast({{ id_column }} as string) || ': ' || {{ name_column }}
{%- endmacro %}
