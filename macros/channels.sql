{#- Feature channels: which raw tables a customer_features column needs, and whether they
    hold data in this run. The data is declared once: the raw contract names each table's
    channel (table meta.channel in models/staging/raw/_raw__sources.yml), the customer_features
    yml names each column's channels (column meta.channels: all of them needed; meta.
    channels_any: one of them is enough). audit_raw_coverage says which tables hold data.
    docs/missing_channels.md has the rules. -#}

{#- {channel: [raw tables]} from the raw contract (empty while parsing). -#}
{% macro raw_channels() %}
    {%- set channels = {} -%}
    {%- for table_name in raw_tables() -%}
        {%- set channel = raw_contract(table_name).channel -%}
        {%- if channel -%}
            {%- do channels.setdefault(channel, []).append(table_name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(channels) }}
{% endmacro %}

{#- {column: [[channel, ...], ...]}: each column's channel needs as groups; a group is met when
    one of its channels has data, the column is known when every group is met. -#}
{% macro feature_channel_groups() %}
    {%- set groups = {} -%}
    {%- if not execute -%}{{ return(groups) }}{%- endif -%}
    {%- set known = raw_channels() -%}
    {#- a unit test's graph holds no nodes: it renders the model ungated -#}
    {%- for node in (graph.get('nodes') or {}).values() if node.resource_type == 'model' and node.name == 'customer_features' -%}
        {%- for column in node.columns.values() -%}
            {%- set meta = (column.config.get('meta', {}) if column.config else {}) or column.meta or {} -%}
            {%- set column_groups = [] -%}
            {%- for channel in meta.get('channels') or [] -%}
                {%- do column_groups.append([channel]) -%}
            {%- endfor -%}
            {%- if meta.get('channels_any') -%}
                {%- do column_groups.append(meta.get('channels_any') | list) -%}
            {%- endif -%}
            {%- for group in column_groups -%}
                {%- for channel in group if channel not in known -%}
                    {{ exceptions.raise_compiler_error(
                        "customer_features." ~ column.name ~ ": meta names the channel '" ~ channel
                        ~ "', which no raw table feeds (table meta.channel in "
                        ~ "models/staging/raw/_raw__sources.yml: " ~ (known.keys() | list | sort | join(', ')) ~ ")") }}
                {%- endfor -%}
            {%- endfor -%}
            {%- do groups.update({column.name | lower: column_groups}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(groups) }}
{% endmacro %}

{#- The flag column that says a channel holds data (a column of channel_coverage_flags). -#}
{% macro channel_flag(channel) -%}
    has_{{ channel }}_data
{%- endmacro %}

{#- One row: has_<channel>_data per channel, true when every raw table of the channel holds
    a staged row (the coverage relation is audit_raw_coverage). -#}
{% macro channel_coverage_flags(coverage_relation) %}
    select
        {%- for channel in raw_channels() | sort %}
            coalesce(min(case when channel = '{{ channel }}' then case when has_data then 1 else 0 end end), 0) = 1
                as {{ channel_flag(channel) }},
        {%- endfor %}
        count(*) as coverage_tables
    from {{ coverage_relation }}
{% endmacro %}

{#- SQL that is true when the channel groups are met (true for no group). -#}
{% macro channel_groups_met(groups) -%}
    {%- set parts = [] -%}
    {%- for group in groups -%}
        {%- set flags = [] -%}
        {%- for channel in group -%}{%- do flags.append(channel_flag(channel)) -%}{%- endfor -%}
        {%- do parts.append('(' ~ flags | join(' or ') ~ ')') -%}
    {%- endfor -%}
    {{ parts | join(' and ') if parts else 'true' }}
{%- endmacro %}

{#- `expression` for a customer_features column, null when a channel it needs has no data:
    unknown, not zero. `groups` are the column's channel groups (feature_channel_groups,
    read once by the model); the flags of channel_coverage_flags must be in scope. -#}
{% macro channel_feature(groups, expression) -%}
    {%- if groups -%}
        case when {{ channel_groups_met(groups) }} then {{ expression }} end
    {%- else -%}
        {{ expression }}
    {%- endif -%}
{%- endmacro %}
