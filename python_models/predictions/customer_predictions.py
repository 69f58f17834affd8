"""One row per person at as_of: BG/NBD P(alive) and expected purchases, Gamma-Gamma order
value and discounted CLV (current fit of clv_model_parameters), purchase propensity and
churn probability (the backtest's selected method, trained one horizon back), deciles, and
a status per score saying why it is null when it is."""

from segmentation.predictions import backtest, dbt_bridge, scoring


def model(dbt, session):
    dbt.config(materialized="table")
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    points = dbt.ref("int_customers_point_in_time")
    snapshots, as_of = dbt_bridge.snapshots_of(points, scoring.scoring_offsets(config))
    parameters = dbt.ref("clv_model_parameters").df()
    evaluation = dbt.ref("model_evaluation").df()
    selected = backtest.selected_methods(evaluation, config)
    return scoring.predictions_table(snapshots, parameters, selected, config, as_of)
