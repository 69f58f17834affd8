"""Backtest metrics: ranking (AUC, top-decile lift) and calibration of a score."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

CALIBRATION_BINS = 10


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def top_decile_lift(labels: np.ndarray, scores: np.ndarray) -> float:
    """Positive rate among the top 10 % by score over the overall rate. Ties at the cut are
    broken by position after a stable sort, so equal scores do not all land in the top."""
    if labels.size == 0 or labels.sum() == 0:
        return float("nan")
    top = max(1, int(round(labels.size * 0.1)))
    order = np.argsort(-scores, kind="stable")
    return float(labels[order[:top]].mean() / labels.mean())


def calibration(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Brier score, mean predicted vs observed rate, and the expected calibration error over
    ten equal-count bins of the predictions."""
    if labels.size == 0:
        return {
            "brier": float("nan"),
            "mean_predicted": float("nan"),
            "observed_rate": float("nan"),
            "calibration_error": float("nan"),
        }
    order = np.argsort(probabilities, kind="stable")
    error = 0.0
    for part in np.array_split(order, min(CALIBRATION_BINS, labels.size)):
        error += part.size * abs(probabilities[part].mean() - labels[part].mean())
    return {
        "brier": float(np.mean((probabilities - labels) ** 2)),
        "mean_predicted": float(probabilities.mean()),
        "observed_rate": float(labels.mean()),
        "calibration_error": float(error / labels.size),
    }


def deciles(scores: np.ndarray) -> np.ndarray:
    """1-10 by score (10 = highest), equal counts, ties broken by position; NaN stays NaN."""
    out = np.full(scores.size, np.nan)
    known = np.flatnonzero(~np.isnan(scores))
    if known.size:
        order = known[np.argsort(scores[known], kind="stable")]
        out[order] = 1 + np.floor(10.0 * np.arange(known.size) / known.size)
    return out
