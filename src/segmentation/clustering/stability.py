"""Stable cluster ids across runs, and measures of how stable a clustering is.

Ids: without a previous run, clusters are numbered ``0..k-1`` by size (largest first; ties by
centre coordinates). With the previous run's ``centres`` table, the previous centres are
mapped into this run's scaled space (undo the previous scaler and log, apply this run's) and
the new clusters are matched to them by the Hungarian algorithm on Euclidean centre
distance; a matched cluster keeps the previous id (unless the distance exceeds
``max_match_distance``), the rest get fresh ids above every id seen before. Noise is -1.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from segmentation.clustering.prepare import FeatureTransformer

PARAMETER_COLUMNS = ("scaler", "scaler_center", "scaler_scale", "is_log")


def canonical_order(centres: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Internal cluster indices ordered by size (desc), then centre coordinates."""
    keys = [np.round(centres[:, j], 9) for j in range(centres.shape[1] - 1, -1, -1)]
    return np.lexsort((*keys, -np.asarray(sizes))) if len(centres) else np.array([], int)


def previous_in_current_space(
    previous: pd.DataFrame, current: FeatureTransformer
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Previous centres as ``(ids, matrix in the current scaled space, feature columns)``.

    ``feature columns`` are positions in ``current.features`` shared by both runs; the matrix
    has one column per shared feature. Without scaler columns in ``previous`` its values are
    taken to be in the current scaled space already.
    """
    needed = {"cluster_id", "feature", "value"}
    missing = needed - set(previous.columns)
    if missing:
        raise ValueError(f"previous_centres lacks columns {sorted(missing)}")
    prev = previous[previous["cluster_id"].astype(np.int64) >= 0]
    if prev.empty:
        return np.array([], np.int64), np.zeros((0, 0)), []
    wide = prev.pivot_table(index="cluster_id", columns="feature", values="value", aggfunc="first")
    shared = [j for j, f in enumerate(current.features) if f in wide.columns]
    names = [current.features[j] for j in shared]
    ids = wide.index.to_numpy(np.int64)
    values = wide[names].to_numpy(np.float64)
    if set(PARAMETER_COLUMNS) <= set(prev.columns) and names:
        params = prev.drop_duplicates("feature").set_index("feature").loc[names]
        t = values * params["scaler_scale"].to_numpy(np.float64) + params["scaler_center"].to_numpy(
            np.float64
        )
        prev_log = params["is_log"].astype(bool).to_numpy()
        raw = t.copy()
        raw[:, prev_log] = np.expm1(t[:, prev_log])  # only the log columns: no overflow
        cur_log = current.is_log[shared]
        t_cur = np.where(cur_log, np.log1p(np.clip(raw, 0.0, None)), raw)
        values = (t_cur - current.center[shared]) / current.scale[shared]
    keep = np.isfinite(values).all(axis=1)
    return ids[keep], values[keep], shared


def match_ids(
    centres: np.ndarray,
    sizes: np.ndarray,
    transformer: FeatureTransformer,
    previous: pd.DataFrame | None,
    max_distance: float | None = None,
) -> np.ndarray:
    """Stable id for each internal cluster ``0..k-1`` (see the module docstring)."""
    k = len(centres)
    order = canonical_order(centres, sizes)
    ids = np.full(k, -1, dtype=np.int64)
    if previous is None or len(previous) == 0 or k == 0:
        ids[order] = np.arange(k)
        return ids
    prev_ids, prev_x, shared = previous_in_current_space(previous, transformer)
    if len(prev_ids) and not shared:
        warnings.warn(
            "previous_centres share no feature with this run: fresh cluster ids",
            stacklevel=2,
        )
    if len(prev_ids) and shared:
        cost = cdist(centres[:, shared], prev_x)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if max_distance is None or cost[r, c] <= max_distance:
                ids[r] = prev_ids[c]
    seen = previous["cluster_id"].astype(np.int64)
    next_id = int(max(seen.max(), -1)) + 1 if len(seen) else 0
    for r in order:
        if ids[r] < 0:
            ids[r] = next_id
            next_id += 1
    return ids


# -- measures --------------------------------------------------------------------------------
def label_agreement(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """Share of persons in both assignment frames whose ``cluster_id`` did not change."""
    merged = before[["person_id", "cluster_id"]].merge(
        after[["person_id", "cluster_id"]], on="person_id", suffixes=("_before", "_after")
    )
    if merged.empty:
        return float("nan")
    return float((merged["cluster_id_before"] == merged["cluster_id_after"]).mean())


def assignment_ari(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Adjusted Rand index between two assignment frames on their common persons."""
    merged = a[["person_id", "cluster_id"]].merge(
        b[["person_id", "cluster_id"]], on="person_id", suffixes=("_a", "_b")
    )
    return float(adjusted_rand_score(merged["cluster_id_a"], merged["cluster_id_b"]))


def split_halves(person_ids: pd.Series, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves (boolean masks) by a keyed hash of the id."""
    key = f"{(int(seed) + 1) % 10**16:016d}"
    h = pd.util.hash_array(
        np.asarray(person_ids, dtype=object).astype(str).astype(object),
        hash_key=key,
        categorize=False,
    )
    first = (h % np.uint64(2)) == 0
    return first, ~first


def disjoint_sample_ari(
    df: pd.DataFrame,
    run: Callable[[pd.DataFrame], object],
) -> float:
    """Fit on two disjoint halves of ``df``, assign all of ``df`` with both, return the ARI.

    ``run`` fits on a frame and returns an object with ``predict(df) -> assignments``
    (e.g. ``lambda part: run_clustering(part, config)``).
    """
    first, second = split_halves(df["person_id"], seed=0)
    a = run(df[first]).predict(df)  # type: ignore[attr-defined]
    b = run(df[second]).predict(df)  # type: ignore[attr-defined]
    return assignment_ari(a, b)
