"""BG/NBD, Gamma-Gamma and CLV (segmentation.predictions) on simulated data with known truth."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import betaln, hyp2f1

from segmentation.predictions import (
    PREDICTION_COLUMNS,
    fit_bgnbd,
    fit_clv,
    fit_gamma_gamma,
    predicted_clv,
    simulate_bgnbd,
    simulate_customers,
    simulate_gamma_gamma,
)
from segmentation.predictions import bgnbd as bg
from segmentation.predictions import gamma_gamma as gg

# The CDNOW estimates of Fader, Hardie & Lee (2005a, BG/NBD; 2005b, Gamma-Gamma), in weeks.
BGNBD_TRUE = (0.24, 4.41, 0.79, 2.43)
GG_TRUE = (6.25, 3.74, 15.44)
N = 20_000
HOLDOUT = 39.0  # weeks, as in the paper's CDNOW hold-out period
SEED = 0


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return simulate_customers(
        N, BGNBD_TRUE, GG_TRUE, age_range=(30.0, 78.0), holdout=HOLDOUT, seed=SEED
    )


@pytest.fixture(scope="module")
def result(customers):
    return fit_clv(customers, "weeks")


def _rfm(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return frame["frequency"].to_numpy(), frame["recency"].to_numpy(), frame["T"].to_numpy()


def _small_frame(x, t_x, T, m=None, index=None) -> pd.DataFrame:
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, 10.0, np.nan) if m is None else m
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "monetary_value": m}, index=index)


def _check_recovery(fit, truth: tuple, rel_tol: float) -> None:
    """Each estimate within 4 standard errors and ``rel_tol`` of the truth."""
    est, se = np.array(fit.params), np.array(fit.standard_errors)
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    z = np.abs(est - np.array(truth)) / se
    assert np.all(z < 4.0), (est, se, z)
    assert np.allclose(est, truth, rtol=rel_tol), est


# -- parameter recovery ---------------------------------------------------------------------


def test_bgnbd_recovers_the_simulated_parameters(customers, result):
    fit = result.bgnbd
    assert fit.converged and fit.customers == N
    _check_recovery(fit, BGNBD_TRUE, rel_tol=0.15)
    # Likelihood ratio: 2 (LL(hat) - LL(true)) ~ chi2(4) when the truth is the generator.
    ll_true = bg.log_likelihood(BGNBD_TRUE, *_rfm(customers))
    lr = 2.0 * (fit.log_likelihood - ll_true.sum())
    assert 0.0 <= lr < stats.chi2.ppf(0.999, df=4)


def test_gamma_gamma_recovers_the_simulated_parameters(customers, result):
    fit = result.gamma_gamma
    repeat = customers.frequency > 0
    assert fit.converged and fit.customers == repeat.sum()
    _check_recovery(fit, GG_TRUE, rel_tol=0.15)
    x, m = customers.frequency[repeat], customers.monetary_value[repeat]
    lr = 2.0 * (fit.log_likelihood - gg.log_likelihood(GG_TRUE, x, m).sum())
    assert 0.0 <= lr < stats.chi2.ppf(0.999, df=3)
    # The population mean spend p gamma / (q - 1) is pinned down much tighter than p or gamma.
    assert fit.population_mean == pytest.approx(gg.population_mean(GG_TRUE), rel=0.03)


def test_fits_are_deterministic(customers):
    args = _rfm(customers)
    assert fit_bgnbd(*args) == fit_bgnbd(*args)
    spend = (customers.frequency, customers.monetary_value)
    assert fit_gamma_gamma(*spend) == fit_gamma_gamma(*spend)


# -- the likelihood against a direct evaluation ---------------------------------------------

PAPER = (0.243, 4.414, 0.793, 2.426)  # the paper's CDNOW estimates, full precision
HAND = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (7, 29.0, 32.0)]


def _eq6_by_hand(params, x, t_x, T) -> float:
    """Eq. 6 term by term with math.lgamma, in the paper's notation."""
    r, alpha, a, b = params
    ln_a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    ln_a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
    a3 = (alpha + T) ** -(r + x)
    a4 = a / (b + x - 1) * (alpha + t_x) ** -(r + x) if x > 0 else 0.0
    return ln_a1 + ln_a2 + math.log(a3 + a4)


def _eq3_integrated(params, x, t_x, T) -> float:
    """ln of the individual likelihood (eq. 3) integrated numerically over the priors.

    lambda = w^(1/r) and p = u^(1/a) turn the prior densities' endpoint singularities into
    constants: g(lambda) d lambda = alpha^r exp(-alpha lambda) / Gamma(r + 1) dw, and
    f(p) dp = (1 - p)^(b - 1) / (a B(a, b)) du.
    """
    r, alpha, a, b = params

    def integrand(w: float, u: float) -> float:
        lam, p = w ** (1.0 / r), u ** (1.0 / a)
        individual = (1 - p) ** x * math.exp(-lam * T)
        if x > 0:
            individual += p * (1 - p) ** (x - 1) * math.exp(-lam * t_x)
        prior = alpha**r * math.exp(-alpha * lam) / math.gamma(r + 1)
        prior *= (1 - p) ** (b - 1) / (a * math.exp(betaln(a, b)))
        return individual * lam**x * prior

    w_max = (80.0 / alpha) ** r  # alpha lambda = 80 there: exp(-80) is negligible
    value, _ = integrate.dblquad(integrand, 0.0, 1.0, 0.0, w_max, epsabs=0, epsrel=1e-11)
    return math.log(value)


def test_log_likelihood_matches_a_direct_evaluation():
    x, t_x, T = (np.array(col, dtype=float) for col in zip(*HAND, strict=True))
    ours = bg.log_likelihood(PAPER, x, t_x, T)
    by_hand = [_eq6_by_hand(PAPER, *row) for row in HAND]
    integrated = [_eq3_integrated(PAPER, *row) for row in HAND]
    assert ours == pytest.approx(by_hand, rel=1e-12)
    assert ours == pytest.approx(integrated, rel=1e-7)


def test_gamma_gamma_likelihood_matches_a_direct_integral():
    # f(m_x | x) = int Gamma(m_x; p x, rate nu x) Gamma(nu; q, rate gamma) d nu
    p, q, gamma = GG_TRUE
    for x, m in [(1, 20.0), (3, 35.5), (12, 80.0)]:

        def integrand(nu: float, x=x, m=m) -> float:
            return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(
                nu, q, scale=1 / gamma
            )

        direct = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]
        assert gg.log_likelihood(GG_TRUE, x, m) == pytest.approx(math.log(direct), rel=1e-8)


# -- predictions ------------------------------------------------------------------------------


def test_conditional_expectation_matches_the_papers_form_and_a_quadrature():
    r, alpha, a, b = PAPER
    # The paper's worked example (x=2, t_x=30.43, T=38.86): 1.226 purchases in 39 weeks.
    assert bg.expected_purchases(PAPER, 39.0, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)
    for x, t_x, T, t in [(0, 0.0, 38.86, 39.0), (1, 1.71, 38.86, 52.0), (10, 35.0, 38.0, 100.0)]:
        ours = float(bg.expected_purchases(PAPER, t, x, t_x, T))
        # Eq. 10 as printed (before the Euler transformation used in the package).
        z = t / (alpha + T + t)
        bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        printed = (a + b + x - 1) / (a - 1) * bracket * float(bg.p_alive(PAPER, x, t_x, T))

        # P(alive) x E_p[(1 - E_lambda[exp(-lambda p t)]) / p], p ~ Beta(a, b + x) a posteriori.
        def integrand(p: float, x=x, T=T, t=t) -> float:
            log_beta = (a - 1) * math.log(p) + (b + x - 1) * math.log1p(-p) - betaln(a, b + x)
            return (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p * math.exp(log_beta)

        quadrature = integrate.quad(integrand, 0, 1, limit=200)[0] * float(
            bg.p_alive(PAPER, x, t_x, T)
        )
        assert ours == pytest.approx(printed, rel=1e-10)
        assert ours == pytest.approx(quadrature, rel=1e-7)


def _posterior_future_purchases(params, x, t_x, T, t, n, rng) -> np.ndarray:
    """Monte Carlo Y(t) given (x, t_x, T): alive with P(alive), then lambda ~ Gamma(r + x,
    alpha + T), p ~ Beta(a, b + x) (the conjugate update of eq. 3's first term), then a fresh
    BG/NBD process over t."""
    r, alpha, a, b = params
    alive = rng.random(n) < float(bg.p_alive(params, x, t_x, T))
    lam = rng.gamma(r + x, 1.0 / (alpha + T), n)
    p = rng.beta(a, b + x, n)
    future = np.minimum(rng.poisson(lam * t), rng.geometric(p))
    return np.where(alive, future, 0)


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 40.0), (1, 5.0, 60.0), (3, 40.0, 45.0), (8, 20.0, 70.0)]
)
def test_conditional_expectation_matches_monte_carlo(result, x, t_x, T):
    rng = np.random.default_rng(11)
    params = result.bgnbd.params
    draws = _posterior_future_purchases(params, x, t_x, T, 26.0, 400_000, rng)
    expected = float(result.bgnbd.expected_purchases(26.0, x, t_x, T))
    assert abs(draws.mean() - expected) < 4 * draws.std() / math.sqrt(draws.size)


def test_conditional_expectation_predicts_the_simulated_holdout(customers):
    """With the true parameters, mean predicted and mean simulated hold-out purchases agree
    overall and within each frequency band (no posterior formula involved)."""
    args = _rfm(customers)
    predicted = bg.expected_purchases(BGNBD_TRUE, HOLDOUT, *args)
    bands = pd.cut(customers.frequency, [-1, 0, 1, 3, 7, np.inf])
    residual = customers.holdout_purchases - predicted
    for _, group in residual.groupby(bands, observed=True):
        assert abs(group.mean()) < 4 * group.std() / math.sqrt(len(group))
    assert abs(residual.mean()) < 4 * residual.std() / math.sqrt(N)


def test_p_alive(customers, result):
    fit = result.bgnbd
    assert np.all(fit.p_alive(np.zeros(3), np.zeros(3), [1.0, 30.0, 1e4]) == 1.0)
    t_x = np.linspace(1.0, 50.0, 50)
    by_recency = fit.p_alive(np.full(50, 4.0), t_x, np.full(50, 50.0))
    assert np.all(np.diff(by_recency) > 0) and by_recency[-1] < 1.0
    by_age = fit.p_alive(np.full(50, 4.0), np.full(50, 10.0), np.linspace(10.0, 100.0, 50))
    assert np.all(np.diff(by_age) < 0)
    # Calibration: the mean P(alive) (true parameters) matches the simulated share alive.
    alive = bg.p_alive(BGNBD_TRUE, *_rfm(customers))
    residual = customers.alive - alive
    assert abs(residual.mean()) < 4 * residual.std() / math.sqrt(N)
    assert result.predictions.churn_probability.equals(1.0 - result.predictions.p_alive)


def test_expected_purchases_of_a_new_customer_match_simulation():
    for t in (13.0, 52.0):
        sim = simulate_bgnbd(200_000, *BGNBD_TRUE, T=t, seed=5).frequency
        expected = float(bg.expected_purchases_new(BGNBD_TRUE, t))
        assert abs(sim.mean() - expected) < 4 * sim.std() / math.sqrt(sim.size)


def test_gamma_gamma_conditional_mean_matches_simulation():
    # E[M | m_x, x] is the posterior mean of p / nu; check it by simulating (nu, m_x) pairs.
    x = np.full(400_000, 3.0)
    rng = np.random.default_rng(3)
    p, q, gamma = GG_TRUE
    nu = rng.gamma(q, 1 / gamma, x.size)
    m = rng.gamma(p * x, 1 / (nu * x))
    band = (m > 30) & (m < 32)
    expected = gg.expected_average_order_value(GG_TRUE, x[band], m[band]).mean()
    truth = p / nu[band]
    assert abs(truth.mean() - expected) < 4 * truth.std() / math.sqrt(band.sum())
    assert gg.expected_average_order_value(GG_TRUE, [0.0], [np.nan])[0] == pytest.approx(
        p * gamma / (q - 1)
    )


# -- CLV ---------------------------------------------------------------------------------------


YEAR_IN_WEEKS = 365 / 7


def _clv(model, args, rate: float, periods: int = 12, value: float = 25.0) -> np.ndarray:
    """One year's CLV in weeks at a constant order value."""
    return predicted_clv(
        model,
        *args,
        value,
        horizon=YEAR_IN_WEEKS,
        period=YEAR_IN_WEEKS / periods,
        units_per_year=YEAR_IN_WEEKS,
        annual_discount_rate=rate,
    )


def test_clv_without_discount_is_purchases_times_order_value(customers, result):
    args = _rfm(customers)
    purchases = result.bgnbd.expected_purchases(YEAR_IN_WEEKS, *args)
    np.testing.assert_allclose(_clv(result.bgnbd, args, 0.0), purchases * 25.0, rtol=1e-10)
    # One period: the whole year's purchases discounted by one year.
    one = _clv(result.bgnbd, args, 0.1, periods=1)
    np.testing.assert_allclose(one, purchases * 25.0 / 1.1, rtol=1e-10)
    rates = [_clv(result.bgnbd, args, rate) for rate in (0.0, 0.1, 0.3)]
    assert np.all(rates[0] > rates[1]) and np.all(rates[1] > rates[2])
    # Monthly discounting sits between no discount and discounting everything by a year.
    assert np.all(rates[1] > one)


def test_fit_clv_predictions(customers, result):
    pred = result.predictions
    assert result.converged and result.reason == "" and result.time_unit == "weeks"
    assert list(pred.columns) == list(PREDICTION_COLUMNS) and pred.index.equals(customers.index)
    assert np.all(np.isfinite(pred.to_numpy()))
    args = _rfm(customers)
    np.testing.assert_allclose(
        pred.expected_purchases_90d, result.bgnbd.expected_purchases(90 / 7, *args), rtol=1e-12
    )
    aov = result.gamma_gamma.expected_average_order_value(args[0], customers.monetary_value)
    clv = _clv(result.bgnbd, args, 0.10, value=aov)  # fit_clv's defaults: monthly, 10 % a year
    np.testing.assert_allclose(pred.predicted_clv, clv, rtol=1e-12)
    once = customers.frequency == 0
    assert np.allclose(pred.expected_average_order_value[once], result.gamma_gamma.population_mean)
    assert (pred.expected_purchases_30d < pred.expected_purchases_90d).all()
    assert (
        pred.predicted_clv < pred.expected_purchases_365d * pred.expected_average_order_value
    ).all()


def test_days_and_weeks_give_the_same_predictions(customers, result):
    days = customers.assign(recency=customers.recency * 7, T=customers["T"] * 7)
    in_days = fit_clv(days, "days")
    assert in_days.bgnbd.alpha == pytest.approx(7 * result.bgnbd.alpha, rel=1e-5)
    assert in_days.bgnbd.r == pytest.approx(result.bgnbd.r, rel=1e-5)
    pd.testing.assert_frame_equal(in_days.predictions, result.predictions, rtol=1e-4)


def test_nullable_and_decimal_columns_fit_like_floats(customers):
    # What DuckDB hands over: nullable integers and DECIMAL money (objects, None for no value).
    head = customers.head(3_000)
    money = [None if np.isnan(v) else Decimal(f"{v:.6f}") for v in head.monetary_value]
    odd = head.assign(
        frequency=head.frequency.astype("Int64"), monetary_value=pd.Series(money, dtype=object)
    )
    rounded = head.assign(monetary_value=head.monetary_value.round(6))
    pd.testing.assert_frame_equal(
        fit_clv(odd, "weeks").predictions, fit_clv(rounded, "weeks").predictions
    )


# -- degenerate and invalid data -------------------------------------------------------------


def _assert_no_fit(res, reason: str) -> None:
    assert not res.converged and res.reason == reason
    assert res.predictions.isna().all().all() and list(res.predictions.columns) == list(
        PREDICTION_COLUMNS
    )


@pytest.mark.filterwarnings("error")
def test_thin_data_gives_a_reason_not_an_exception():
    rng = np.random.default_rng(1)
    T = rng.uniform(1, 50, 300)
    zeros = np.zeros(300)
    _assert_no_fit(
        fit_clv(_small_frame(zeros, zeros, T)), "no repeat buyers: BG/NBD cannot be fitted"
    )
    _assert_no_fit(
        fit_clv(_small_frame(zeros, zeros, zeros)), "no repeat buyers: BG/NBD cannot be fitted"
    )
    three = _small_frame([0, 2, 1], [0.0, 5.0, 3.0], [9.0, 9.0, 9.0])
    _assert_no_fit(fit_clv(three), "only 3 customers (need 100)")
    _assert_no_fit(fit_clv(three.iloc[:0]), "only 0 customers (need 100)")
    x = np.where(np.arange(300) < 5, 2.0, 0.0)
    few = fit_clv(_small_frame(x, np.where(x > 0, T / 2, 0.0), T))
    _assert_no_fit(few, "only 5 repeat buyers (need 20)")
    assert few.repeat_buyers == 5 and few.customers == 300
    same = fit_clv(_small_frame(np.full(300, 2.0), T / 2, T))
    _assert_no_fit(
        same, "frequency does not vary (every customer has x = 2): BG/NBD cannot be fitted"
    )


@pytest.mark.filterwarnings("error")
def test_optimiser_failure_gives_scipys_message(customers):
    res = fit_clv(customers, "weeks", max_iterations=1)
    _assert_no_fit(res, res.bgnbd.message)
    assert res.reason.startswith("BG/NBD fit did not converge: ") and "ITERATIONS" in res.reason


@pytest.mark.filterwarnings("error")
def test_spend_without_a_finite_mean_keeps_the_purchase_predictions(customers):
    # q < 1: the order value's mean is infinite, so the order value and CLV stay NaN.
    heavy = customers.assign(
        monetary_value=simulate_gamma_gamma(customers.frequency, 4.0, 0.6, 10.0, seed=2)
    )
    res = fit_clv(heavy, "weeks")
    assert not res.converged and res.gamma_gamma.converged and res.gamma_gamma.q < 1
    assert res.reason.startswith("Gamma-Gamma q = ") and "<= 1" in res.reason
    assert res.predictions.p_alive.notna().all()
    assert res.predictions.predicted_clv.isna().all()
    same_spend = customers.assign(monetary_value=np.where(customers.frequency > 0, 10.0, np.nan))
    flat = fit_clv(same_spend, "weeks")
    assert flat.reason.startswith("monetary value does not vary")


@pytest.mark.filterwarnings("error")
def test_a_huge_frequency_stays_finite(customers):
    # A million repeat purchases, the last one today.
    big = pd.concat([customers, _small_frame([1e6], [78.0], [78.0], [50.0], index=[N])])
    res = fit_clv(big, "weeks")
    assert res.converged and np.all(np.isfinite(res.predictions.to_numpy()))
    top = res.predictions.loc[N]
    assert top.p_alive > 0.99 and top.expected_purchases_30d > 1e4
    for x in (1e7, 1e9):
        assert np.isfinite(res.bgnbd.expected_purchases(52.0, x, 100.0, 101.0))
        assert np.isfinite(bg.log_likelihood(res.bgnbd.params, x, 100.0, 101.0))


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ((np.nan, 0.0, 10.0), "NaN or infinite: 1"),
        ((2.0, 12.0, 10.0), "t_x > T: 1"),
        ((-1.0, 0.0, 10.0), "x < 0: 1"),
        ((1.5, 3.0, 10.0), "x not a whole number: 1"),
        ((2.0, 0.0, 10.0), "x > 0 with t_x = 0: 1"),
        ((0.0, 4.0, 10.0), "x = 0 with t_x != 0: 1"),
    ],
)
def test_invalid_rows_raise_naming_the_first_bad_customer(row, rule):
    rows = [(1.0, 2.0, 10.0)] * 150 + [row, row]
    frame = _small_frame(*map(list, zip(*rows, strict=True)), index=[f"c{i}" for i in range(152)])
    with pytest.raises(ValueError, match=r"2 of 152 rows") as err:
        fit_clv(frame)
    assert rule.replace(": 1", ": 2") in str(err.value) and "'c150'" in str(err.value)


def test_invalid_spend_raises():
    frame = _small_frame([1.0, 2.0, 0.0] * 50, [2.0, 3.0, 0.0] * 50, [10.0] * 150)
    frame.loc[4, "monetary_value"] = -3.0
    with pytest.raises(ValueError, match=r"1 of 150 rows .*monetary value <= 0: 1.*index: 4"):
        fit_clv(frame)


def test_nonpositive_spend_can_be_ignored_instead(customers):
    """Returns can net a repeat buyer's mean repeat value to 0 or below: with
    nonpositive_spend="ignore" the buyer stays in BG/NBD and gets the population mean."""
    frame = customers.copy()
    repeat = frame.index[frame.frequency > 0][:3]
    frame.loc[repeat, "monetary_value"] = [-3.0, 0.0, np.nan]
    res = fit_clv(frame, "weeks", nonpositive_spend="ignore")
    assert res.converged
    aov = res.predictions.loc[repeat, "expected_average_order_value"]
    assert np.allclose(aov, res.gamma_gamma.population_mean)
    clean = fit_clv(customers.drop(index=repeat), "weeks")
    assert res.gamma_gamma.p == pytest.approx(clean.gamma_gamma.p, rel=1e-6)


def test_a_nearly_fixed_dropout_probability_stays_finite():
    """a and b in the hundred thousands (a fit on data with one dropout rate for all, seen
    on the generated data): the closed form overflows, the quadrature takes over and agrees
    with the fixed-p limit; where both work they agree."""
    x, T = np.array([0.0, 1.0, 3.0, 10.0]), np.array([30.0, 40.0, 50.0, 52.0])
    t = np.full(4, 13.0)
    r, alpha, a, b = 0.78, 8.0, 166_750.0, 3_268_972.0
    values = bg.expected_purchases_if_alive((r, alpha, a, b), t, x, T)
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    p = a / (a + b)  # Beta(a, b + x) is a point mass there
    limit = [
        integrate.quad(
            lambda lam, xi=xi, Ti=Ti: (
                -np.expm1(-lam * p * 13.0)
                / p
                * stats.gamma.pdf(lam, r + xi, scale=1.0 / (alpha + Ti))
            ),
            0,
            np.inf,
        )[0]
        for xi, Ti in zip(x, T, strict=True)
    ]
    assert values == pytest.approx(limit, rel=1e-3)
    cdnow = (0.243, 4.414, 0.793, 2.426)
    closed = bg.expected_purchases_if_alive(cdnow, t, x, T)
    quadrature = bg._expected_purchases_by_quadrature(cdnow, t, x, T)
    assert closed == pytest.approx(quadrature, rel=1e-5)


def test_the_papers_cdnow_parameters_are_recovered_on_the_papers_data():
    """The literature check on real data (fixtures/README.md): Fader, Hardie & Lee (2005)
    report r 0.243, alpha 4.414, a 0.793, b 2.426 and log-likelihood -9582.4 for the CDNOW
    sample; Fader & Hardie (2013) p 6.25, q 3.74, gamma 15.44 for its 946 repeat buyers."""
    data = pd.read_csv(Path(__file__).resolve().parent / "fixtures" / "cdnow_customers_summary.csv")
    frame = pd.DataFrame(
        {
            "frequency": data["x"],
            "recency": data["t_x"],
            "T": data["T"],
            "monetary_value": data["zbar"],
        }
    )
    res = fit_clv(frame, "weeks")
    assert res.converged and res.customers == 2357 and res.repeat_buyers == 946
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(res.bgnbd, name) == pytest.approx(value, abs=0.0015), name
    assert res.bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert getattr(res.gamma_gamma, name) == pytest.approx(value, abs=0.01), name


# -- against the lifetimes package, when present ---------------------------------------------


def test_matches_lifetimes(customers, result):
    lifetimes = pytest.importorskip("lifetimes")
    args = _rfm(customers)
    bgf = lifetimes.BetaGeoFitter().fit(*args)
    theirs = [bgf.params_[k] for k in ("r", "alpha", "a", "b")]
    np.testing.assert_allclose(result.bgnbd.params, theirs, rtol=1e-3)
    np.testing.assert_allclose(
        result.bgnbd.expected_purchases(26.0, *args),
        bgf.conditional_expected_number_of_purchases_up_to_time(26.0, *args),
        rtol=5e-3,
    )
    repeat = customers.frequency > 0
    ggf = lifetimes.GammaGammaFitter().fit(
        customers.frequency[repeat], customers.monetary_value[repeat]
    )
    theirs = [ggf.params_[k] for k in ("p", "q", "v")]
    np.testing.assert_allclose(result.gamma_gamma.params, theirs, rtol=1e-3)
