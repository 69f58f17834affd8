"""Input checks for the CLV models: bad rows raise ``ValueError``, they are never dropped.

Rows are invalid when a value is NaN or infinite, x (repeat purchases) is negative or not a
whole number, T < 0, t_x < 0, t_x > T, a repeat buyer has t_x = 0 (x > 0 means a purchase
after the first one) or a customer without repeat purchases has t_x != 0 (t_x is then 0 by
the models' convention: a recency column measured back from the as-of date fails here).
A repeat buyer's mean repeat order value must be finite and > 0. The message names the number
of bad rows per rule and the first bad customer's index label, so the upstream SQL can be fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def as_float(values: ArrayLike) -> np.ndarray:
    """A 1-d float64 copy (a scalar becomes a length-1 array). Nullable pandas columns and
    DuckDB DECIMALs (object dtype) convert too; their missing values become NaN."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel().copy()


def _raise(rules: dict[str, np.ndarray], columns: dict[str, np.ndarray], index: Any) -> None:
    bad = np.zeros(len(next(iter(columns.values()))), dtype=bool)
    for mask in rules.values():
        bad |= mask
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    label = index[first] if index is not None else first
    counts = ", ".join(f"{name}: {int(mask.sum())}" for name, mask in rules.items() if mask.any())
    values = ", ".join(f"{name}={col[first]!r}" for name, col in columns.items())
    raise ValueError(
        f"{int(bad.sum())} of {bad.size} rows have invalid inputs ({counts}); "
        f"first bad customer index: {label!r} ({values})"
    )


def check_rfm(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, index: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated float arrays (x, t_x, T); ``ValueError`` naming the bad rows otherwise."""
    x, t_x, T = as_float(x), as_float(t_x), as_float(T)
    if not len(x) == len(t_x) == len(T):
        raise ValueError(f"x, t_x and T differ in length: {len(x)}, {len(t_x)}, {len(T)}")
    finite = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)
    with np.errstate(invalid="ignore"):  # NaN compares False: those rows are flagged already
        rules = {
            "NaN or infinite": ~finite,
            "x < 0": finite & (x < 0),
            "x not a whole number": finite & (x != np.round(x)),
            "T < 0": finite & (T < 0),
            "t_x < 0": finite & (t_x < 0),
            "t_x > T": finite & (t_x > T),
            "x > 0 with t_x = 0": finite & (x > 0) & (t_x == 0),
            "x = 0 with t_x != 0": finite & (x == 0) & (t_x != 0),
        }
    _raise(rules, {"x": x, "t_x": t_x, "T": T}, index)
    return x, t_x, T


def check_monetary(
    x: np.ndarray, monetary: ArrayLike, index: Sequence[Any] | None = None
) -> np.ndarray:
    """Validated mean repeat order values; ignored (set to NaN) where x = 0."""
    m = as_float(monetary)
    if len(m) != len(x):
        raise ValueError(f"monetary values and x differ in length: {len(m)}, {len(x)}")
    repeat = x > 0
    with np.errstate(invalid="ignore"):
        rules = {
            "repeat buyer with NaN or infinite monetary value": repeat & ~np.isfinite(m),
            "repeat buyer with monetary value <= 0": repeat & np.isfinite(m) & (m <= 0),
        }
    _raise(rules, {"x": x, "monetary_value": m}, index)
    return np.where(repeat, m, np.nan)
