{#- Which channels a segment needs, and whether it can be evaluated in this run. A segment
    needs the channels of every customer_features column its condition reads (the engine's
    parser finds the columns, the column meta names their channels: macros/channels.sql),
    those of its ancestors (a nested segment is evaluated only where its parent is) and its
    own `channels_any` (one of them must have data). When a channel it needs has no data, it
    is not evaluated: 0 members and the status 'not_evaluable: no <raw tables>'. -#}

{#- {definition name: [column, ...]}: the customer_features columns each condition reads. -#}
{% macro segment_condition_columns(definitions) %}
    {{ return(adapter.dispatch('segment_condition_columns', 'customer_segmentation')(definitions)) }}
{% endmacro %}

{#- DuckDB: the columns from the parse tree the validation reads too
    (segment_condition_parse). -#}
{% macro duckdb__segment_condition_columns(definitions) %}
    {%- set found_columns = {} -%}
    {%- set columns = segment_feature_columns() -%}
    {%- if not (execute and columns and definitions) -%}{{ return(found_columns) }}{%- endif -%}
    {%- for d, parts in segment_condition_parse(definitions, columns) -%}
        {%- set names = [] -%}
        {%- for reference in parts.columns if (reference[-1] | lower) in columns -%}
            {%- do names.append(reference[-1] | lower) -%}
        {%- endfor -%}
        {%- do found_columns.update({d.name: names | unique | sort | list}) -%}
    {%- endfor -%}
    {{ return(found_columns) }}
{% endmacro %}

{#- Other engines (no parse tree to ask): every column whose name appears as a word in the
    condition; it can only over-count (a name inside a string literal), never miss one. -#}
{% macro default__segment_condition_columns(definitions) %}
    {%- set found_columns = {} -%}
    {%- set columns = segment_feature_columns() -%}
    {%- for d in definitions -%}
        {%- set words = modules.re.findall('[A-Za-z_][A-Za-z0-9_]*', d.condition) | map('lower') | list -%}
        {%- do found_columns.update({d.name: columns.keys() | select('in', words) | sort | list}) -%}
    {%- endfor -%}
    {{ return(found_columns) }}
{% endmacro %}

{#- {definition name: [[channel, ...], ...]}: the channel groups each definition needs (a
    group is met when one of its channels has data), its ancestors' included. -#}
{% macro segment_channel_needs(definitions) %}
    {%- set read = segment_condition_columns(definitions) -%}
    {%- set feature_groups = feature_channel_groups() -%}
    {%- set needs = {} -%}
    {%- for d in definitions -%}
        {%- set groups = [] -%}
        {%- for ancestor in segment_lineage(d, definitions) -%}
            {%- for column_name in read.get(ancestor.name, []) -%}
                {%- for group in feature_groups.get(column_name, []) if (group | sort | list) not in groups -%}
                    {%- do groups.append(group | sort | list) -%}
                {%- endfor -%}
            {%- endfor -%}
            {%- if ancestor.channels_any and (ancestor.channels_any | sort | list) not in groups -%}
                {%- do groups.append(ancestor.channels_any | sort | list) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do needs.update({d.name: groups}) -%}
    {%- endfor -%}
    {{ return(needs) }}
{% endmacro %}

{#- 'evaluated', or 'not_evaluable: no <raw tables of the unmet channels>', over the flags of
    channel_coverage_flags. -#}
{% macro segment_evaluation_status(groups) -%}
    {%- set channels = raw_channels() -%}
    {%- set missing = [] -%}
    {%- set by_table = {} -%}
    {%- for group in groups -%}
        {%- for channel in group -%}
            {%- for table_name in channels.get(channel, []) -%}
                {%- do by_table.setdefault(table_name, []).append('not ' ~ channel_groups_met([group])) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not groups -%}
        'evaluated'
    {%- else -%}
        case
            when {{ channel_groups_met(groups) }} then 'evaluated'
            else 'not_evaluable: no ' || concat_ws(', '
                {%- for table_name in by_table | sort -%}
                    , case when {{ by_table[table_name] | unique | join(' or ') }} then '{{ table_name }}' end
                {%- endfor -%}
            )
        end
    {%- endif -%}
{%- endmacro %}

{#- One row per rule segment: the channels it needs and its evaluation status, from
    `channels_relation` (one row of channel_coverage_flags). -#}
{% macro segment_statuses_relation(channels_relation) %}
    {%- set definitions = get_segment_definitions() -%}
    {%- set needs = segment_channel_needs(definitions) -%}
    {%- for d in definitions %}
    select
        {{ sql_string(d.name) }} as segment,
        {{ sql_string(needs[d.name] | map('join', ' or ') | join(', ')) }} as required_channels,
        {{ segment_evaluation_status(needs[d.name]) }} as evaluation_status
    from {{ channels_relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
