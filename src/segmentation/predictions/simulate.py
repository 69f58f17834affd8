"""Simulators with known parameters, for tests and benchmarks (fully vectorised, seeded).

BG/NBD: lambda ~ Gamma(r, alpha) (alpha a rate), p ~ Beta(a, b). A customer dies right after
his K-th repeat purchase, K ~ Geometric(p) (support 1, 2, ...), so x = min(N, K) with
N ~ Poisson(lambda T) the purchases a live customer would make in (0, T]. Given N = n, the
purchase times are uniform order statistics on (0, T], so t_x = T * Beta(x, n - x + 1): no
per-purchase loop. A hold-out period (T, T + h] adds independent Poisson(lambda h) arrivals
to the same death clock.

Gamma-Gamma: nu ~ Gamma(q, gamma) (gamma a rate), each order value ~ Gamma(p, nu); the sum
of x values is Gamma(p x, nu), so the mean of x repeat orders needs one draw per customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """``frequency`` (x), ``recency`` (t_x), ``T``, ``alive`` (at T), ``holdout_purchases``."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    # p is clipped away from 0 so the geometric draw stays within int64.
    p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    deaths = rng.geometric(p)
    n_cal = rng.poisson(lam * T)
    x = np.minimum(n_cal, deaths)
    order = rng.beta(np.maximum(x, 1), n_cal - x + 1)  # x-th of n_cal uniform arrivals
    t_x = np.where(x > 0, T * order, 0.0)
    n_hold = rng.poisson(lam * holdout) if holdout > 0 else np.zeros(n, dtype=np.int64)
    holdout_purchases = np.minimum(n_cal + n_hold, deaths) - x
    return pd.DataFrame(
        {
            "frequency": x.astype(np.float64),
            "recency": t_x,
            "T": T,
            "alive": n_cal < deaths,
            "holdout_purchases": holdout_purchases.astype(np.float64),
        }
    )


def simulate_gamma_gamma(
    x: ArrayLike, p: float, q: float, gamma: float, *, seed: int = 0
) -> np.ndarray:
    """Mean repeat order value per customer; NaN where x = 0."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    total = rng.gamma(p * np.maximum(x, 1.0), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1.0), np.nan)


def simulate_customers(
    n: int,
    bgnbd: tuple[float, float, float, float],
    gamma_gamma: tuple[float, float, float],
    *,
    age_range: tuple[float, float],
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A ``fit_clv`` input frame: BG/NBD histories with T ~ Uniform(age_range) and spends."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(*age_range, n)
    frame = simulate_bgnbd(n, *bgnbd, ages, holdout=holdout, seed=seed + 1)
    frame["monetary_value"] = simulate_gamma_gamma(frame["frequency"], *gamma_gamma, seed=seed + 2)
    return frame
