{#- Point-in-time snapshots of the prediction features (docs/predictions.md). A snapshot is
    the state of every person at as_of minus `offset` days, computed by the same SQL for
    every offset (int_customers_point_in_time): 0 is scored, `h` trains the model that
    scores it (labels in the `h` days after), `2h` trains the backtest model evaluated on
    `h`, for each horizon h of the propensity and churn models. -#}
{% macro prediction_horizons() %}
    {{ return({
        'propensity': var('propensity_horizon_days') | int,
        'churn': var('churn_horizon_days') | int,
    }) }}
{% endmacro %}

{% macro prediction_snapshot_offsets() %}
    {%- set offsets = [0] -%}
    {%- for name, days in prediction_horizons().items() -%}
        {%- if days < 1 -%}
            {{ exceptions.raise_compiler_error("var " ~ name ~ "_horizon_days must be a whole number of days >= 1, got " ~ days) }}
        {%- endif -%}
        {%- do offsets.extend([days, 2 * days]) -%}
    {%- endfor -%}
    {{ return(offsets | unique | sort | list) }}
{% endmacro %}

{#- Whether predictions are built: the var, on an engine that runs the Python models. -#}
{% macro predictions_enabled() -%}
    {{ return(var('enable_predictions') and runs_python_models()) }}
{%- endmacro %}

{#- The snapshots this run computes: all of them when the backtest or the classifiers
    retrain (prediction_training_is_due), else the one at as_of, which is all that the CLV
    fit and the scoring read. -#}
{% macro prediction_snapshot_offsets_this_run() %}
    {{ return(prediction_snapshot_offsets() if prediction_training_is_due() else [0]) }}
{% endmacro %}

{#- PredictionConfig.fingerprint() (src/segmentation/predictions/dbt_bridge.py): the md5 of
    the same settings, with the same types, in the same JSON. -#}
{% macro prediction_config_fingerprint() -%}
    {%- set settings = {
        'propensity_horizon_days': var('propensity_horizon_days') | int,
        'churn_horizon_days': var('churn_horizon_days') | int,
        'time_unit': var('clv_time_unit') | string,
        'clv_horizon_days': var('clv_horizon_days') | int,
        'annual_discount_rate': var('clv_annual_discount_rate') | float,
        'random_state': var('prediction_random_state') | int,
        'training_sample_size': var('prediction_training_sample_size') | int,
    } -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}

{#- Whether model_evaluation or prediction_classifiers retrains this run (the rule of their
    Python, within_cadence, read from their tables): one is missing or empty, has rows of other
    settings, is not within prediction_refit_every_days before as_of, or the classifiers are
    not the methods the backtest selected. Judged from above: a true here when the Python then
    keeps its rows only costs the training snapshots. -#}
{% macro prediction_training_is_due() -%}
    {%- if not execute or not predictions_enabled() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set fingerprint = prediction_config_fingerprint() -%}
    {%- set relations = {} -%}
    {%- for name, stamp in [('model_evaluation', 'evaluated_as_of'), ('prediction_classifiers', 'trained_as_of')] -%}
        {%- set relation = built_relation_of(name) -%}
        {%- if relation is none -%}
            {{ return(true) }}
        {%- endif -%}
        {%- do relations.update({name: relation}) -%}
        {%- set row = run_query(
            "select cast(min(" ~ stamp ~ ") as " ~ dbt.type_string() ~ "), cast(max(" ~ stamp ~ ") as "
            ~ dbt.type_string() ~ "), min(config_fingerprint), max(config_fingerprint) from " ~ relation
        ).rows[0] -%}
        {%- if row[2] != fingerprint or row[3] != fingerprint
            or refit_is_due(row[0], row[1], var('prediction_refit_every_days')) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set unselected = run_query(
        "select count(*) from " ~ relations['prediction_classifiers'] ~ " as classifiers where not exists ("
        ~ "select 1 from " ~ relations['model_evaluation'] ~ " as evaluation where evaluation.is_selected"
        ~ " and evaluation.task = classifiers.task and evaluation.method = classifiers.method)"
    ).rows[0][0] -%}
    {{ return(unselected > 0) }}
{%- endmacro %}
