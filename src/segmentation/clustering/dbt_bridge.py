"""Glue between the dbt Python models in python_models/ and the clustering pipeline.

The four cluster models (centres, assignments, profiles, diagnostics) are views of one run,
which either refits or assigns everyone to the stored centres (the refit cadence, see
``cadence.py``). dbt-duckdb runs Python models inside the dbt process, so the run is computed
once and cached here.

Who decides. Only ``cluster_centres`` decides between refit and assign-only: it reads its
own table from the previous build (the centres, their ``fitted_as_of`` and config
fingerprint) before dbt replaces it, and :func:`centres_run` caches the run under the
features and config fingerprint plus that previous table. The other three models run after
``cluster_centres`` replaced its table, so they cannot decide again: against the new table a
refit done a moment ago would look like fresh centres to assign to, and the diagnostics would
say "assigned". Instead :func:`result_for` takes the run whose *output* is the centres table
the model reads (same features and config, and the table equal to what that run produced):
all four models then show the same decision, centres, ids and names.

Cache miss (a model built without ``cluster_centres`` in the same process, e.g. ``dbt build
-s customer_clusters``, or features rebuilt since): the model replays what the centres table
says its run did (``fit_mode``): ``assigned`` -> assign to those centres; ``fitted`` -> refit
with ids matched to those centres (deterministic: on the same features this gives the same
centres and the same scan). A table without ``fit_mode`` (written before the cadence) or no
table: refit as usual.

Diagnostics: a refit writes its k scan. An assign-only run has no scan of its own, so
``cluster_diagnostics`` reads its own previous table and carries over the rows of the fit its
centres come from (same ``fit_id``: fitted_as_of and config fingerprint), marked ``assigned``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.clustering.cadence import FITTED, RefitDecision, as_timestamp, stored_centres
from segmentation.clustering.config import (
    DEFAULT_CONFIG,
    DEFAULT_PROFILE_EXTRA,
    config_fingerprint,
    resolve_config,
)
from segmentation.clustering.pipeline import ClusteringResult, carry_diagnostics, run_clustering
from segmentation.clustering.prepare import ID_COLUMN
from segmentation.dbt_python import previous_table  # noqa: F401 - the models call it here


@dataclass
class _Run:
    key: str  # features and config
    previous: str  # signature of the previous centres the run was decided on
    produced: str  # signature of the centres it produced
    result: ClusteringResult


_LOCK = threading.Lock()
_CACHE: dict[str, _Run] = {}


def config_from_meta(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The clustering settings of a model's meta (python_models/_python_models.yml, where they
    come from vars); empty values fall back to the package defaults.

    The model must read them itself with ``dbt.config.meta_get("clustering")``: dbt compiles
    into a Python model only the config and meta keys its own code asks for literally (a
    ``dbt.config.get("meta")`` inside this module would get nothing, and every var would be
    silently ignored)."""
    config: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key not in DEFAULT_CONFIG:
            raise ValueError(f"unknown clustering setting {key!r}; known: {sorted(DEFAULT_CONFIG)}")
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
            continue
        config[key] = value
    return config


Features = pd.DataFrame | duckdb.DuckDBPyRelation


def _fingerprint(features: Features, config: dict[str, Any]) -> str:
    """The rows (in any order), their columns and the config (cadence included: it changes
    the decision). A DuckDB relation (``dbt.ref``) is hashed inside DuckDB, so that a model
    whose run is cached never converts the 1M-row features to pandas."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    if isinstance(features, pd.DataFrame):
        row_hashes = pd.util.hash_pandas_object(features, index=False).to_numpy()
        digest.update(json.dumps(list(map(str, features.columns))).encode())
        digest.update(np.sort(row_hashes).tobytes())
    else:
        digest.update(json.dumps([features.columns, list(map(str, features.types))]).encode())
        rows = features.aggregate(
            "count(*), bit_xor(hash(*columns(*))), sum(hash(*columns(*))::hugeint)"
        ).fetchall()
        digest.update(repr(rows).encode())
    return digest.hexdigest()


def _frame(features: Features, config: dict[str, Any]) -> pd.DataFrame:
    """The features as pandas. From DuckDB only the columns a run reads (id, as_of, clustering
    and profile features), sorted by id there: converting all ~60 columns of 1M rows (ids and
    segment strings included) took longer than the clustering itself."""
    if isinstance(features, pd.DataFrame):
        return features
    cfg = resolve_config(config)
    profile = cfg.profile_features if cfg.profile_features is not None else DEFAULT_PROFILE_EXTRA
    wanted = dict.fromkeys([ID_COLUMN, "as_of", *cfg.features, *profile])
    columns = [c for c in wanted if c in features.columns]
    return features.select(", ".join(f'"{c}"' for c in columns)).order(f'"{ID_COLUMN}"').df()


def centres_signature(centres: pd.DataFrame | None) -> str:
    """A hash of a centres table that survives the round trip through DuckDB (the run's
    ``as_of``, added by the model, is left out)."""
    if centres is None:
        return "none"
    columns = sorted(c for c in centres.columns if c != "as_of")
    keys = [c for c in ("cluster_id", "feature") if c in columns]
    frame = centres.sort_values(keys, kind="stable") if keys else centres
    digest = hashlib.sha256()
    for column in columns:
        values = frame[column]
        digest.update(column.encode() + b"\x1e")
        if pd.api.types.is_datetime64_any_dtype(values):
            text = "\x1f".join(str(as_timestamp(v)) for v in values)
            digest.update(text.encode())
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            digest.update(values.to_numpy(dtype=np.float64, na_value=np.nan).tobytes())
        else:
            digest.update("\x1f".join(map(str, values)).encode())
    return digest.hexdigest()


def _comparable(previous: pd.DataFrame | None, config: dict[str, Any]) -> pd.DataFrame | None:
    """Previous centres are only a reference when they describe the same features."""
    if previous is None or previous.empty or "feature" not in previous:
        return None
    features = config.get("features", DEFAULT_CONFIG["features"])
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    return previous if set(previous["feature"]) == set(features) else None


def _run(
    key: str,
    previous_signature: str,
    features: Features,
    config: dict[str, Any],
    previous: pd.DataFrame | None,
    decision: RefitDecision | None,
) -> _Run:
    _CACHE.clear()  # one run at a time is enough; keeps memory flat
    # one BLAS/OpenMP thread: dbt runs other models beside this one, and spinning OpenMP
    # threads on busy cores made k-means 15x slower (0.24 s -> 3.7 s a fit)
    with threadpool_limits(limits=1):
        result = run_clustering(_frame(features, config), config, previous, decision=decision)
    run = _Run(key, previous_signature, centres_signature(result.centres), result)
    _CACHE[key] = run
    return run


def centres_run(
    features: Features, config: dict[str, Any], previous_centres: pd.DataFrame | None
) -> ClusteringResult:
    """``cluster_centres``: refit or assign-only against its own previous table (cached)."""
    key = _fingerprint(features, config)
    previous = _comparable(previous_centres, config)
    signature = centres_signature(previous)
    with _LOCK:
        run = _CACHE.get(key)
        if run is None or run.previous != signature:
            run = _run(key, signature, features, config, previous, None)
        return run.result


def result_for(
    features: Features, config: dict[str, Any], centres: pd.DataFrame | None
) -> ClusteringResult:
    """The other cluster models: the run that wrote ``centres`` (the ``cluster_centres``
    table they read); on a cache miss the run is replayed from the table."""
    key = _fingerprint(features, config)
    written = centres_signature(centres)
    with _LOCK:
        run = _CACHE.get(key)
        if run is not None and run.produced == written:
            return run.result
        current = _comparable(centres, config)
        decision = _replay(current, config)
        return _run(key, written, features, config, current, decision).result


def _replay(centres: pd.DataFrame | None, config: dict[str, Any]) -> RefitDecision | None:
    """What the run that wrote ``centres`` did; None (decide as usual) when unknown or when
    the centres were fitted under another config."""
    if centres is None or "fit_mode" not in centres.columns:
        return None
    modes = set(centres["fit_mode"].astype(str))
    if len(modes) != 1:
        return None
    decision = RefitDecision(modes.pop() == FITTED, "replayed from the centres table")
    if not decision.refit:
        try:
            stored = stored_centres(centres)
        except ValueError:
            return None
        if stored.config_fingerprint != config_fingerprint(config):
            return None
    return decision


def diagnostics(result: ClusteringResult, previous: pd.DataFrame | None) -> pd.DataFrame:
    """``cluster_diagnostics``: a refit's k scan, or for an assign-only run the scan rows of
    the fit its centres come from, carried over from the model's previous table."""
    if result.fit_mode == FITTED:
        return result.diagnostics
    return carry_diagnostics(previous, result)


def with_as_of(frame: pd.DataFrame, result: ClusteringResult) -> pd.DataFrame:
    """The table with the run's ``as_of`` (of the features) as a column."""
    out = frame.copy()
    out["as_of"] = pd.Series([result.as_of] * len(out), index=out.index, dtype="datetime64[us]")
    return out
