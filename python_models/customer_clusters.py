"""One row per person: cluster id, cluster name and distance to the cluster centre."""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features").df()
    centres = dbt.ref("cluster_centres").df()
    result = dbt_bridge.fit(features, dbt_bridge.config_from_dbt(dbt), centres)
    return dbt_bridge.with_as_of(result.assignments, features)
