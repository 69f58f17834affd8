"""Predicted customer lifetime value: BG/NBD purchases x Gamma-Gamma order value, discounted.

``predicted_clv`` sums, period by period, the expected purchases in the period (the difference
of eq. 10's E[Y(t)] at consecutive period ends) discounted to today by
(1 + annual rate) ^ -(period end in years), times the expected average order value.

``fit_clv`` validates a customer frame, applies the minimum-data rules, fits both models and
predicts per customer. Data too thin to fit, or an optimiser that does not converge, never
raise: the result has ``converged`` False, a ``reason`` and NaN predictions (the BG/NBD columns
are kept when only the Gamma-Gamma step fails). Invalid rows raise ``ValueError`` instead
(see ``validate``): they signal a bug upstream, and dropping them would hide it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from segmentation.predictions import bgnbd
from segmentation.predictions.bgnbd import BgNbdFit, fit_bgnbd
from segmentation.predictions.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from segmentation.predictions.validate import as_float, check_monetary, check_rfm

UNIT_DAYS = {"days": 1.0, "weeks": 7.0}
DAYS_PER_YEAR = 365.0
WINDOW_DAYS = (30, 90, 365)
PREDICTION_COLUMNS = (
    "p_alive",
    "churn_probability",
    *(f"expected_purchases_{d}d" for d in WINDOW_DAYS),
    "expected_average_order_value",
    "predicted_clv",
)


def _cumulative_purchases(
    model: BgNbdFit, times: list[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> dict[float, np.ndarray]:
    """E[Y(t)] (eq. 10) at each of ``times``. Its hypergeometric part (the purchases if alive)
    depends on (x, T) only; whole-day ages repeat those pairs a lot, so it is then evaluated
    once per distinct pair."""
    alive = bgnbd.p_alive(model.params, x, t_x, T)
    ux, ix = np.unique(x, return_inverse=True)
    uT, iT = np.unique(T, return_inverse=True)
    pairs, inverse = np.unique(ix.astype(np.int64) * len(uT) + iT, return_inverse=True)
    if len(pairs) <= x.size // 2:
        x, T = ux[pairs // len(uT)], uT[pairs % len(uT)]
    else:
        inverse = None
    out = {}
    for t in times:
        bracket = bgnbd.expected_purchases_if_alive(model.params, t, x, T)
        out[t] = (bracket if inverse is None else bracket[inverse]) * alive
    return out


def _period_ends(horizon: float, period: float) -> list[float]:
    if not (horizon > 0 and period > 0):
        raise ValueError(f"horizon and period must be > 0, got {horizon} and {period}")
    count = math.ceil(horizon / period - 1e-9)
    return [min((k + 1) * period, horizon) for k in range(count)]


def predicted_clv(
    model: BgNbdFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    average_order_value: ArrayLike,
    *,
    horizon: float,
    period: float,
    units_per_year: float,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """Discounted expected revenue over (T, T + horizon], all times in the model's unit.

    The last period is cut at ``horizon``. With a zero rate the sum telescopes to
    E[Y(horizon)] x average_order_value.
    """
    if not annual_discount_rate > -1.0:
        raise ValueError(f"annual_discount_rate must be > -1, got {annual_discount_rate}")
    x, t_x, T = as_float(x), as_float(t_x), as_float(T)
    ends = _period_ends(horizon, period)
    cumulative = _cumulative_purchases(model, ends, x, t_x, T)
    return _discounted(cumulative, ends, units_per_year, annual_discount_rate) * np.asarray(
        average_order_value, dtype=np.float64
    )


def _discounted(
    cumulative: dict[float, np.ndarray], ends: list[float], units_per_year: float, rate: float
) -> np.ndarray:
    total, previous = 0.0, 0.0
    for end in ends:
        total = total + (cumulative[end] - previous) * (1.0 + rate) ** (-end / units_per_year)
        previous = cumulative[end]
    return total


@dataclass(frozen=True, eq=False)
class ClvResult:
    """The fits and the per-customer predictions (``PREDICTION_COLUMNS``, the frame's index).

    ``converged`` is True only when both models fitted; ``reason`` says why not ('' if so).
    """

    predictions: pd.DataFrame
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    converged: bool
    reason: str
    customers: int
    repeat_buyers: int
    time_unit: str


def spend_values(x: np.ndarray, monetary: ArrayLike, index: pd.Index, mode: str) -> np.ndarray:
    """Validated mean repeat values (NaN where x = 0); ``mode`` "ignore" also turns a
    repeat buyer's non-positive or missing value into NaN instead of raising."""
    if mode not in ("raise", "ignore"):
        raise ValueError(f"nonpositive_spend must be 'raise' or 'ignore', got {mode!r}")
    m = as_float(monetary)
    if mode == "ignore" and len(m) == len(x):
        with np.errstate(invalid="ignore"):
            unusable = (x > 0) & ~(np.isfinite(m) & (m > 0))
        x = np.where(unusable, 0.0, x)
    return check_monetary(x, m, index)


def _minimum_data_reason(x: np.ndarray, min_customers: int, min_repeat_buyers: int) -> str:
    n, repeat = x.size, int(np.count_nonzero(x > 0))
    if n < min_customers:
        return f"only {n} customer{'' if n == 1 else 's'} (need {min_customers})"
    if repeat == 0:
        return "no repeat buyers: BG/NBD cannot be fitted"
    if repeat < min_repeat_buyers:
        return f"only {repeat} repeat buyer{'' if repeat == 1 else 's'} (need {min_repeat_buyers})"
    return bgnbd.data_problem(x)


def _gamma_gamma_reason(fit: GammaGammaFit) -> str:
    if not fit.converged:
        return fit.message
    if not fit.has_finite_mean:
        return f"Gamma-Gamma q = {fit.q:.4g} <= 1: the expected order value is infinite"
    return ""


def _nan_predictions(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=index, columns=list(PREDICTION_COLUMNS), dtype=np.float64)


def _predict(
    bg: BgNbdFit,
    gg: GammaGammaFit | None,
    rfm: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    index: pd.Index,
    unit_days: float,
    horizon_days: float,
    periods_per_year: int,
    annual_discount_rate: float,
) -> pd.DataFrame:
    """Per-customer predictions; the order value and CLV columns are NaN without ``gg``."""
    x, t_x, T, m = rfm
    windows = [d / unit_days for d in WINDOW_DAYS]
    ends = _period_ends(horizon_days / unit_days, DAYS_PER_YEAR / periods_per_year / unit_days)
    cumulative = _cumulative_purchases(bg, sorted(set(windows) | set(ends)), x, t_x, T)
    out = _nan_predictions(index)
    alive = bg.p_alive(x, t_x, T)
    out["p_alive"] = alive
    out["churn_probability"] = 1.0 - alive
    for days, t in zip(WINDOW_DAYS, windows, strict=True):
        out[f"expected_purchases_{days}d"] = cumulative[t]
    if gg is not None:
        # a customer without a usable repeat spend (NaN m) gets the population mean
        aov = gg.expected_average_order_value(np.where(np.isfinite(m), x, 0.0), m)
        units_per_year = DAYS_PER_YEAR / unit_days
        clv = _discounted(cumulative, ends, units_per_year, annual_discount_rate) * aov
        out["expected_average_order_value"] = aov
        out["predicted_clv"] = clv
    return out


def fit_clv(
    frame: pd.DataFrame,
    time_unit: str = "days",
    *,
    frequency: str = "frequency",
    recency: str = "recency",
    age: str = "T",
    monetary_value: str = "monetary_value",
    min_customers: int = 100,
    min_repeat_buyers: int = 20,
    horizon_days: float = 365.0,
    periods_per_year: int = 12,
    annual_discount_rate: float = 0.10,
    penalty: float = 0.0,
    max_iterations: int = 2_000,
    nonpositive_spend: str = "raise",
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma on one row per customer and predict for every row.

    Columns (names configurable): ``frequency`` x = repeat purchases, ``recency`` t_x = time
    from the first to the last purchase, ``age`` T = time from the first purchase to the as-of
    date, all in ``time_unit`` ("days" or "weeks"), and ``monetary_value`` = mean value of the
    repeat orders (ignored where x = 0). The purchase windows (30/90/365 days) and the CLV
    horizon (``horizon_days``, in ``periods_per_year`` periods, discounted at
    ``annual_discount_rate``) are converted to the time unit; a year is 365 days.
    ``penalty`` and ``max_iterations`` go to both fits. ``nonpositive_spend="ignore"``:
    a repeat buyer whose mean repeat value is not positive (returns netted out) stays in
    BG/NBD but not in Gamma-Gamma, and gets the population mean order value.
    """
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(UNIT_DAYS)}, got {time_unit!r}")
    missing = [c for c in (frequency, recency, age, monetary_value) if c not in frame.columns]
    if missing:
        raise ValueError(f"the customer frame lacks the columns {missing}")
    index = frame.index
    x, t_x, T = check_rfm(frame[frequency], frame[recency], frame[age], index)
    m = spend_values(x, frame[monetary_value], index, nonpositive_spend)

    def result(predictions, bg, gg, reason: str) -> ClvResult:
        repeat = int(np.count_nonzero(x > 0))
        return ClvResult(predictions, bg, gg, not reason, reason, x.size, repeat, time_unit)

    reason = _minimum_data_reason(x, min_customers, min_repeat_buyers)
    if reason:
        return result(_nan_predictions(index), None, None, reason)
    bg = fit_bgnbd(x, t_x, T, penalty=penalty, max_iterations=max_iterations)
    if not bg.converged:
        return result(_nan_predictions(index), bg, None, bg.message)
    gg = fit_gamma_gamma(
        np.where(np.isfinite(m), x, 0.0), m, penalty=penalty, max_iterations=max_iterations
    )
    reason = _gamma_gamma_reason(gg)
    predictions = _predict(
        bg,
        None if reason else gg,
        (x, t_x, T, m),
        index,
        UNIT_DAYS[time_unit],
        horizon_days,
        periods_per_year,
        annual_discount_rate,
    )
    return result(predictions, bg, gg, reason)


def predict_clv(
    frame: pd.DataFrame,
    bg: BgNbdFit,
    gg: GammaGammaFit | None,
    time_unit: str = "days",
    *,
    frequency: str = "frequency",
    recency: str = "recency",
    age: str = "T",
    monetary_value: str = "monetary_value",
    horizon_days: float = 365.0,
    periods_per_year: int = 12,
    annual_discount_rate: float = 0.10,
    nonpositive_spend: str = "raise",
) -> pd.DataFrame:
    """``fit_clv``'s predictions with parameters fitted before (a run within the refit
    cadence scores with the stored ones); ``gg`` None leaves order value and CLV NaN."""
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(UNIT_DAYS)}, got {time_unit!r}")
    x, t_x, T = check_rfm(frame[frequency], frame[recency], frame[age], frame.index)
    m = spend_values(x, frame[monetary_value], frame.index, nonpositive_spend)
    if frame.empty:
        return _nan_predictions(frame.index)
    return _predict(
        bg,
        gg,
        (x, t_x, T, m),
        frame.index,
        UNIT_DAYS[time_unit],
        horizon_days,
        periods_per_year,
        annual_discount_rate,
    )
