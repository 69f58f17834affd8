"""One row per task, method and metric (and group): the backtest of the propensity and churn
classifiers against the RFM-score and recency baselines (AUC, top-decile lift, calibration)
and BG/NBD's predicted vs actual purchases over a holdout; ``is_selected`` marks the method
customer_predictions scores with.

Within ``prediction_refit_every_days`` of the previous backtest (same settings) the run keeps
its rows (``evaluated_as_of`` says when they were computed): the backtest trains four models
and reads four snapshots, and its figures move slowly."""

from segmentation.predictions import backtest, dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    points = dbt.ref("int_customers_point_in_time")
    as_of = dbt_bridge.relation_as_of(points)
    kept = backtest.reusable_evaluation(dbt_bridge.previous_table(session, dbt.this), config, as_of)
    if kept is not None:
        return kept
    snapshots, _ = dbt_bridge.snapshots_of(points, backtest.evaluation_offsets(config))
    return backtest.evaluation_table(snapshots, config, as_of)
