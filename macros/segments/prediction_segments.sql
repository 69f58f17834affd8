{#- Segments over the predictions (type predicted): the list prediction_segments in the meta
    of segment_definitions, each with a condition over the columns of customer_predictions
    and the score it needs. Built only where the predictions are (macro
    predictions_enabled); a segment whose score is null for everyone (too little data, see
    customer_predictions' status columns) is not evaluated: 0 members, status
    'not_evaluable: no <score>'. -#}

{% macro get_prediction_segment_definitions() %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set overrides = var('segment_share_overrides') or {} -%}
    {%- set scores = ['purchase_propensity', 'churn_probability', 'predicted_clv', 'p_alive'] -%}
    {%- set definitions = [] -%}
    {%- for item in segment_config().get('prediction_segments') or [] -%}
        {%- set label = "Prediction segment '" ~ (item.get('name') or ('#' ~ loop.index)) ~ "'" -%}
        {%- for field in ['name', 'condition', 'score', 'priority'] if item.get(field) is none -%}
            {{ exceptions.raise_compiler_error(label ~ ": has no " ~ field) }}
        {%- endfor -%}
        {%- if item.score not in scores -%}
            {{ exceptions.raise_compiler_error(label ~ ": score must be one of " ~ scores | join(', ') ~ ", got " ~ item.score) }}
        {%- endif -%}
        {%- do check_condition_self_contained(label, item.condition | string) -%}
        {%- set override = overrides.get(item.name, {}) -%}
        {%- do definitions.append({
            'name': item.name,
            'description': render_var_placeholders(item.get('description') or ''),
            'condition': item.condition | string | trim,
            'score': item.score,
            'priority': item.priority,
            'min_share': override.get('min_share', item.get('min_share', var('segment_default_min_share'))),
            'max_share': override.get('max_share', item.get('max_share', var('segment_default_max_share'))),
            'owner': item.get('owner') or 'analytics',
        }) -%}
    {%- endfor -%}
    {{ return(definitions) }}
{% endmacro %}

{#- One row per prediction segment, the columns of segment_definitions; `predictions` is a
    relation of customer_predictions. -#}
{% macro prediction_segment_definitions_relation(predictions) %}
    {%- for d in get_prediction_segment_definitions() %}
    select
        {{ sql_string(d.name) }} as segment,
        'predicted' as segment_type,
        cast(null as string) as parent_segment,
        {{ sql_string(d.description) }} as description,
        {{ sql_string(d.condition) }} as condition_sql,
        {{ sql_string(d.owner) }} as segment_owner,
        cast({{ d.priority }} as integer) as priority,
        cast({{ d.min_share }} as double) as min_share,
        cast({{ d.max_share }} as double) as max_share,
        'orders' as required_channels,
        case when count({{ d.score }}) > 0 then 'evaluated' else 'not_evaluable: no {{ d.score }}' end
            as evaluation_status
    from {{ predictions }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- The membership rows of the prediction segments over `predictions`. -#}
{% macro compile_prediction_memberships(predictions) %}
    {%- for d in get_prediction_segment_definitions() %}
    select
        person_id,
        'predicted' as segment_type,
        {{ sql_string(d.name) }} as segment,
        cast(null as string) as parent_segment,
        cast({{ d.priority }} as integer) as priority
    from {{ predictions }}
    where {{ d.score }} is not null and ({{ d.condition }})
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
