"""One row per cluster and feature: the centres of this run's fit (scaled and original units).

Reads its own table from the previous run first, so new clusters are matched to old ones
(Hungarian assignment on centre distance) and keep their ids.
"""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features").df()
    previous = dbt_bridge.previous_table(session, dbt.this)
    config = dbt_bridge.config_from_dbt(dbt)
    result = dbt_bridge.fit(features, config, previous)
    return dbt_bridge.with_as_of(result.centres, features)
