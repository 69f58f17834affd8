{#- Audiences and destinations as data: load and validate. They live in the meta of the
    model audience_definitions (models/marts/activation/_activation__audiences.yml). -#}

{% macro activation_config() %}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'audience_definitions' -%}
            {{ return(node.config.get('meta', {}) or node.meta or {}) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return({}) }}
{% endmacro %}

{#- Every destination, defaults filled in. -#}
{% macro get_destinations() %}
    {%- set destinations = [] -%}
    {%- for item in activation_config().get('destinations') or [] -%}
        {%- do destinations.append({
            'name': item.get('name'),
            'layout': item.get('layout') or 'generic',
            'endpoint_env': item.get('endpoint_env') or '',
            'token_env': item.get('token_env') or '',
            'batch_size': item.get('batch_size', 500),
            'description': item.get('description') or '',
        }) -%}
    {%- endfor -%}
    {{ return(destinations) }}
{% endmacro %}

{#- Every audience (the yml's, then var extra_audience_definitions), defaults filled in and
    var audience_holdout_overrides applied. -#}
{% macro get_audience_definitions() %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set overrides = var('audience_holdout_overrides') or {} -%}
    {%- set audiences = [] -%}
    {%- for item in (activation_config().get('audiences') or []) + (var('extra_audience_definitions') or []) -%}
        {%- set name = item.get('name') -%}
        {%- do audiences.append({
            'name': name,
            'destination': item.get('destination'),
            'segment': item.get('primary_segment') or item.get('segment'),
            'scope': 'primary' if item.get('primary_segment') else 'any',
            'has_both': item.get('primary_segment') is not none and item.get('segment') is not none,
            'priority': item.get('priority', 1000),
            'holdout_share': overrides.get(name, item.get('holdout_share', 0.0)) if name else item.get('holdout_share', 0.0),
            'owner': item.get('owner') or 'crm',
            'description': item.get('description') or '',
        }) -%}
    {%- endfor -%}
    {{ return(audiences) }}
{% endmacro %}

{#- Fail, naming the entry, on: a destination without a name, a duplicate or an unknown
    layout, a non-positive batch size; an audience without a name or a duplicate, an unknown
    destination, no segment or two, a segment the segment definitions do not have, a holdout
    share outside [0, 1), a priority that is not a number or is taken in its destination;
    a consent policy or a global control share out of range. On-run-start, before any table
    is written. -#}
{% macro validate_audience_definitions() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- if var('consent_policy') not in ['opt_in', 'opt_out'] -%}
        {{ exceptions.raise_compiler_error("var consent_policy must be opt_in or opt_out, not '" ~ var('consent_policy') ~ "'") }}
    {%- endif -%}
    {%- set control = var('activation_global_control_share') -%}
    {%- if control is not number or control < 0 or control > 0.5 -%}
        {{ exceptions.raise_compiler_error("var activation_global_control_share must be a number in [0, 0.5], not " ~ control) }}
    {%- endif -%}
    {%- set destinations = {} -%}
    {%- for d in get_destinations() -%}
        {%- set label = "Destination '" ~ (d.name or ('#' ~ loop.index)) ~ "'" -%}
        {%- if not d.name or d.name in destinations -%}
            {{ exceptions.raise_compiler_error(label ~ ": needs a unique name") }}
        {%- endif -%}
        {%- if d.layout not in ['klaviyo', 'mailchimp', 'generic'] -%}
            {{ exceptions.raise_compiler_error(label ~ ": layout must be klaviyo, mailchimp or generic, not '" ~ d.layout ~ "'") }}
        {%- endif -%}
        {%- if d.batch_size is not number or d.batch_size < 1 -%}
            {{ exceptions.raise_compiler_error(label ~ ": batch_size must be a positive number") }}
        {%- endif -%}
        {%- do destinations.update({d.name: []}) -%}
    {%- endfor -%}
    {%- set segments = get_segment_definitions() | map(attribute='name') | list -%}
    {%- set names = [] -%}
    {%- for a in get_audience_definitions() -%}
        {%- set label = "Audience definition '" ~ (a.name or ('#' ~ loop.index)) ~ "'" -%}
        {%- if not a.name or a.name in names -%}
            {{ exceptions.raise_compiler_error(label ~ ": needs a unique name") }}
        {%- endif -%}
        {%- do names.append(a.name) -%}
        {%- if a.destination not in destinations -%}
            {{ exceptions.raise_compiler_error(label ~ ": unknown destination '" ~ a.destination ~ "' (known: " ~ destinations.keys() | list | join(', ') ~ ")") }}
        {%- endif -%}
        {%- if not a.segment or a.has_both -%}
            {{ exceptions.raise_compiler_error(label ~ ": needs exactly one of segment and primary_segment") }}
        {%- endif -%}
        {%- if a.segment not in segments -%}
            {{ exceptions.raise_compiler_error(label ~ ": unknown segment '" ~ a.segment ~ "' (models/marts/segmentation/_segmentation__segments.yml)") }}
        {%- endif -%}
        {%- if a.holdout_share is not number or a.holdout_share < 0 or a.holdout_share >= 1 -%}
            {{ exceptions.raise_compiler_error(label ~ ": holdout_share must be a number in [0, 1)") }}
        {%- endif -%}
        {%- if a.priority is not number or a.priority in destinations[a.destination] -%}
            {{ exceptions.raise_compiler_error(label ~ ": priority must be a number not taken by another audience of '" ~ a.destination ~ "'") }}
        {%- endif -%}
        {%- do destinations[a.destination].append(a.priority) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{#- Buckets of 10,000 below which a share lies: a person is in it when their bucket is less. -#}
{% macro share_buckets(share) -%}
    {{ return((share * 10000) | round | int) }}
{%- endmacro %}

{% macro audience_definitions_relation() %}
    {%- set audiences = get_audience_definitions() -%}
    {%- if not audiences -%}
    select
        cast(null as string) as audience, cast(null as string) as destination,
        cast(null as string) as segment, cast(null as string) as segment_scope,
        cast(null as integer) as priority, cast(null as double) as holdout_share,
        cast(null as integer) as holdout_buckets, cast(null as string) as audience_owner,
        cast(null as string) as description
    where false
    {%- endif -%}
    {%- for a in audiences %}
    select
        {{ sql_string(a.name) }} as audience,
        {{ sql_string(a.destination) }} as destination,
        {{ sql_string(a.segment) }} as segment,
        {{ sql_string(a.scope) }} as segment_scope,
        cast({{ a.priority }} as integer) as priority,
        cast({{ a.holdout_share }} as double) as holdout_share,
        cast({{ share_buckets(a.holdout_share) }} as integer) as holdout_buckets,
        {{ sql_string(a.owner) }} as audience_owner,
        {{ sql_string(a.description) }} as description
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{% macro destinations_relation() %}
    {%- if not get_destinations() -%}
    select
        cast(null as string) as destination, cast(null as string) as layout,
        cast(null as string) as endpoint_env, cast(null as string) as token_env,
        cast(null as bigint) as batch_size, cast(null as string) as description
    where false
    {%- endif -%}
    {%- for d in get_destinations() %}
    select
        {{ sql_string(d.name) }} as destination,
        {{ sql_string(d.layout) }} as layout,
        {{ sql_string(d.endpoint_env) }} as endpoint_env,
        {{ sql_string(d.token_env) }} as token_env,
        cast({{ d.batch_size }} as bigint) as batch_size,
        {{ sql_string(d.description) }} as description
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- md5 of the merge fields (text columns) a destination receives: a change = an update. -#}
{% macro member_fingerprint() -%}
    {%- set parts = [] -%}
    {%- for column in varargs -%}{%- do parts.append("coalesce(" ~ column ~ ", '')") -%}{%- endfor -%}
    md5(concat_ws('|', {{ parts | join(', ') }}))
{%- endmacro %}

{#- A pseudonymous key of a person for BI-facing marts: md5(activation_salt:person:person_id).
    Stable across runs; without the salt it does not lead back to the person_id. -#}
{% macro pseudonymous_key(expression) -%}
    md5({{ sql_string(var('activation_salt') ~ ':person:') }} || {{ expression }})
{%- endmacro %}
