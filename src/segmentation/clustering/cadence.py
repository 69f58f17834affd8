"""Refit cadence: whether a run refits or assigns everyone to the stored centres.

A scheduled refresh runs often (every few minutes to daily). Refitting every time is slow
(k scan and fit: most of the ~38 s of the four cluster models at 1M customers) and churns the
cluster definitions, so clusters are refitted on a cadence and new data is assigned to the
existing centres in between.

A run **refits** (scan k on the sample, fit, match ids to the previous centres) when

1. there are no previous centres (no ``cluster_centres`` table yet, or an empty one);
2. the previous centres cannot be reused: columns missing (a table from before the cadence),
   incomplete centres, or their features are not this config's features;
3. the previous centres were fitted under another :func:`config_fingerprint` (any setting but
   ``refit_every_days``: features, preparation, algorithm, k range, sample sizes, seeds...);
4. ``refit_every_days`` is 0;
5. the algorithm is ``dbscan`` or ``hdbscan``: they assign through core / sample points,
   which the centres table does not store;
6. the run's ``as_of`` or the centres' ``fitted_as_of`` is unknown, or ``as_of`` is before
   ``fitted_as_of`` (a backfill must not use centres fitted on later data);
7. the centres were fitted ``refit_every_days`` days or more before ``as_of``.

Otherwise it **assigns**: the transformer (fill values, log flags, scaler) and the centres are
rebuilt from the previous centres table (:func:`stored_centres`), every person is assigned to
the nearest centre with them (the same code as a refit's final assignment, so on the same data
an assign-only run gives a refit's assignments exactly), cluster ids and names are kept and
the profiles are recomputed from the current members. The centres keep their values and
``fitted_as_of``. The decision depends on the config, the previous centres and ``as_of``
only: the same inputs give the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmentation.clustering.config import ClusteringConfig, config_fingerprint
from segmentation.clustering.prepare import FeatureTransformer

FITTED = "fitted"
ASSIGNED = "assigned"
DENSITY_ALGORITHMS = ("dbscan", "hdbscan")
# what an assign-only run needs from the previous centres table
STORED_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "feature",
    "feature_index",
    "value",
    "scaler",
    "scaler_center",
    "scaler_scale",
    "is_log",
    "fill_value",
    "algorithm",
    "fitted_as_of",
    "config_fingerprint",
)


@dataclass(frozen=True)
class RefitDecision:
    """Refit or assign-only, and why (the reason is written to the diagnostics)."""

    refit: bool
    reason: str

    @property
    def fit_mode(self) -> str:
        return FITTED if self.refit else ASSIGNED


@dataclass(frozen=True)
class StoredCentres:
    """A previous fit rebuilt from its centres table."""

    transformer: FeatureTransformer
    centres: np.ndarray  # (k, p) in scaled space, rows in cluster-id order
    cluster_ids: np.ndarray  # ascending
    names: dict[int, str]
    algorithm: str
    fitted_as_of: pd.Timestamp | None
    config_fingerprint: str


def as_timestamp(value: Any) -> pd.Timestamp | None:
    """A naive timestamp in microseconds (DuckDB's TIMESTAMP), or None for null/NaT."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("us")


def stored_centres(previous: pd.DataFrame) -> StoredCentres:
    """Rebuild a fit from a centres table; ValueError when the table cannot be reused."""
    missing = [c for c in STORED_COLUMNS if c not in previous.columns]
    if missing:
        raise ValueError(f"previous centres lack {missing}")
    prev = previous[previous["cluster_id"].astype(np.int64) >= 0]
    if prev.empty:
        raise ValueError("previous centres are empty")
    transformer = FeatureTransformer.from_parameters(prev)
    wide = prev.pivot_table(index="cluster_id", columns="feature", values="value", aggfunc="first")
    missing_features = [f for f in transformer.features if f not in wide.columns]
    if missing_features:
        raise ValueError(f"previous centres have no values for {missing_features}")
    wide = wide.sort_index()[list(transformer.features)]
    centres = wide.to_numpy(np.float64)
    per_cluster = prev.groupby("cluster_id")["feature"].nunique()
    if not np.isfinite(centres).all() or (per_cluster != len(transformer.features)).any():
        raise ValueError("previous centres are incomplete")
    ids = wide.index.to_numpy(np.int64)
    names = prev.drop_duplicates("cluster_id").set_index("cluster_id")["cluster_name"]
    stamps = {as_timestamp(v) for v in prev["fitted_as_of"]}
    fingerprints = set(prev["config_fingerprint"].astype(str))
    algorithms = set(prev["algorithm"].astype(str))
    if len(stamps) != 1 or len(fingerprints) != 1 or len(algorithms) != 1:
        raise ValueError("previous centres mix several fits")
    return StoredCentres(
        transformer=transformer,
        centres=np.ascontiguousarray(centres),
        cluster_ids=ids,
        names={int(i): str(names.loc[i]) for i in ids},
        algorithm=algorithms.pop(),
        fitted_as_of=stamps.pop(),
        config_fingerprint=fingerprints.pop(),
    )


def decide(
    config: ClusteringConfig,
    previous: pd.DataFrame | None,
    as_of: pd.Timestamp | None,
) -> tuple[RefitDecision, StoredCentres | None]:
    """Refit or assign-only (rules in the module docstring); the stored fit when assigning."""
    if previous is None or len(previous) == 0:
        return RefitDecision(True, "no previous centres"), None
    try:
        stored = stored_centres(previous)
    except ValueError as reason:
        return RefitDecision(True, f"previous centres not reusable: {reason}"), None
    fingerprint = config_fingerprint(config)
    if stored.config_fingerprint != fingerprint:
        return RefitDecision(
            True, f"config changed ({stored.config_fingerprint} -> {fingerprint})"
        ), None
    if stored.transformer.features != tuple(config.features):
        return RefitDecision(True, "previous centres have other features"), None
    every = config.refit_every_days
    if every == 0:
        return RefitDecision(True, "refit_every_days is 0"), None
    if config.algorithm in DENSITY_ALGORITHMS:
        return RefitDecision(True, f"{config.algorithm} refits every run"), None
    if as_of is None or stored.fitted_as_of is None:
        return RefitDecision(True, "as_of or fitted_as_of unknown"), None
    age = as_of - stored.fitted_as_of
    if age < pd.Timedelta(0):
        return RefitDecision(True, f"as_of is before fitted_as_of {stored.fitted_as_of}"), None
    days = age / pd.Timedelta(days=1)
    if age >= pd.Timedelta(days=every):
        return RefitDecision(
            True, f"centres fitted {days:g} days before as_of (refit every {every})"
        ), None
    return RefitDecision(
        False, f"centres fitted {days:g} days before as_of (refit every {every})"
    ), stored


def fit_id(fitted_as_of: pd.Timestamp | None, fingerprint: str) -> str:
    """Names one fit: when (as_of) and under which config it was made."""
    return f"{fitted_as_of.isoformat() if fitted_as_of is not None else 'unknown'}/{fingerprint}"


def fit_columns(
    decision: RefitDecision, fitted_as_of: pd.Timestamp | None, fingerprint: str, n: int
) -> Mapping[str, pd.Series]:
    """The columns that say which fit a table comes from. The reason is left out: a refit
    gives the same tables whatever triggered it."""
    return {
        "fit_mode": pd.Series([decision.fit_mode] * n, dtype="str"),
        "fitted_as_of": pd.Series([fitted_as_of] * n, dtype="datetime64[us]"),
        "config_fingerprint": pd.Series([fingerprint] * n, dtype="str"),
        "fit_id": pd.Series([fit_id(fitted_as_of, fingerprint)] * n, dtype="str"),
    }
