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
