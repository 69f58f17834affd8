"""The Gamma-Gamma model of spend per order (Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves"; Fader & Hardie 2013, "The Gamma-Gamma model of monetary value").

A customer's order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers (both
second arguments rates), independent of the purchase process. With x repeat orders of mean
m_x, the mean is Gamma(p x, nu x) given nu, so marginally (the notes' density of z-bar)

    f(m_x | p, q, gamma, x) = Gamma(px + q) / (Gamma(px) Gamma(q))
                              * gamma^q m_x^(px - 1) x^(px) / (gamma + x m_x)^(px + q),

maximised over log(p, q, gamma) on repeat buyers only. The conditional mean order value is
E[M | m_x, x] = p (gamma + x m_x) / (p x + q - 1), the population mean (x = 0) p gamma / (q - 1);
both need q > 1. Spend is rescaled to mean 1 during the fit (gamma scales with money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from segmentation.predictions._optimize import dot, log_standard_errors, minimise
from segmentation.predictions.validate import as_float, check_monetary

Params = tuple[float, float, float]


@dataclass(frozen=True)
class GammaGammaFit:
    """Maximum likelihood Gamma-Gamma parameters (see ``BgNbdFit`` for ``converged``)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int
    converged: bool
    message: str
    iterations: int
    # Asymptotic standard errors of (p, q, gamma) (delta method from the log scale).
    standard_errors: tuple[float, ...] = (float("nan"),) * 3

    @property
    def params(self) -> Params:
        return (self.p, self.q, self.gamma)

    @property
    def has_finite_mean(self) -> bool:
        """q > 1: otherwise the expected order value is infinite."""
        return bool(self.q > 1.0)

    @property
    def population_mean(self) -> float:
        """E[M] for a customer without repeat orders: p gamma / (q - 1) (NaN if q <= 1)."""
        return population_mean(self.params)

    def expected_average_order_value(self, x: ArrayLike, m_x: ArrayLike) -> np.ndarray:
        return expected_average_order_value(self.params, x, m_x)


def log_likelihood(params: Params, x: ArrayLike, m_x: ArrayLike) -> np.ndarray:
    """ln f(m_x | p, q, gamma, x) per repeat buyer (x >= 1, m_x > 0)."""
    p, q, gamma = params
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m_x, dtype=np.float64)
    px = p * x
    norm = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
    return norm + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + x * m)


@dataclass(frozen=True)
class _Spends:
    """Repeat buyers' x and (rescaled) m_x, with the distinct x values and their counts."""

    x: np.ndarray
    m: np.ndarray
    log_m: np.ndarray
    ux: np.ndarray
    counts: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, m: np.ndarray) -> _Spends:
        ux, counts = np.unique(x, return_counts=True)
        return cls(x, m, np.log(m), ux, counts.astype(np.float64))


def _objective(theta: np.ndarray, d: _Spends, penalty: float) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (+ L2 on log-parameters) and its gradient in theta."""
    p, q, gamma = np.exp(theta)
    n, ux, cnt = d.x.size, d.ux, d.counts
    pu = p * ux  # the gamma functions depend on x only: one evaluation per distinct x
    log_gxm = np.log(gamma + d.x * d.m)
    ll = dot(cnt, gammaln(pu + q) - gammaln(pu) + pu * np.log(ux))
    ll += n * (q * np.log(gamma) - gammaln(q))
    ll += ((p * d.x - 1.0) * d.log_m).sum() - ((p * d.x + q) * log_gxm).sum()
    psi_pq = digamma(pu + q)
    d_p = dot(cnt, ux * (psi_pq - digamma(pu) + np.log(ux))) + dot(d.x, d.log_m - log_gxm)
    d_q = dot(cnt, psi_pq) - n * digamma(q) + n * np.log(gamma) - log_gxm.sum()
    d_gamma = n * q / gamma - ((p * d.x + q) / (gamma + d.x * d.m)).sum()
    grad = np.array([p * d_p, q * d_q, gamma * d_gamma])  # chain rule to log space
    return float(-ll / n + penalty * dot(theta, theta)), -grad / n + 2.0 * penalty * theta


def data_problem(x: np.ndarray, m: np.ndarray) -> str:
    """Why the Gamma-Gamma likelihood has no finite maximum here ('' if it has one)."""
    repeat = x > 0
    if not repeat.any():
        return "no repeat buyers: Gamma-Gamma cannot be fitted"
    if np.all(m[repeat] == m[repeat][0]):
        return "monetary value does not vary across repeat buyers: Gamma-Gamma cannot be fitted"
    return ""


def fit_gamma_gamma(
    x: ArrayLike,
    monetary_value: ArrayLike,
    *,
    penalty: float = 0.0,
    max_iterations: int = 2_000,
    index: Sequence[Any] | None = None,
) -> GammaGammaFit:
    """Fit on the repeat buyers (x >= 1) of the given customers; x = 0 rows are ignored.

    ``ValueError`` when a repeat buyer's mean order value is not finite and > 0; ``penalty``
    as in ``fit_bgnbd``. A converged fit with q <= 1 is returned as is: check
    ``has_finite_mean`` before predicting.
    """
    x = as_float(x)
    m = check_monetary(x, monetary_value, index)
    problem = data_problem(x, m)
    repeat = x > 0
    x, m = x[repeat], m[repeat]
    if problem:
        nan = float("nan")
        return GammaGammaFit(nan, nan, nan, nan, int(x.size), False, problem, 0)
    scale = float(m.mean())
    data = _Spends.build(x, m / scale)
    # Start: p = 2, q = 3 and gamma matching the (rescaled) mean spend p gamma / (q - 1) = 1.
    start = np.log([2.0, 3.0, 1.0])
    objective = partial(_objective, d=data, penalty=penalty)
    opt = minimise(objective, start, max_iterations)
    p, q, gamma = (float(v) for v in np.exp(opt.log_params))
    params = (p, q, gamma * scale)
    ll = float(np.sum(log_likelihood(params, x, m)))
    n = int(x.size)
    if not opt.converged:
        message = f"Gamma-Gamma fit did not converge: {opt.message}"
        return GammaGammaFit(*params, ll, n, False, message, opt.iterations)
    se = np.asarray(params) * log_standard_errors(objective, opt.log_params, n)
    return GammaGammaFit(*params, ll, n, True, opt.message, opt.iterations, tuple(se.tolist()))


def population_mean(params: Params) -> float:
    p, q, gamma = params
    return p * gamma / (q - 1.0) if q > 1.0 else float("nan")


def expected_average_order_value(params: Params, x: ArrayLike, m_x: ArrayLike) -> np.ndarray:
    """E[M | p, q, gamma, m_x, x] = p (gamma + x m_x) / (p x + q - 1); m_x is ignored where
    x = 0, which gives the population mean. NaN everywhere when q <= 1."""
    p, q, gamma = params
    x = np.asarray(x, dtype=np.float64)
    m = np.where(x > 0, np.asarray(m_x, dtype=np.float64), 0.0)
    if not q > 1.0:
        return np.full(np.broadcast(x, m).shape, np.nan)
    return p * (gamma + x * m) / (p * x + q - 1.0)
