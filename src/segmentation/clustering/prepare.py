"""From the ``customer_features`` mart to a scaled numeric matrix.

Steps, per feature column (in this order):

1. **Cast** to float (bool -> 0/1, decimals and nullable types accepted; +-inf counts as null).
2. **Impute** nulls — nobody is ever dropped:

   * "days since" columns (``recency_features``: ``recency_days``, ``days_since_*``): a null
     means the thing never happened, which is further in the past than anything observed, so
     it becomes ``max observed + 1`` (or ``recency_null_fill`` when set; 0 when the column is
     entirely null, so that it is constant and carries no weight);
   * everything else (money, counts, rates, scores, tenure, booleans): 0 — a person with no
     orders has spent nothing, a person without e-mails has opened none;
   * ``fill_values`` overrides both rules per column.

3. **log1p** for the skewed ``log_features`` after clipping negatives at 0 (net revenue can be
   negative after returns).
4. **Scale**: ``StandardScaler`` (z-scores) or ``RobustScaler`` (median / IQR); a constant
   column gets scale 1, i.e. it becomes all zeros.

The fitted state (:class:`FeatureTransformer`) holds the fill values and scaler parameters so
that new rows, or the previous run's centres, can be brought into the same space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler, StandardScaler

from segmentation.clustering.config import ClusteringConfig, resolve_config

ID_COLUMN = "person_id"


def column_as_float(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for nulls (bool, nullable, decimal and object accepted)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        out = series.to_numpy(dtype=np.float64, copy=True)
    elif pd.api.types.is_extension_array_dtype(dtype) and (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        out = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:  # object (decimals, bools with None), strings of numbers
        values = series.map(lambda v: np.nan if v is None or v is pd.NA else float(v))
        out = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def fill_value_for(
    column: str, values: np.ndarray, config: ClusteringConfig
) -> float:  # values: the raw column
    """The documented imputation rule for one column (see the module docstring)."""
    if column in config.fill_values:
        return float(config.fill_values[column])
    if column in config.recency_features:
        if config.recency_null_fill is not None:
            return float(config.recency_null_fill)
        observed = values[~np.isnan(values)]
        return float(observed.max() + 1.0) if observed.size else 0.0
    return 0.0


@dataclass(frozen=True)
class FeatureTransformer:
    """Fitted preparation: fill values, log flags and scaler parameters per feature."""

    features: tuple[str, ...]
    fill: np.ndarray  # per feature: value used for nulls (original units)
    is_log: np.ndarray  # per feature: log1p applied (after clipping at 0)
    center: np.ndarray  # per feature: scaler location (in the log/raw space)
    scale: np.ndarray  # per feature: scaler scale (never 0)
    scaler: str  # "standard" or "robust"

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, config: ClusteringConfig) -> FeatureTransformer:
        return cls.fit_raw(raw_matrix(df, config.features), config)

    @classmethod
    def fit_raw(cls, raw: np.ndarray, config: ClusteringConfig) -> FeatureTransformer:
        """Fit on the raw matrix (columns = ``config.features``, NaN for nulls)."""
        fill = np.array(
            [fill_value_for(c, raw[:, j], config) for j, c in enumerate(config.features)]
        )
        is_log = np.array([c in config.log_features for c in config.features], dtype=bool)
        t = _transform_unscaled(raw, fill, is_log)
        if len(t) == 0:
            center, scale = np.zeros(t.shape[1]), np.ones(t.shape[1])
        elif config.scaler == "robust":
            rs = RobustScaler().fit(t)
            center, scale = rs.center_.astype(np.float64), rs.scale_.astype(np.float64)
        else:
            ss = StandardScaler().fit(t)
            center, scale = ss.mean_.astype(np.float64), ss.scale_.astype(np.float64)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return cls(tuple(config.features), fill, is_log, center, scale, config.scaler)

    # -- applying ------------------------------------------------------------------------
    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Rows of ``df`` in scaled space (same row order)."""
        return self.transform_raw(raw_matrix(df, self.features))

    def transform_raw(self, raw: np.ndarray) -> np.ndarray:
        t = _transform_unscaled(raw, self.fill, self.is_log)
        t -= self.center
        t /= self.scale
        return np.ascontiguousarray(t)

    def unscaled(self, df: pd.DataFrame) -> np.ndarray:
        """Imputed and log-transformed, not yet scaled."""
        return _transform_unscaled(raw_matrix(df, self.features), self.fill, self.is_log)

    def imputed(self, df: pd.DataFrame) -> np.ndarray:
        """Imputed values in original units (what the profiles report)."""
        raw = raw_matrix(df, self.features)
        return np.where(np.isnan(raw), self.fill, raw)

    def scale_unscaled(self, t: np.ndarray) -> np.ndarray:
        return (t - self.center) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Scaled space back to original units (log features via expm1, floored at 0)."""
        t = np.asarray(x, dtype=np.float64) * self.scale + self.center
        # expm1 on the log columns only: a linear column (e.g. recency in days) can exceed
        # exp's range, and np.where would evaluate it everywhere
        t[..., self.is_log] = np.maximum(np.expm1(t[..., self.is_log]), 0.0)
        return t

    # -- persistence (in the centres table) --------------------------------------------
    def parameters(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "feature": list(self.features),
                "feature_index": np.arange(len(self.features), dtype=np.int64),
                "scaler": self.scaler,
                "scaler_center": self.center,
                "scaler_scale": self.scale,
                "is_log": self.is_log,
                "fill_value": self.fill,
            }
        )

    @classmethod
    def from_parameters(cls, params: pd.DataFrame) -> FeatureTransformer:
        p = params.drop_duplicates("feature").sort_values("feature_index", kind="stable")
        fill = (
            p["fill_value"].to_numpy(np.float64)
            if "fill_value" in p
            else np.zeros(len(p), dtype=np.float64)
        )
        return cls(
            features=tuple(str(f) for f in p["feature"]),
            fill=fill,
            is_log=p["is_log"].astype(bool).to_numpy(),
            center=p["scaler_center"].to_numpy(np.float64),
            scale=p["scaler_scale"].to_numpy(np.float64),
            scaler=str(p["scaler"].iloc[0]),
        )


def raw_matrix(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The listed columns as a float64 matrix with NaN for nulls."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"customer features are missing columns needed for clustering: {missing}")
    # C order, the layout of rows taken by position too: distances summed over another
    # layout differ in the last bit, and a run must not depend on the input's row order
    out = np.empty((len(df), len(columns)), dtype=np.float64)
    for j, c in enumerate(columns):
        out[:, j] = column_as_float(df[c])
    return out


def _transform_unscaled(raw: np.ndarray, fill: np.ndarray, is_log: np.ndarray) -> np.ndarray:
    t = np.where(np.isnan(raw), fill, raw)
    if is_log.any():
        t[:, is_log] = np.log1p(np.clip(t[:, is_log], 0.0, None))
    return t


def prepare_features(
    df: pd.DataFrame, config: Mapping[str, Any] | ClusteringConfig | None = None
) -> tuple[np.ndarray, list[str], FeatureTransformer]:
    """Impute, log-transform and scale the clustering features of ``df``.

    Returns ``(X, feature_names, transformer)``; ``X`` has one row per row of ``df`` in the
    same order and one column per feature name; ``transformer.transform`` applies the same
    preparation to other rows.
    """
    cfg = resolve_config(config)
    transformer = FeatureTransformer.fit(df, cfg)
    return transformer.transform(df), list(transformer.features), transformer


def stable_sample(person_ids: pd.Series | np.ndarray, size: int, seed: int) -> np.ndarray:
    """Positions of a seeded sample of ``size`` rows, chosen by a keyed hash of the id.

    Which person is in the sample depends on the person and the seed only, not on the row
    order or on who else is in the data: adding 5 % new customers keeps ~95 % of the sample,
    which keeps the fit (and the labels) stable from one run to the next. Positions are
    returned sorted.
    """
    ids = np.asarray(person_ids, dtype=object)
    n = len(ids)
    if size >= n:
        return np.arange(n)
    key = f"{int(seed) % 10**16:016d}"
    hashes = pd.util.hash_array(ids.astype(str).astype(object), hash_key=key, categorize=False)
    # smallest hashes win; ties (practically impossible) broken by position
    chosen = np.argpartition(hashes, size - 1)[:size] if size > 0 else np.array([], dtype=int)
    return np.sort(chosen)


def sub_sample(n: int, size: int, seed: int) -> np.ndarray:
    """Seeded positions ``0..n-1`` (sorted) for a sub-sample of an already chosen sample."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
