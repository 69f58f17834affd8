"""One row per person: cluster id, cluster name and distance to the cluster centre."""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features")  # to pandas only if the run is not cached
    centres = dbt.ref("cluster_centres").df()
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("clustering"))
    result = dbt_bridge.result_for(features, config, centres)
    return dbt_bridge.with_as_of(result.assignments, result)
