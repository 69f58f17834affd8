"""One row per k tried (one row for density algorithms): inertia (elbow), silhouette,
Davies-Bouldin, Calinski-Harabasz and which k was chosen, for the fit the current centres come
from. A run that assigned to stored centres carries the rows over from this table's previous
build (``fit_mode`` = assigned)."""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features")  # to pandas only if the run is not cached
    centres = dbt.ref("cluster_centres").df()
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("clustering"))
    result = dbt_bridge.result_for(features, config, centres)
    previous = dbt_bridge.previous_table(session, dbt.this)
    return dbt_bridge.with_as_of(dbt_bridge.diagnostics(result, previous), result)
