"""Glue between the dbt Python models in python_models/ and the clustering pipeline.

The four cluster models (centres, assignments, profiles, diagnostics) are views of one fit.
dbt-duckdb runs Python models inside the dbt process, so the fit is computed once and cached
here, keyed by the features and the config. On a cache miss (a model run on its own) the fit is
recomputed and matched to the centres just built: the fit is deterministic, so the cluster ids
come out the same.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.clustering.config import DEFAULT_CONFIG
from segmentation.clustering.pipeline import ClusteringResult, run_clustering

_LOCK = threading.Lock()
_CACHE: dict[str, ClusteringResult] = {}


def config_from_dbt(dbt: Any) -> dict[str, Any]:
    """The clustering settings in the model's meta (python_models/_python_models.yml, where
    they come from vars); empty values fall back to the package defaults."""
    meta = dbt.config.get("meta") or {}
    settings = meta.get("clustering") or {}
    config: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in DEFAULT_CONFIG:
            raise ValueError(f"unknown clustering setting {key!r}; known: {sorted(DEFAULT_CONFIG)}")
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
            continue
        config[key] = value
    return config


def _fingerprint(features: pd.DataFrame, config: dict[str, Any]) -> str:
    ordered = features.sort_values("person_id").reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _comparable(previous: pd.DataFrame | None, config: dict[str, Any]) -> pd.DataFrame | None:
    """Previous centres are only a reference when they describe the same features."""
    if previous is None or previous.empty or "feature" not in previous:
        return None
    features = config.get("features", DEFAULT_CONFIG["features"])
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    return previous if set(previous["feature"]) == set(features) else None


def fit(
    features: pd.DataFrame, config: dict[str, Any], previous_centres: pd.DataFrame | None
) -> ClusteringResult:
    """The (cached) clustering of ``features``; ids matched to ``previous_centres``."""
    key = _fingerprint(features, config)
    with _LOCK:
        if key not in _CACHE:
            _CACHE.clear()  # one fit at a time is enough; keeps memory flat
            # one BLAS/OpenMP thread: dbt runs other models beside this one, and spinning
            # OpenMP threads on busy cores made k-means 15x slower (0.24 s -> 3.7 s a fit)
            with threadpool_limits(limits=1):
                _CACHE[key] = run_clustering(
                    features, config, _comparable(previous_centres, config)
                )
        return _CACHE[key]


def previous_table(session: Any, relation: Any) -> pd.DataFrame | None:
    """The model's own table from the previous run, if there is one."""
    try:
        return session.sql(f"select * from {relation}").df()
    except Exception:  # noqa: BLE001 - first run: the table does not exist yet
        return None


def with_as_of(frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["as_of"] = features["as_of"].max() if len(features) else pd.NaT
    return out
