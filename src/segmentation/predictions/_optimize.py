"""Maximum likelihood over log-parameters, shared by the BG/NBD and Gamma-Gamma fits.

L-BFGS-B with the analytic gradient does the work. It sometimes stops on a failed line search
near the optimum (the mean log-likelihood is flat to float precision there); a Nelder-Mead
pass followed by a second L-BFGS-B run then polishes the point. Everything is deterministic:
fixed start, no random restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeResult, minimize

# exp(+-15) spans 3e-7 .. 3e6: wide enough for the (rescaled) parameters, narrow enough that
# gammaln and the logs stay finite at the edges.
LOG_BOUND = 15.0
# A point is accepted as the optimum when the projected gradient of the mean negative
# log-likelihood is below this, even if the line search ended "abnormally".
GRADIENT_TOLERANCE = 1e-5

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """sum(u * v) without BLAS: a threaded BLAS dot on a busy machine costs 10-50 ms where
    this costs microseconds (measured: a 20k-customer fit went from 1 s to 0.04 s)."""
    return float(np.sum(u * v))


@dataclass(frozen=True)
class Optimum:
    """The minimiser of an objective in log-parameter space."""

    log_params: np.ndarray
    value: float
    converged: bool
    message: str
    iterations: int


def _lbfgsb(objective: Objective, start: np.ndarray, max_iterations: int) -> OptimizeResult:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    options = {"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-9}
    return minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)


def _projected_gradient(theta: np.ndarray, gradient: np.ndarray) -> float:
    """Largest gradient component that still points into the box (KKT residual)."""
    g = np.asarray(gradient, dtype=float).copy()
    g[(theta <= -LOG_BOUND) & (g > 0)] = 0.0
    g[(theta >= LOG_BOUND) & (g < 0)] = 0.0
    return float(np.max(np.abs(g))) if g.size else 0.0


def _accepted(res: OptimizeResult) -> bool:
    if not np.isfinite(res.fun) or not np.all(np.isfinite(res.x)):
        return False
    return bool(res.success) or _projected_gradient(res.x, res.jac) < GRADIENT_TOLERANCE


def minimise(objective: Objective, start: np.ndarray, max_iterations: int = 2_000) -> Optimum:
    """Minimise ``objective(theta) -> (value, gradient)`` from ``start`` (log-parameters);
    ``max_iterations`` caps each L-BFGS-B run (Nelder-Mead gets twice as many)."""
    res = _lbfgsb(objective, np.asarray(start, dtype=float), max_iterations)
    iterations = int(res.nit)
    if not _accepted(res):
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
        simplex = minimize(
            lambda theta: objective(theta)[0],
            res.x if np.all(np.isfinite(res.x)) else start,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 2 * max_iterations, "xatol": 1e-10, "fatol": 1e-15},
        )
        res = _lbfgsb(objective, simplex.x, max_iterations)
        iterations += int(simplex.nit) + int(res.nit)
    converged = _accepted(res)
    message = str(res.message)
    if converged and not res.success:
        residual = _projected_gradient(res.x, res.jac)
        message = f"projected gradient {residual:.1e} < {GRADIENT_TOLERANCE:g} ({message.strip()})"
    at_bound = np.abs(res.x) >= LOG_BOUND
    if converged and np.any(at_bound):
        message += f" (log-parameters {np.flatnonzero(at_bound).tolist()} at the bound)"
    return Optimum(res.x.copy(), float(res.fun), converged, message, iterations)


def log_standard_errors(objective: Objective, theta: np.ndarray, n: int) -> np.ndarray:
    """Asymptotic standard errors of the log-parameters: the inverse observed information,
    the Hessian of ``n * objective`` by central differences of the analytic gradient.
    NaN when the Hessian is not positive definite (a flat or boundary optimum)."""
    k, step = len(theta), 1e-5
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * step)
    hess = n * (hess + hess.T) / 2
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    return np.sqrt(np.diag(np.linalg.inv(hess)))
