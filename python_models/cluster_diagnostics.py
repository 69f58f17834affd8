"""One row per k tried (one row for density algorithms): inertia (elbow), silhouette,
Davies-Bouldin, Calinski-Harabasz and which k was chosen."""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features").df()
    centres = dbt.ref("cluster_centres").df()
    result = dbt_bridge.fit(features, dbt_bridge.config_from_dbt(dbt), centres)
    return dbt_bridge.with_as_of(result.diagnostics, features)
