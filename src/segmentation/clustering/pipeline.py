"""``run_clustering``: the whole run, from the features mart to the four output tables.

A run either **refits** (prepare, scan k on a sample, fit, assign everyone, match ids to the
previous centres, name) or **assigns** to the previous centres (rebuild the stored transformer
and centres, assign everyone, keep ids and names); :mod:`segmentation.clustering.cadence`
decides which. Both end in the same assignment code: after a refit the centres are put in
cluster-id order and everyone is assigned to them exactly as an assign-only run does, so an
assign-only run on the same data gives the same assignments, bit for bit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmentation.clustering.cadence import (
    RefitDecision,
    StoredCentres,
    as_timestamp,
    decide,
    fit_columns,
    fit_id,
    stored_centres,
)
from segmentation.clustering.config import (
    DEFAULT_PROFILE_EXTRA,
    ClusteringConfig,
    config_fingerprint,
    resolve_config,
)
from segmentation.clustering.fit import FittedClusters, fit_clusters, nearest_centre
from segmentation.clustering.naming import name_clusters
from segmentation.clustering.prepare import (
    ID_COLUMN,
    FeatureTransformer,
    fill_value_for,
    raw_matrix,
    stable_sample,
)
from segmentation.clustering.select_k import DIAGNOSTICS_COLUMNS, diagnostics_frame
from segmentation.clustering.stability import match_ids

ASSIGNMENT_COLUMNS = ("person_id", "cluster_id", "cluster_name", "distance_to_centre")
PROFILE_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "size",
    "share",
    "feature",
    "is_clustering_feature",
    "mean",
    "median",
    "null_share",
    "z_score",
    "buyer_z_score",
)
# which fit a table comes from: "fitted" (this run refitted) or "assigned" (this run assigned
# to stored centres), the as_of of the run that fitted the centres, the config fingerprint,
# and both in one string (fit_id) that the diagnostics carry too (no timestamp there: the
# diagnostics stay JSON-friendly). Why the run refitted or assigned is
# ``ClusteringResult.decision.reason``, not in the tables: a refit gives the same tables
# whatever triggered it (a refresh equals a full rebuild).
FIT_COLUMNS = ("fit_mode", "fitted_as_of", "config_fingerprint", "fit_id")
DIAGNOSTICS_FIT_COLUMNS = ("fit_mode", "fit_id")
CENTRE_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "feature",
    "feature_index",
    "value",
    "original_value",
    "scaler",
    "scaler_center",
    "scaler_scale",
    "is_log",
    "fill_value",
    "algorithm",
    *FIT_COLUMNS,
)
RUN_DIAGNOSTICS_COLUMNS = (*DIAGNOSTICS_COLUMNS, *DIAGNOSTICS_FIT_COLUMNS)


@dataclass
class ClusteringResult:
    """The four tables of a run, plus what is needed to assign more rows the same way."""

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    diagnostics: pd.DataFrame
    centres: pd.DataFrame
    config: ClusteringConfig
    transformer: FeatureTransformer
    model: FittedClusters
    cluster_ids: np.ndarray  # stable id per internal cluster index
    names: dict[int, str] = field(default_factory=dict)
    # wall seconds per stage: prepare, choose_k, fit, assign, profile, total (not in tables)
    timings: dict[str, float] = field(default_factory=dict)
    decision: RefitDecision = field(default_factory=lambda: RefitDecision(True, "refit"))
    as_of: pd.Timestamp | None = None  # of this run
    fitted_as_of: pd.Timestamp | None = None  # of the run that fitted the centres
    config_fingerprint: str = ""

    @property
    def algorithm(self) -> str:
        return self.config.algorithm

    @property
    def k(self) -> int:
        """Number of clusters (noise not counted)."""
        return len(self.cluster_ids)

    @property
    def fit_mode(self) -> str:
        """``"fitted"`` (this run refitted) or ``"assigned"`` (assigned to stored centres)."""
        return self.decision.fit_mode

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "assignments": self.assignments,
            "profiles": self.profiles,
            "diagnostics": self.diagnostics,
            "centres": self.centres,
        }

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Assign other rows with this run's preparation and model (assignments columns)."""
        order, ids = _id_order(df)
        x = self.transformer.transform_raw(raw_matrix(df, self.transformer.features)[order])
        internal, dist = self.model.assign(x, self.config.chunk_size)
        return _assignment_frame(ids, internal, dist, self.cluster_ids, self.names)


def run_clustering(
    df: pd.DataFrame,
    config: Mapping[str, Any] | ClusteringConfig | None = None,
    previous_centres: pd.DataFrame | None = None,
    *,
    as_of: Any = None,
    previous_diagnostics: pd.DataFrame | None = None,
    decision: RefitDecision | None = None,
) -> ClusteringResult:
    """Cluster the persons of a ``customer_features`` frame.

    ``df``: one row per person, ``person_id`` plus the feature columns; ``config``: see
    :data:`segmentation.clustering.DEFAULT_CONFIG`; ``previous_centres``: the ``centres``
    table of the previous run, to keep cluster ids stable and, within the refit cadence, to
    assign to instead of refitting (see :mod:`segmentation.clustering.cadence`); ``as_of``:
    of this run (default: the maximum of ``df["as_of"]`` if there is such a column; unknown
    means refit); ``previous_diagnostics``: the previous run's diagnostics, whose scan rows an
    assign-only run carries over; ``decision``: skip the cadence rules and refit or assign as
    told (assigning needs reusable ``previous_centres``). Deterministic: the same rows (in
    any order), config, previous tables and ``as_of`` give identical tables; outputs are
    ordered by ``person_id``.
    """
    start = time.perf_counter()
    cfg = resolve_config(config)
    run_as_of = as_timestamp(
        as_of
        if as_of is not None
        else (df["as_of"].max() if "as_of" in df.columns and len(df) else None)
    )
    order, person_ids = _id_order(df)
    stored: StoredCentres | None = None
    if decision is None:
        decision, stored = decide(cfg, previous_centres, run_as_of)
    elif not decision.refit:
        if previous_centres is None:
            raise ValueError("assigning to stored centres needs previous_centres")
        stored = stored_centres(previous_centres)
        if stored.transformer.features != cfg.features:
            raise ValueError(
                f"stored centres have features {stored.transformer.features}, "
                f"the config {cfg.features}"
            )
    if len(person_ids) == 0:
        return _empty_result(cfg, decision, run_as_of)
    if stored is not None:
        return _assign_only(df, order, person_ids, cfg, stored, decision, run_as_of,
                            previous_diagnostics, start)  # fmt: skip
    return _refit(df, order, person_ids, cfg, previous_centres, decision, run_as_of, start)


def _refit(
    df: pd.DataFrame,
    order: np.ndarray | slice,
    person_ids: Any,
    cfg: ClusteringConfig,
    previous_centres: pd.DataFrame | None,
    decision: RefitDecision,
    as_of: pd.Timestamp | None,
    start: float,
) -> ClusteringResult:
    profile_cols = _profile_columns(df, cfg)  # the features first, in order
    raw = raw_matrix(df, profile_cols)[order]
    features_raw = raw[:, : len(cfg.features)]
    transformer = FeatureTransformer.fit_raw(features_raw, cfg)
    x = transformer.transform_raw(features_raw)
    timings = {"prepare": time.perf_counter() - start}

    mark = time.perf_counter()
    sample = stable_sample(person_ids, _sample_size(cfg), cfg.random_state)
    model, scan = fit_clusters(x, sample, cfg)
    fit_seconds = time.perf_counter() - mark
    timings["choose_k"] = scan.seconds
    timings["fit"] = fit_seconds - scan.seconds

    mark = time.perf_counter()
    internal, dist = model.assign(x, cfg.chunk_size)
    model, internal, dist = _drop_empty(model, x, internal, dist, cfg.chunk_size)
    sizes = np.bincount(internal[internal >= 0], minlength=model.k)
    ids = match_ids(model.centres, sizes, transformer, previous_centres, cfg.max_match_distance)
    model, ids, internal, dist = _in_id_order(model, ids, x, internal, dist, cfg.chunk_size)
    timings["assign"] = time.perf_counter() - mark

    mark = time.perf_counter()
    stable = _stable_labels(internal, ids)
    stats = _profile_stats(raw, stable, profile_cols, cfg)
    z = stats.pivot(index="cluster_id", columns="feature", values="z_score")
    median_freq = (
        stats[stats["feature"] == "frequency"].set_index("cluster_id")["median"].to_dict()
        if "frequency" in profile_cols
        else None
    )
    buyer_z = stats.pivot(index="cluster_id", columns="feature", values="buyer_z_score")
    names = name_clusters(z, median_freq, cfg.name_z_threshold, cfg.name_max_terms, buyer_z)

    diagnostics = scan.diagnostics.copy()
    if cfg.algorithm in {"dbscan", "hdbscan"}:
        diagnostics["noise_share"] = float((stable < 0).mean())
    diagnostics = diagnostics_frame(diagnostics.to_dict("records"))
    fingerprint = config_fingerprint(cfg)
    result = ClusteringResult(
        assignments=_assignment_frame(person_ids, internal, dist, ids, names),
        profiles=_profiles_frame(stats, names),
        diagnostics=_with_fit_columns(
            diagnostics, decision, as_of, fingerprint, DIAGNOSTICS_FIT_COLUMNS
        ),
        centres=_centre_frame(model, ids, names, transformer, decision, as_of, fingerprint),
        config=cfg,
        transformer=transformer,
        model=model,
        cluster_ids=ids,
        names=names,
        timings=timings,
        decision=decision,
        as_of=as_of,
        fitted_as_of=as_of,
        config_fingerprint=fingerprint,
    )
    timings["profile"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    return result


def _assign_only(
    df: pd.DataFrame,
    order: np.ndarray | slice,
    person_ids: Any,
    cfg: ClusteringConfig,
    stored: StoredCentres,
    decision: RefitDecision,
    as_of: pd.Timestamp | None,
    previous_diagnostics: pd.DataFrame | None,
    start: float,
) -> ClusteringResult:
    profile_cols = _profile_columns(df, cfg)
    raw = raw_matrix(df, profile_cols)[order]
    transformer = stored.transformer
    x = transformer.transform_raw(raw[:, : len(cfg.features)])
    timings = {"prepare": time.perf_counter() - start, "choose_k": 0.0, "fit": 0.0}

    mark = time.perf_counter()
    model = FittedClusters(stored.algorithm, stored.centres)
    ids = stored.cluster_ids
    internal, dist = model.assign(x, cfg.chunk_size)
    timings["assign"] = time.perf_counter() - mark

    mark = time.perf_counter()
    stats = _profile_stats(raw, _stable_labels(internal, ids), profile_cols, cfg)
    names = stored.names
    fingerprint = stored.config_fingerprint
    fitted = stored.fitted_as_of
    result = ClusteringResult(
        assignments=_assignment_frame(person_ids, internal, dist, ids, names),
        profiles=_profiles_frame(stats, names),
        diagnostics=pd.DataFrame(),  # set below, from the previous diagnostics
        centres=_centre_frame(model, ids, names, transformer, decision, fitted, fingerprint),
        config=cfg,
        transformer=transformer,
        model=model,
        cluster_ids=ids,
        names=names,
        timings=timings,
        decision=decision,
        as_of=as_of,
        fitted_as_of=fitted,
        config_fingerprint=fingerprint,
    )
    result.diagnostics = carry_diagnostics(previous_diagnostics, result)
    timings["profile"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    return result


def carry_diagnostics(previous: pd.DataFrame | None, result: ClusteringResult) -> pd.DataFrame:
    """The diagnostics of an assign-only run: the scan rows of the fit its centres come from
    (``previous`` rows with the same ``fit_id``: fitted_as_of and config fingerprint),
    marked ``assigned``. Without them (no previous table, or it was written by another
    fit): one chosen row with the number of clusters and no metrics."""
    rows = pd.DataFrame()
    if previous is not None and set(RUN_DIAGNOSTICS_COLUMNS) <= set(previous.columns):
        same_fit = previous["fit_id"].astype(str) == fit_id(
            result.fitted_as_of, result.config_fingerprint
        )
        rows = previous.loc[same_fit, list(DIAGNOSTICS_COLUMNS)]
    if rows.empty:
        rows = pd.DataFrame(
            [
                {
                    "algorithm": result.algorithm,
                    "k": result.k,
                    "sample_size": 0,
                    "silhouette_sample_size": 0,
                    "noise_share": 0.0,
                    "is_elbow": False,
                    "is_chosen": True,
                    "parameters": json.dumps({"scan": "not available"}),
                }
            ]
        )
    return _with_fit_columns(
        diagnostics_frame(rows.to_dict("records")),
        result.decision,
        result.fitted_as_of,
        result.config_fingerprint,
        DIAGNOSTICS_FIT_COLUMNS,
    )


# -- helpers ---------------------------------------------------------------------------------
def _id_order(df: pd.DataFrame) -> tuple[np.ndarray | slice, Any]:
    """Positions that sort ``df`` by person id (a slice when they are sorted already: taking
    it copies nothing), and the sorted ids; ids must be unique."""
    if ID_COLUMN not in df.columns:
        raise ValueError(f"customer features need a {ID_COLUMN!r} column")
    ids = df[ID_COLUMN]
    if ids.isna().any():
        raise ValueError(f"{ID_COLUMN} must not be null")
    keys = ids.astype(str)
    sorted_keys = keys.to_numpy(dtype=object)
    if (sorted_keys[1:] > sorted_keys[:-1]).all():
        # already strictly increasing (the dbt models read the features sorted): unique, and
        # the stable argsort would be the identity; the ids stay in their own array (making
        # 1M strings Python objects and back cost 0.5 s)
        return slice(None), ids.array
    if keys.duplicated().any():
        dupes = keys[keys.duplicated()].unique()[:5].tolist()
        raise ValueError(f"{ID_COLUMN} must be unique; duplicated e.g. {dupes}")
    order = np.argsort(keys.to_numpy(dtype=object), kind="stable")
    return order, ids.to_numpy()[order]


def _sample_size(cfg: ClusteringConfig) -> int:
    if cfg.algorithm == "hierarchical":
        return min(cfg.sample_size, cfg.hierarchical_sample_size)
    if cfg.algorithm in {"dbscan", "hdbscan"}:
        return min(cfg.sample_size, cfg.density_sample_size)
    return cfg.sample_size


def _drop_empty(
    model: FittedClusters,
    x: np.ndarray,
    internal: np.ndarray,
    dist: np.ndarray,
    chunk_size: int,
) -> tuple[FittedClusters, np.ndarray, np.ndarray]:
    """Centroid models: a centre nobody is nearest to is dropped (rows are re-assigned)."""
    if model.reference is not None or model.k == 0:
        return model, internal, dist
    sizes = np.bincount(internal, minlength=model.k)
    if (sizes > 0).all():
        return model, internal, dist
    kept = FittedClusters(model.algorithm, model.centres[sizes > 0])
    internal, dist = nearest_centre(x, kept.centres, chunk_size)
    return kept, internal, dist


def _in_id_order(
    model: FittedClusters,
    ids: np.ndarray,
    x: np.ndarray,
    internal: np.ndarray,
    dist: np.ndarray,
    chunk_size: int,
) -> tuple[FittedClusters, np.ndarray, np.ndarray, np.ndarray]:
    """Centroid models: centres in cluster-id order, everyone assigned to them again if the
    order changed. That is what an assign-only run does with the stored centres (which are
    in id order), so both give the same labels even where a row is equally near two centres.
    Density models keep their own assignment (they are never assigned to stored centres)."""
    order = np.argsort(ids, kind="stable")
    if model.reference is not None or (order == np.arange(len(ids))).all():
        return model, ids, internal, dist
    model = FittedClusters(model.algorithm, np.ascontiguousarray(model.centres[order]))
    internal, dist = model.assign(x, chunk_size)
    return model, ids[order], internal, dist


def _assignment_frame(
    person_ids: Any,
    internal: np.ndarray,
    dist: np.ndarray,
    ids: np.ndarray,
    names: Mapping[int, str],
) -> pd.DataFrame:
    stable = _stable_labels(internal, ids)
    lookup = {int(k): v for k, v in names.items()}
    return pd.DataFrame(
        {
            "person_id": person_ids,
            "cluster_id": stable.astype(np.int64),
            "cluster_name": pd.Series(stable).map(lookup).astype("str").to_numpy(),
            "distance_to_centre": dist.astype(np.float64),
        }
    )


def _stable_labels(internal: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if len(ids) == 0:
        return np.full(len(internal), -1, dtype=np.int64)
    return np.where(internal >= 0, ids[np.maximum(internal, 0)], -1).astype(np.int64)


def _profile_columns(df: pd.DataFrame, cfg: ClusteringConfig) -> list[str]:
    extra = cfg.profile_features
    if extra is None:
        extra = tuple(c for c in DEFAULT_PROFILE_EXTRA if c in df.columns)
    return list(dict.fromkeys([*cfg.features, *extra]))


def _profile_stats(
    raw: np.ndarray, labels: np.ndarray, columns: list[str], cfg: ClusteringConfig
) -> pd.DataFrame:
    """Long table: per cluster and column size, share, mean, median, null share, z-score.

    Mean and median are of the imputed values in original units; the z-score is the cluster
    mean of the prepared (imputed, log1p where configured) column, standardised over all
    rows — for clustering features with the standard scaler that is the centre itself. The
    buyer z-score is the same among buyers only (frequency > 0, else recency not null):
    the cluster's buyers against all buyers; NaN when a cluster has none.
    Column by column, each column's rows grouped by cluster once (every per-cluster sum is
    then one ``reduceat``, every median one slice): memory stays at a few columns, and at 1M
    rows this is 4x faster than a ``bincount`` per statistic.
    """
    n, p = raw.shape
    cluster_ids, group = np.unique(labels, return_inverse=True)
    g = len(cluster_ids)
    sizes = np.bincount(group, minlength=g).astype(np.float64)
    order = np.argsort(group, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes.astype(np.int64))])
    starts = bounds[:-1]  # every cluster of np.unique has rows: no empty slice

    def sorted_column(j: int) -> np.ndarray:
        return raw[:, j][order]

    buyers = _buyer_mask(sorted_column, columns, cfg)
    buyer_sizes = np.add.reduceat(buyers.astype(np.float64), starts) if n else sizes

    def group_means(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        if mask is None:
            return np.add.reduceat(values, starts) / np.maximum(sizes, 1)
        sums = np.add.reduceat(np.where(mask, values, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(buyer_sizes > 0, sums / buyer_sizes, np.nan)

    stats = {
        k: np.empty((g, p)) for k in ("mean", "null_share", "z_score", "buyer_z_score", "median")
    }
    for j, column in enumerate(columns):
        column_raw = sorted_column(j)
        missing = np.isnan(column_raw)
        values = np.where(missing, fill_value_for(column, column_raw, cfg), column_raw)
        stats["mean"][:, j] = group_means(values)
        stats["median"][:, j] = [
            np.median(values[a:b]) for a, b in zip(starts, bounds[1:], strict=True)
        ]
        stats["null_share"][:, j] = group_means(missing.astype(np.float64))
        prepared = np.log1p(np.clip(values, 0.0, None)) if column in cfg.log_features else values
        stats["z_score"][:, j] = _standardised_means(group_means(prepared), prepared)
        if buyers.any():
            stats["buyer_z_score"][:, j] = _standardised_means(
                group_means(prepared, buyers), prepared[buyers]
            )
        else:
            stats["buyer_z_score"][:, j] = np.nan

    out = pd.DataFrame(
        {
            "cluster_id": np.repeat(cluster_ids.astype(np.int64), p),
            "size": np.repeat(sizes.astype(np.int64), p),
            "share": np.repeat(sizes / n, p),
            "feature": pd.array(np.tile(np.array(columns, dtype=object), g), dtype="str"),
            "is_clustering_feature": np.tile([c in cfg.features for c in columns], g),
            **{k: v.reshape(-1) for k, v in stats.items()},
        }
    )
    return out


def _standardised_means(group_means: np.ndarray, values: np.ndarray) -> np.ndarray:
    sd = values.std()
    return (group_means - values.mean()) / (sd if sd > 0 else 1.0)


def _buyer_mask(
    column: Callable[[int], np.ndarray], columns: list[str], cfg: ClusteringConfig
) -> np.ndarray:
    """Buyers: imputed frequency > 0, else a known recency, else nobody."""
    if "frequency" in columns:
        j = columns.index("frequency")
        values = column(j)
        return np.where(np.isnan(values), fill_value_for("frequency", values, cfg), values) > 0
    if "recency_days" in columns:
        return ~np.isnan(column(columns.index("recency_days")))
    return np.zeros(len(column(0)) if columns else 0, dtype=bool)


def _profiles_frame(stats: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    stats.insert(1, "cluster_name", stats["cluster_id"].map(names).astype("str"))
    return stats[list(PROFILE_COLUMNS)].reset_index(drop=True)


def _with_fit_columns(
    frame: pd.DataFrame,
    decision: RefitDecision,
    fitted_as_of: pd.Timestamp | None,
    fingerprint: str,
    columns: tuple[str, ...] = FIT_COLUMNS,
) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    for name, column in fit_columns(decision, fitted_as_of, fingerprint, len(out)).items():
        if name in columns:
            out[name] = column
    return out


def _centre_frame(
    model: FittedClusters,
    ids: np.ndarray,
    names: Mapping[int, str],
    transformer: FeatureTransformer,
    decision: RefitDecision,
    fitted_as_of: pd.Timestamp | None,
    fingerprint: str,
) -> pd.DataFrame:
    params = transformer.parameters()
    original = transformer.inverse_transform(model.centres) if model.k else model.centres
    parts = []
    for internal in np.argsort(ids, kind="stable"):
        part = params.copy()
        part.insert(0, "cluster_id", np.int64(ids[internal]))
        part.insert(1, "cluster_name", names[int(ids[internal])])
        part["value"] = model.centres[internal]
        part["original_value"] = original[internal]
        part["algorithm"] = model.algorithm
        parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=_centre_dtype(c)) for c in CENTRE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    text = {"cluster_name": "str", "feature": "str", "scaler": "str", "algorithm": "str"}
    out = _with_fit_columns(out.astype(text), decision, fitted_as_of, fingerprint)
    return out[list(CENTRE_COLUMNS)]


def _centre_dtype(column: str) -> str:
    if column in {"cluster_id", "feature_index"}:
        return "int64"
    if column == "is_log":
        return "bool"
    if column == "fitted_as_of":
        return "datetime64[us]"
    if column in {"cluster_name", "feature", "scaler", "algorithm", *FIT_COLUMNS}:
        return "str"
    return "float64"


def _empty_result(
    cfg: ClusteringConfig, decision: RefitDecision, as_of: pd.Timestamp | None
) -> ClusteringResult:
    """No rows: empty tables (a refit; the next run with rows fits afresh)."""

    def empty(columns: tuple[str, ...], dtypes: Mapping[str, str]) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})

    decision = RefitDecision(True, "no rows") if not decision.refit else decision
    fingerprint = config_fingerprint(cfg)
    text = {"person_id": "str", "cluster_name": "str", "feature": "str"}
    ints = {"cluster_id": "int64", "size": "int64"}
    model = FittedClusters(cfg.algorithm, np.zeros((0, len(cfg.features))))
    transformer = FeatureTransformer.fit_raw(np.zeros((0, len(cfg.features))), cfg)
    return ClusteringResult(
        assignments=empty(ASSIGNMENT_COLUMNS, {**text, **ints}),
        profiles=empty(PROFILE_COLUMNS, {**text, **ints, "is_clustering_feature": "bool"}),
        diagnostics=_with_fit_columns(
            diagnostics_frame([]), decision, as_of, fingerprint, DIAGNOSTICS_FIT_COLUMNS
        ),
        centres=empty(CENTRE_COLUMNS, {c: _centre_dtype(c) for c in CENTRE_COLUMNS}),
        config=cfg,
        transformer=transformer,
        model=model,
        cluster_ids=np.array([], dtype=np.int64),
        decision=decision,
        as_of=as_of,
        fitted_as_of=as_of,
        config_fingerprint=fingerprint,
    )
