"""One row per cluster and feature: size, share, mean, median and z-score of the centre."""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features").df()
    centres = dbt.ref("cluster_centres").df()
    result = dbt_bridge.fit(features, dbt_bridge.config_from_dbt(dbt), centres)
    return dbt_bridge.with_as_of(result.profiles, features)
