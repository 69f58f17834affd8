"""Customer clustering for the ``customer_features`` mart (called by a thin dbt Python model).

Public API::

    run_clustering(df, config=None, previous_centres=None, *, as_of=None,
                   previous_diagnostics=None, decision=None) -> ClusteringResult
    prepare_features(df, config=None) -> (X, feature_names, FeatureTransformer)
    resolve_config(config) -> ClusteringConfig;  DEFAULT_CONFIG (dict of every key)
    config_fingerprint(config) -> str (every setting but refit_every_days)

``ClusteringResult`` holds four DataFrames (``assignments``, ``profiles``, ``diagnostics``,
``centres``); ``centres`` is what the next run takes back as ``previous_centres``: within
``refit_every_days`` of the fit (same config) the next run assigns to those centres instead
of refitting (``cadence``). Modules: ``prepare`` (imputation, log, scaling, sampling),
``select_k`` (k scan and metrics), ``fit`` (algorithms, chunked assignment), ``naming``
(cluster names), ``stability`` (stable ids, agreement measures), ``cadence`` (refit or
assign-only), ``pipeline`` (the run), ``synthetic`` (test data).
"""

from segmentation.clustering.cadence import RefitDecision, decide
from segmentation.clustering.config import (
    DEFAULT_CONFIG,
    DEFAULT_FEATURES,
    DEFAULT_LOG_FEATURES,
    ClusteringConfig,
    config_fingerprint,
    resolve_config,
)
from segmentation.clustering.naming import name_clusters
from segmentation.clustering.pipeline import ClusteringResult, run_clustering
from segmentation.clustering.prepare import FeatureTransformer, prepare_features
from segmentation.clustering.stability import (
    assignment_ari,
    disjoint_sample_ari,
    label_agreement,
)

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_FEATURES",
    "DEFAULT_LOG_FEATURES",
    "ClusteringConfig",
    "ClusteringResult",
    "FeatureTransformer",
    "RefitDecision",
    "assignment_ari",
    "config_fingerprint",
    "decide",
    "disjoint_sample_ari",
    "label_agreement",
    "name_clusters",
    "prepare_features",
    "resolve_config",
    "run_clustering",
]
