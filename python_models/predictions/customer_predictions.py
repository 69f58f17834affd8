"""One row per person at as_of: BG/NBD P(alive) and expected purchases, Gamma-Gamma order
value and discounted CLV (current fit of clv_model_parameters), purchase propensity and
churn probability (the models of prediction_classifiers), deciles, and a status per score
saying why it is null when it is. Reads the snapshot at as_of only."""

from segmentation.predictions import classifiers, dbt_bridge, scoring


def model(dbt, session):
    dbt.config(materialized="table")
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    points = dbt.ref("int_customers_point_in_time")
    now = dbt_bridge.snapshot(points, 0)
    as_of = dbt_bridge.relation_as_of(points)
    parameters = dbt.ref("clv_model_parameters").df()
    models = classifiers.loaded(dbt.ref("prediction_classifiers").df())
    return scoring.predictions_table(now, parameters, models, config, as_of)
