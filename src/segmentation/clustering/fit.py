"""Fitting the chosen algorithm and assigning every row.

* ``kmeans``: the k chosen on the sample is refined on all rows, starting from the sample's
  centres (``n_init=1``): ``KMeans`` up to ``minibatch_threshold`` rows, ``MiniBatchKMeans``
  (``minibatch_batch_size``) above.
* ``hierarchical``: Ward ``AgglomerativeClustering`` on a sample of
  ``hierarchical_sample_size`` rows (Ward needs O(m^2) memory); centres are the sample
  cluster means.
* ``dbscan``: ``DBSCAN`` on a sample of ``density_sample_size`` rows; a row belongs to the
  cluster of its nearest core sample if that is within ``eps``, else it is noise (-1).
  ``eps`` defaults to the knee of the sorted k-distance curve of the sample.
* ``hdbscan``: ``HDBSCAN`` on the same sample; a row takes the label (noise included) of its
  nearest sample point.

Assignment of all rows is chunked (``chunk_size`` rows at a time): nearest centre with numpy
for centroid models, a KD/ball tree over the reference points for the density models.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors

from segmentation.clustering.config import ClusteringConfig
from segmentation.clustering.select_k import (
    KScan,
    cluster_means,
    diagnostics_frame,
    scan_hierarchical,
    scan_kmeans,
    score_labels,
)


@dataclass
class FittedClusters:
    """A fitted model in scaled space, with internal cluster labels ``0..k-1``.

    ``centres`` (k, p) are the cluster centres. Density models also carry ``reference``
    points with their labels (-1 = noise) and, for DBSCAN, the ``radius`` within which a core
    point claims a row.
    """

    algorithm: str
    centres: np.ndarray
    reference: np.ndarray | None = None
    reference_labels: np.ndarray | None = None
    radius: float | None = None

    @property
    def k(self) -> int:
        return len(self.centres)

    def assign(self, x: np.ndarray, chunk_size: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
        """(labels, distance to the own centre); noise rows get -1 and the distance to the
        nearest centre (NaN if there is no cluster at all)."""
        if self.reference is None:
            return nearest_centre(x, self.centres, chunk_size)
        labels = np.full(len(x), -1, dtype=np.int64)
        if len(self.reference) and len(x):
            nn = NearestNeighbors(n_neighbors=1).fit(self.reference)
            for a in range(0, len(x), chunk_size):
                dist, idx = nn.kneighbors(x[a : a + chunk_size])
                lab = self.reference_labels[idx[:, 0]]
                if self.radius is not None:
                    lab = np.where(dist[:, 0] <= self.radius, lab, -1)
                labels[a : a + chunk_size] = lab
        return labels, distance_to_own_centre(x, labels, self.centres, chunk_size)


def nearest_centre(
    x: np.ndarray, centres: np.ndarray, chunk_size: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest centre, ``chunk_size`` rows at a time."""
    n = len(x)
    labels = np.zeros(n, dtype=np.int64)
    dist = np.full(n, np.nan, dtype=np.float64)
    if len(centres) == 0:
        return np.full(n, -1, dtype=np.int64), dist
    c_sq = np.einsum("ij,ij->i", centres, centres)
    for a in range(0, n, chunk_size):
        xc = x[a : a + chunk_size]
        d2 = xc @ centres.T
        d2 *= -2.0
        d2 += c_sq[None, :]
        d2 += np.einsum("ij,ij->i", xc, xc)[:, None]
        lab = np.argmin(d2, axis=1)
        labels[a : a + chunk_size] = lab
        # exact distance to the winner (the expanded form loses precision near 0)
        diff = xc - centres[lab]
        dist[a : a + chunk_size] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return labels, dist


def distance_to_own_centre(
    x: np.ndarray, labels: np.ndarray, centres: np.ndarray, chunk_size: int = 100_000
) -> np.ndarray:
    """Distance to the centre of the own cluster; noise: distance to the nearest centre."""
    dist = np.full(len(x), np.nan, dtype=np.float64)
    if len(centres) == 0:
        return dist
    member = labels >= 0
    for a in range(0, len(x), chunk_size):
        sl = slice(a, a + chunk_size)
        lab = labels[sl]
        m = member[sl]
        diff = x[sl][m] - centres[lab[m]]
        d = dist[sl]
        d[m] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        if (~m).any():
            d[~m] = nearest_centre(x[sl][~m], centres, chunk_size)[1]
    return dist


# -- algorithms ------------------------------------------------------------------------------
def n_distinct_rows(x: np.ndarray) -> int:
    return len(np.unique(x, axis=0)) if len(x) else 0


def fit_kmeans(
    x: np.ndarray, sample: np.ndarray, config: ClusteringConfig
) -> tuple[FittedClusters, KScan]:
    xs = x[sample]
    scan = scan_kmeans(xs, config, n_distinct_rows(xs))
    k = scan.chosen_k
    init = scan.sample_centres[k]
    if len(sample) == len(x):
        centres, estimator = init, "KMeans"
    elif len(x) <= config.minibatch_threshold:
        km = KMeans(
            n_clusters=k, init=init, n_init=1, max_iter=config.max_iter,
            random_state=config.random_state,
        ).fit(x)  # fmt: skip
        centres, estimator = km.cluster_centers_, "KMeans"
    else:
        mb = MiniBatchKMeans(
            n_clusters=k,
            init=init,
            n_init=1,
            batch_size=config.minibatch_batch_size,
            max_iter=config.max_iter,
            reassignment_ratio=0.0,
            random_state=config.random_state,
        ).fit(x)
        centres, estimator = mb.cluster_centers_, "MiniBatchKMeans"
    _set_parameters(
        scan,
        {
            "estimator": estimator,
            "fit_rows": len(x),
            "init": "sample centres",
            "scan_estimator": "KMeans",
            "n_init": config.n_init,
            "random_state": config.random_state,
            **({"batch_size": config.minibatch_batch_size} if estimator != "KMeans" else {}),
        },
    )
    return FittedClusters("kmeans", np.asarray(centres, dtype=np.float64)), scan


def fit_hierarchical(
    x: np.ndarray, sample: np.ndarray, config: ClusteringConfig
) -> tuple[FittedClusters, KScan]:
    xs = x[sample]
    scan = scan_hierarchical(xs, config, n_distinct_rows(xs))
    centres = scan.sample_centres[scan.chosen_k]
    _set_parameters(
        scan,
        {
            "estimator": "AgglomerativeClustering",
            "linkage": "ward",
            "assign": "nearest sample cluster mean",
        },
    )
    return FittedClusters("hierarchical", centres), scan


def dbscan_eps(xs: np.ndarray, min_samples: int) -> float:
    """Knee of the sorted distances to the ``min_samples``-th neighbour (kneedle)."""
    k = min(min_samples, len(xs))
    dist, _ = NearestNeighbors(n_neighbors=k).fit(xs).kneighbors(xs)
    kd = np.sort(dist[:, -1])
    if len(kd) < 3 or kd[-1] == kd[0]:
        return float(kd[-1]) if len(kd) and kd[-1] > 0 else 1.0
    xn = np.linspace(0.0, 1.0, len(kd))
    yn = (kd - kd[0]) / (kd[-1] - kd[0])
    eps = float(kd[int(np.argmax(xn - yn))])  # furthest below the chord of a convex curve
    return eps if eps > 0 else float(kd[kd > 0].min()) if (kd > 0).any() else 1.0


def fit_density(
    x: np.ndarray, sample: np.ndarray, config: ClusteringConfig
) -> tuple[FittedClusters, KScan]:
    start = time.perf_counter()
    xs = x[sample]
    p = x.shape[1]
    if config.algorithm == "dbscan":
        min_samples = config.dbscan_min_samples or 2 * p
        eps = config.dbscan_eps if config.dbscan_eps is not None else dbscan_eps(xs, min_samples)
        model = DBSCAN(eps=eps, min_samples=min_samples).fit(xs)
        labels = model.labels_.astype(np.int64)
        core = model.core_sample_indices_
        reference, reference_labels, radius = xs[core], labels[core], eps
        params = {"estimator": "DBSCAN", "eps": eps, "min_samples": min_samples}
    else:
        min_cluster_size = config.hdbscan_min_cluster_size or max(
            10, int(np.ceil(config.min_cluster_share * len(xs)))
        )
        min_cluster_size = max(2, min(min_cluster_size, len(xs)))
        model = HDBSCAN(
            min_cluster_size=min_cluster_size,
            min_samples=config.hdbscan_min_samples,
            copy=True,
        ).fit(xs)
        labels = model.labels_.astype(np.int64)
        labels[labels < -1] = -1  # -2 / -3: infinite or missing values, treated as noise
        reference, reference_labels, radius = xs, labels, None
        params = {
            "estimator": "HDBSCAN",
            "min_cluster_size": min_cluster_size,
            "min_samples": config.hdbscan_min_samples,
            "assign": "label of nearest sample point",
        }
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    centres = cluster_means(xs, labels, k) if k else np.zeros((0, p))
    scores = score_labels(xs, labels, config.silhouette_sample_size, config.random_state)
    row = {
        "algorithm": config.algorithm,
        "k": k,
        "sample_size": len(xs),
        "silhouette_sample_size": min(int((labels >= 0).sum()), config.silhouette_sample_size),
        **scores,
        "noise_share": float((labels < 0).mean()) if len(labels) else 0.0,
        "is_elbow": False,
        "is_chosen": True,
        "parameters": json.dumps(params, sort_keys=True, default=float),
    }
    scan = KScan(diagnostics_frame([row]), k, seconds=time.perf_counter() - start)
    fitted = FittedClusters(config.algorithm, centres, reference, reference_labels, radius)
    return fitted, scan


def fit_clusters(
    x: np.ndarray, sample: np.ndarray, config: ClusteringConfig
) -> tuple[FittedClusters, KScan]:
    """Fit ``config.algorithm`` (k chosen on ``x[sample]``); returns the model and the scan."""
    if config.algorithm == "kmeans":
        return fit_kmeans(x, sample, config)
    if config.algorithm == "hierarchical":
        return fit_hierarchical(x, sample, config)
    return fit_density(x, sample, config)


def _set_parameters(scan: KScan, params: dict) -> None:
    """Record the final estimator's parameters on the chosen row."""
    d = scan.diagnostics
    d.loc[d["is_chosen"], "parameters"] = json.dumps(params, sort_keys=True)
