"""One row per classification task (purchase_propensity, churn): the method the backtest
selected (model_evaluation), trained on the snapshot one horizon before as_of, pickled.

Within ``prediction_refit_every_days`` of the training (same settings, same selected
methods) the run keeps the models (``trained_as_of`` says when they were trained), and
int_customers_point_in_time then computes only the snapshot at as_of."""

from segmentation.predictions import backtest, classifiers, dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    points = dbt.ref("int_customers_point_in_time")
    as_of = dbt_bridge.relation_as_of(points)
    selected = backtest.selected_methods(dbt.ref("model_evaluation").df(), config)
    previous = dbt_bridge.previous_table(session, dbt.this)
    kept = classifiers.reusable_classifiers(previous, selected, config, as_of)
    if kept is not None:
        return kept
    snapshots, _ = dbt_bridge.snapshots_of(points, classifiers.training_offsets(config))
    return classifiers.classifiers_table(snapshots, selected, config, as_of)
