"""One row per cluster and feature: the centres of the current fit (scaled and original units)
with the scaling used, when and under which config they were fitted (``fitted_as_of``,
``config_fingerprint``) and what this run did (``fit_mode``: fitted / assigned).

Reads its own table from the previous run first. Within ``clustering_refit_every_days`` of the
previous fit (same config) this run assigns everyone to those centres and keeps them as they
are; otherwise it refits and matches the new clusters to the old ones (Hungarian assignment on
centre distance), so they keep their ids. The other cluster models follow this decision.
"""

from segmentation.clustering import dbt_bridge


def model(dbt, session):
    dbt.config(materialized="table")
    features = dbt.ref("customer_features")  # to pandas only if the run is not cached
    previous = dbt_bridge.previous_table(session, dbt.this)
    # dbt passes a Python model only the meta keys its code reads literally like this
    config = dbt_bridge.config_from_meta(dbt.config.meta_get("clustering"))
    result = dbt_bridge.centres_run(features, config, previous)
    return dbt_bridge.with_as_of(result.centres, result)
