"""One row per task, method and metric (and group): the backtest of the propensity and churn
classifiers against the RFM-score and recency baselines (AUC, top-decile lift, calibration)
and BG/NBD's predicted vs actual purchases over a holdout; ``is_selected`` marks the method
customer_predictions scores with."""

from segmentation.predictions import backtest, dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    points = dbt.ref("int_customers_point_in_time")
    snapshots, as_of = dbt_bridge.snapshots_of(points, backtest.evaluation_offsets(config))
    return backtest.evaluation_table(snapshots, config, as_of)
