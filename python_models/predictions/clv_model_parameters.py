"""One row per BG/NBD + Gamma-Gamma fit (the current one flagged ``is_current``): the
parameters, log-likelihoods, customers, convergence and the reason when there is no fit.

Within ``prediction_refit_every_days`` of the current fit (same settings) the run keeps it
(``fit_mode`` reused) and the predictions score with it; otherwise it fits on the snapshot
at as_of and appends the new fit."""

from segmentation.predictions import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    points = dbt.ref("int_customers_point_in_time")
    # dbt passes a Python model only the meta keys its code reads literally like this
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("predictions"))
    now = dbt_bridge.snapshot(points, 0)
    as_of = dbt_bridge.relation_as_of(points)
    previous = dbt_bridge.previous_table(session, dbt.this)
    return dbt_bridge.parameters_table(now, config, previous, as_of)
