"""Customer lifetime value models, fitted by maximum likelihood (pure numpy/scipy).

Public API::

    fit_clv(frame, time_unit="days", *, frequency=, recency=, age=, monetary_value=,
            min_customers=100, min_repeat_buyers=20, horizon_days=365.0,
            periods_per_year=12, annual_discount_rate=0.10, penalty=0.0,
            max_iterations=2000) -> ClvResult
    fit_bgnbd(x, t_x, T, *, penalty=0.0, max_iterations=2000, index=None) -> BgNbdFit
        .p_alive(x, t_x, T), .expected_purchases(t, x, t_x, T), .expected_purchases_new(t)
    fit_gamma_gamma(x, monetary_value, *, penalty=0.0, max_iterations=2000,
                    index=None) -> GammaGammaFit
        .expected_average_order_value(x, m_x), .population_mean, .has_finite_mean
    predicted_clv(model, x, t_x, T, average_order_value, *, horizon, period,
                  units_per_year, annual_discount_rate=0.10) -> ndarray
    simulate_bgnbd / simulate_gamma_gamma / simulate_customers (known-parameter data)

Modules: ``bgnbd`` (Fader, Hardie & Lee 2005: likelihood eq. 6, P(alive), eq. 9, eq. 10),
``gamma_gamma`` (spend per order), ``clv`` (discounted CLV, ``fit_clv`` with the
minimum-data rules), ``validate`` (input checks: ``ValueError``), ``_optimize`` (the shared
L-BFGS-B / Nelder-Mead driver), ``simulate`` (test data).
"""

from segmentation.predictions.bgnbd import BgNbdFit, fit_bgnbd
from segmentation.predictions.clv import PREDICTION_COLUMNS, ClvResult, fit_clv, predicted_clv
from segmentation.predictions.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from segmentation.predictions.simulate import (
    simulate_bgnbd,
    simulate_customers,
    simulate_gamma_gamma,
)

__all__ = [
    "PREDICTION_COLUMNS",
    "BgNbdFit",
    "ClvResult",
    "GammaGammaFit",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "predicted_clv",
    "simulate_bgnbd",
    "simulate_customers",
    "simulate_gamma_gamma",
]
