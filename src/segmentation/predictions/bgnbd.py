"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Per customer: x repeat purchases, t_x the time of the last one and T the time since the first
purchase, all in one time unit (the caller's: days or weeks). While alive a customer buys at
Poisson rate lambda ~ Gamma(r, alpha) (alpha a rate); after each repeat purchase he drops out
with probability p ~ Beta(a, b). Equation numbers are those of the paper.

The fit maximises eq. 6 over log(r, alpha, a, b) with its analytic gradient, in log space
(Fader & Hardie's 2013 "#NUM!" note), so large x or T cannot overflow. Time is rescaled to
mean(T) = 1 during the fit (alpha scales with time, the rest is scale-free), and every term
that depends on x alone is computed once per distinct x: a fit of 1M customers costs a few
vector passes per iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1
from scipy.stats import beta as beta_distribution

from segmentation.predictions._optimize import dot, log_standard_errors, minimise
from segmentation.predictions.validate import check_rfm

Params = tuple[float, float, float, float]


@dataclass(frozen=True)
class BgNbdFit:
    """Maximum likelihood BG/NBD parameters.

    When ``converged`` is False the parameters are the optimiser's last point (NaN when the
    data admit no fit at all) and ``message`` says why; do not predict with them.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    converged: bool
    message: str
    iterations: int
    # Asymptotic standard errors of (r, alpha, a, b) (delta method from the log scale).
    standard_errors: tuple[float, ...] = (float("nan"),) * 4

    @property
    def params(self) -> Params:
        return (self.r, self.alpha, self.a, self.b)

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
        return p_alive(self.params, x, t_x, T)

    def expected_purchases(
        self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        return expected_purchases(self.params, t, x, t_x, T)

    def expected_purchases_new(self, t: ArrayLike) -> np.ndarray:
        return expected_purchases_new(self.params, t)


def unfitted(message: str, customers: int) -> BgNbdFit:
    nan = float("nan")
    return BgNbdFit(nan, nan, nan, nan, nan, customers, False, message, 0)


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Eq. 6 per customer: ln A1 + ln A2 + ln(A3 + [x > 0] A4), the sum done by logaddexp."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    rx = r + x
    log_a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    log_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    log_a3 = -rx * np.log(alpha + T)
    buyer = x > 0
    bx1 = np.where(buyer, b + x - 1.0, 1.0)  # b + x - 1 <= 0 is possible only where x = 0
    log_a4 = np.where(buyer, np.log(a) - np.log(bx1) - rx * np.log(alpha + t_x), -np.inf)
    return log_a1 + log_a2 + np.logaddexp(log_a3, log_a4)


@dataclass(frozen=True)
class _Data:
    """Fitting data, with the distinct x values (``ux``, ``counts``, ``inverse``)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    ux: np.ndarray
    counts: np.ndarray
    inverse: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Data:
        ux, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        return cls(x, t_x, T, ux, counts.astype(np.float64), inverse)


def _objective(theta: np.ndarray, d: _Data, penalty: float) -> tuple[float, np.ndarray]:
    """Mean negative eq. 6 (+ L2 penalty on the log-parameters) and its gradient in theta."""
    r, alpha, a, b = np.exp(theta)
    n = d.x.size
    ux, cnt = d.ux, d.counts
    rx_u = r + ux
    # ln A1 + ln A2 of eq. 6 without the r ln(alpha) term, once per distinct x.
    log_a12_u = gammaln(rx_u) - gammaln(r) + gammaln(a + b) - gammaln(b)
    log_a12_u += gammaln(b + ux) - gammaln(a + b + ux)
    bx1_u = np.where(ux > 0, b + ux - 1.0, 1.0)
    rx = r + d.x
    log_at, log_atx = np.log(alpha + d.T), np.log(alpha + d.t_x)
    log_a3 = -rx * log_at
    log_a4 = np.where(d.x > 0, np.log(a) - np.log(bx1_u)[d.inverse] - rx * log_atx, -np.inf)
    log_mix = np.logaddexp(log_a3, log_a4)
    ll = dot(cnt, log_a12_u) + n * r * np.log(alpha) + log_mix.sum()
    # Posterior weights of the two terms of eq. 6 (alive at T, or dropped out after t_x).
    w3, w4 = np.exp(log_a3 - log_mix), np.exp(log_a4 - log_mix)
    d_r = dot(cnt, digamma(rx_u) - digamma(r)) + n * np.log(alpha)
    d_r -= dot(w3, log_at) + dot(w4, log_atx)
    d_alpha = n * r / alpha - dot(rx, w3 / (alpha + d.T) + w4 / (alpha + d.t_x))
    d_ab = digamma(a + b) - digamma(a + b + ux)
    d_a = dot(cnt, d_ab) + w4.sum() / a
    d_b = dot(cnt, d_ab + digamma(b + ux) - digamma(b)) - dot(w4, (1.0 / bx1_u)[d.inverse])
    grad = np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])  # chain rule to log space
    value = -ll / n + penalty * dot(theta, theta)
    return float(value), -grad / n + 2.0 * penalty * theta


def data_problem(x: np.ndarray) -> str:
    """Why eq. 6 has no finite maximum on these data ('' if it has one)."""
    if x.size == 0:
        return "no customers"
    if not np.any(x > 0):
        return "no repeat buyers: BG/NBD cannot be fitted"
    if np.all(x == x[0]):
        return f"frequency does not vary (every customer has x = {x[0]:g}): BG/NBD cannot be fitted"
    return ""


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    penalty: float = 0.0,
    max_iterations: int = 2_000,
    index: Sequence[Any] | None = None,
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood; ``ValueError`` on invalid rows (see ``validate``).

    ``penalty`` adds ``penalty * sum(log(params) ** 2)`` to the mean negative log-likelihood,
    a pull towards 1 that keeps near-degenerate data finite; alpha enters as alpha / mean(T),
    so the penalty does not depend on the time unit. ``log_likelihood`` is always the
    unpenalised eq. 6 sum, in the caller's time unit. ``index`` labels rows in error messages.
    """
    x, t_x, T = check_rfm(x, t_x, T, index)
    problem = data_problem(x)
    if problem:
        return unfitted(problem, x.size)
    scale = float(T.mean())
    data = _Data.build(x, t_x / scale, T / scale)
    # Start: r = a = b = 1 and alpha matching the mean purchase rate r / alpha ~ mean(x) / 1.
    start = np.log([1.0, 1.0 / max(float(x.mean()), 1e-3), 1.0, 1.0])
    objective = partial(_objective, d=data, penalty=penalty)
    opt = minimise(objective, start, max_iterations)
    r, alpha, a, b = (float(v) for v in np.exp(opt.log_params))
    params = (r, alpha * scale, a, b)
    ll = float(np.sum(log_likelihood(params, x, t_x, T)))
    if not opt.converged:
        message = f"BG/NBD fit did not converge: {opt.message}"
        return BgNbdFit(*params, ll, x.size, False, message, opt.iterations)
    se = np.asarray(params) * log_standard_errors(objective, opt.log_params, x.size)
    return BgNbdFit(*params, ll, x.size, True, opt.message, opt.iterations, tuple(se.tolist()))


def _log_dropout_odds(params: Params, x, t_x, T) -> np.ndarray:
    """ln of (a / (b + x - 1)) ((alpha + T) / (alpha + t_x))^(r + x); -inf where x = 0."""
    r, alpha, a, b = params
    buyer = x > 0
    bx1 = np.where(buyer, b + x - 1.0, 1.0)
    log_ratio = np.log1p((T - t_x) / (alpha + t_x))
    return np.where(buyer, np.log(a) - np.log(bx1) + (r + x) * log_ratio, -np.inf)


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] odds) (Fader, Hardie & Lee's note
    "Computing P(alive) using the BG/NBD model"; the denominator of eq. 10). 1 where x = 0."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return expit(-_log_dropout_odds(params, x, t_x, T))


def expected_purchases_if_alive(
    params: Params, t: ArrayLike, x: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """E[Y(t) | alive at T, x, T]: eq. 10 without its P(alive) denominator,
    (a + b + x - 1) / (a - 1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)].

    Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the
    bracket into 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the upper parameters no
    longer grow with x, so the series converges fast and nothing overflows for large x.
    """
    r, alpha, a, b = params
    t, x, T = (np.asarray(v, dtype=np.float64) for v in (t, x, T))
    if abs(a - 1.0) < 1e-7:  # removable singularity at a = 1: step beside it
        a = 1.0 + 1e-7
    c = a + b + x - 1.0
    one_minus_z = (alpha + T) / (alpha + T + t)
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        series = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        closed = c / (a - 1.0) * (1.0 - one_minus_z ** (a - 1.0) * series)
    closed, t, x, T = np.broadcast_arrays(closed, t, x, T)
    bad = ~np.isfinite(closed) | (closed < 0)
    if not bad.any():
        return closed
    out = np.array(closed, dtype=np.float64)
    out[bad] = _expected_purchases_by_quadrature(params, t[bad], x[bad], T[bad])
    return out


_QUANTILES, _WEIGHTS = np.polynomial.legendre.leggauss(96)


def _expected_purchases_by_quadrature(
    params: Params, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """The same expectation where the closed form breaks down (a and b in the hundred
    thousands: the dropout probability is nearly fixed, 2F1 overflows and the bracket
    cancels). Given alive at T, lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x), and
    a process with rate lambda and dropout p makes (1 - e^(-lambda p t)) / p purchases in t
    on average; lambda integrates out in closed form and p by Gauss-Legendre quadrature on
    the Beta quantile scale (exact in the concentrated limit where the closed form fails)."""
    r, alpha, a, b = params
    # whole-day ages and counts repeat a lot: evaluate each distinct (t, x, T) once
    triples, back = np.unique(np.stack([t, x, T]), axis=1, return_inverse=True)
    if triples.shape[1] < t.size:
        t, x, T = triples
    else:
        back = None
    u = (_QUANTILES + 1.0) / 2.0
    # the nodes depend on x only, and few distinct x values repeat a lot (ppf is slow)
    distinct, inverse = np.unique(x, return_inverse=True)
    nodes = beta_distribution.ppf(u[None, :], a, b + distinct[:, None])
    p = np.clip(nodes[inverse], 1e-300, 1.0)
    ratio = (alpha + T[:, None]) / (alpha + T[:, None] + p * t[:, None])
    values = -np.expm1((r + x[:, None]) * np.log(ratio)) / p
    out = values @ (_WEIGHTS / 2.0)
    return out if back is None else out[np.ravel(back)]


def expected_purchases(
    params: Params, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Eq. 10: E[Y(t) | x, t_x, T], the expected purchases in (T, T + t]; broadcasts t."""
    t, x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (t, x, t_x, T))
    return expected_purchases_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)


def expected_purchases_new(params: Params, t: ArrayLike) -> np.ndarray:
    """Eq. 9: E[X(t)] for a new customer; eq. 10 at x = t_x = T = 0 (P(alive) = 1)."""
    t = np.asarray(t, dtype=np.float64)
    return expected_purchases_if_alive(params, t, np.zeros_like(t), np.zeros_like(t))
