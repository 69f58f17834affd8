"""Glue between the prediction models in python_models/ and this package.

``clv_model_parameters`` fits BG/NBD + Gamma-Gamma on the snapshot at as_of (or keeps the
parameters of its previous table within the refit cadence), ``model_evaluation`` backtests
every method (trained two horizons back, evaluated one horizon back) and
``customer_predictions`` scores everyone at as_of: CLV with the current parameters, and the
propensity and churn models trained one horizon back with the method that won the backtest.
Every input comes from ``int_customers_point_in_time``, one SQL for every snapshot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmentation.dbt_python import previous_table  # noqa: F401 - the models call it here
from segmentation.predictions.bgnbd import BgNbdFit
from segmentation.predictions.clv import UNIT_DAYS, fit_clv, predict_clv
from segmentation.predictions.gamma_gamma import GammaGammaFit

FITTED, REUSED = "fitted", "reused"


@dataclass(frozen=True)
class PredictionConfig:
    """The prediction settings (vars, through the models' meta)."""

    propensity_horizon_days: int = 30
    churn_horizon_days: int = 90
    time_unit: str = "weeks"
    clv_horizon_days: int = 365
    annual_discount_rate: float = 0.10
    refit_every_days: int = 7
    random_state: int = 42
    training_sample_size: int = 200_000

    def fingerprint(self) -> str:
        """Every setting that changes a fit (the cadence itself does not). The macro
        prediction_config_fingerprint computes the same md5 of the same JSON, so that
        int_customers_point_in_time knows when the models will retrain."""
        settings = {k: v for k, v in asdict(self).items() if k != "refit_every_days"}
        return hashlib.md5(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def config_from_meta(settings: dict[str, Any] | None) -> PredictionConfig:
    """The settings of a model's meta (read by the model itself with
    ``dbt.config.meta_get("predictions")``); unknown keys fail, empty ones keep defaults."""
    known = PredictionConfig.__dataclass_fields__
    values: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key not in known:
            raise ValueError(f"unknown prediction setting {key!r}; known: {sorted(known)}")
        if value is None or str(value).strip() == "":
            continue
        kind = known[key].type
        values[key] = (
            float(value) if kind == "float" else int(value) if kind == "int" else str(value)
        )
    config = PredictionConfig(**values)
    if config.time_unit not in UNIT_DAYS:
        raise ValueError(
            f"clv_time_unit must be one of {sorted(UNIT_DAYS)}, got {config.time_unit!r}"
        )
    if min(config.propensity_horizon_days, config.churn_horizon_days, config.clv_horizon_days) < 1:
        raise ValueError("the prediction horizons must be at least 1 day")
    return config


def snapshot(relation: Any, offset_days: int) -> pd.DataFrame:
    """One snapshot of int_customers_point_in_time, sorted by person (deterministic ties)."""
    if isinstance(relation, pd.DataFrame):
        rows = relation[relation["snapshot_offset_days"] == offset_days]
        return rows.sort_values("person_id", kind="stable").reset_index(drop=True)
    return relation.filter(f"snapshot_offset_days = {int(offset_days)}").order("person_id").df()


def clv_inputs(rows: pd.DataFrame, time_unit: str) -> pd.DataFrame:
    """The BG/NBD / Gamma-Gamma frame of a snapshot's buyers, in the time unit."""
    buyers = rows[rows["is_buyer"]]
    unit = UNIT_DAYS[time_unit]
    return pd.DataFrame(
        {
            "frequency": buyers["repeat_purchase_count"].to_numpy(dtype=np.float64),
            "recency": buyers["first_to_last_purchase_days"].to_numpy(dtype=np.float64) / unit,
            "T": buyers["first_purchase_to_snapshot_days"].to_numpy(dtype=np.float64) / unit,
            "monetary_value": buyers["repeat_purchase_mean_value"].to_numpy(
                dtype=np.float64, na_value=np.nan
            ),
        },
        index=buyers.index,
    )


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value)


def within_cadence(
    fitted_as_of: Any, fingerprints: Iterable[Any], config: PredictionConfig, as_of: Any
) -> bool:
    """Whether a run at as_of may keep what was fitted at fitted_as_of with these settings
    fingerprints: all the current settings, fitted on or before as_of and less than
    refit_every_days before it (a cadence of 0 refits every run). The macro
    prediction_training_is_due applies the same rule to the stored stamps."""
    fitted, now = _timestamp(fitted_as_of), _timestamp(as_of)
    if config.refit_every_days <= 0 or fitted is None or now is None or fitted > now:
        return False
    if set(fingerprints) != {config.fingerprint()}:
        return False
    return (now - fitted) < pd.Timedelta(days=config.refit_every_days)


def kept_rows(
    previous: pd.DataFrame | None, stamp_column: str, config: PredictionConfig, as_of: Any
) -> pd.DataFrame | None:
    """The previous table with this run's as_of, when the run may keep it: within_cadence of
    its oldest ``stamp_column`` and of its rows' fingerprints; None when it must refit."""
    if previous is None or previous.empty:
        return None
    if not {stamp_column, "config_fingerprint"} <= set(previous.columns):
        return None
    oldest = previous[stamp_column].min()
    if not within_cadence(oldest, previous["config_fingerprint"], config, as_of):
        return None
    kept = previous.copy()
    kept["as_of"] = pd.Series(pd.Timestamp(as_of), index=kept.index).astype("datetime64[us]")
    return kept


def reusable_fit(
    previous: pd.DataFrame | None, config: PredictionConfig, as_of: Any
) -> dict | None:
    """The previous current fit, when this run may score with it: converged and within the
    cadence (within_cadence)."""
    if previous is None or previous.empty or "is_current" not in previous.columns:
        return None
    current = previous[previous["is_current"].astype(bool)]
    if len(current) != 1:
        return None
    row = current.iloc[0].to_dict()
    if not row.get("converged"):
        return None
    kept = within_cadence(row.get("fitted_as_of"), [row.get("config_fingerprint")], config, as_of)
    return row if kept else None


def fit_parameters(rows: pd.DataFrame, config: PredictionConfig) -> dict[str, Any]:
    """Fit on a snapshot's buyers: one parameter row (NaN parameters and the reason when the
    data are too thin or the fit does not converge)."""
    result = fit_clv(
        clv_inputs(rows, config.time_unit),
        config.time_unit,
        horizon_days=config.clv_horizon_days,
        annual_discount_rate=config.annual_discount_rate,
        nonpositive_spend="ignore",
    )
    bg, gg = result.bgnbd, result.gamma_gamma
    nan = float("nan")
    return {
        "r": bg.r if bg else nan,
        "alpha": bg.alpha if bg else nan,
        "a": bg.a if bg else nan,
        "b": bg.b if bg else nan,
        "bgnbd_log_likelihood": bg.log_likelihood if bg else nan,
        "p": gg.p if gg else nan,
        "q": gg.q if gg else nan,
        "gamma": gg.gamma if gg else nan,
        "gamma_gamma_log_likelihood": gg.log_likelihood if gg else nan,
        "customers": result.customers,
        "repeat_buyers": result.repeat_buyers,
        "time_unit": config.time_unit,
        "converged": bool(result.converged),
        "bgnbd_converged": bool(bg is not None and bg.converged),
        "reason": result.reason,
    }


def parameters_table(
    rows: pd.DataFrame, config: PredictionConfig, previous: pd.DataFrame | None, as_of: Any
) -> pd.DataFrame:
    """``clv_model_parameters``: the fits so far, one row each, the current one flagged."""
    kept = reusable_fit(previous, config, as_of)
    history = previous if previous is not None and "is_current" in previous.columns else None
    if kept is not None:
        table = history.copy()
        table["fit_mode"] = np.where(table["fit_id"] == kept["fit_id"], REUSED, table["fit_mode"])
        table["is_current"] = table["fit_id"] == kept["fit_id"]
    else:
        fit = fit_parameters(rows, config)
        fitted_as_of = pd.Timestamp(as_of)
        fit.update(
            fit_id=f"{fitted_as_of.isoformat()}/{config.fingerprint()}",
            fit_mode=FITTED,
            fitted_as_of=fitted_as_of,
            config_fingerprint=config.fingerprint(),
            is_current=True,
        )
        older = None
        if history is not None:
            older = history[history["fit_id"] != fit["fit_id"]].assign(is_current=False)
        table = (
            pd.concat([older, pd.DataFrame([fit])], ignore_index=True)
            if older is not None
            else pd.DataFrame([fit])
        )
    table["as_of"] = pd.Timestamp(as_of)
    table["fitted_as_of"] = pd.to_datetime(table["fitted_as_of"]).astype("datetime64[us]")
    table["as_of"] = table["as_of"].astype("datetime64[us]")
    return table.sort_values("fitted_as_of", kind="stable").reset_index(drop=True)


def current_fits(parameters: pd.DataFrame) -> tuple[BgNbdFit | None, GammaGammaFit | None, str]:
    """The current fit's models rebuilt from its row, and the reason when there is none."""
    current = parameters[parameters["is_current"].astype(bool)]
    if current.empty:
        return None, None, "no current fit"
    row = current.iloc[0]
    if not bool(row["bgnbd_converged"]):
        return None, None, str(row["reason"])
    bg = BgNbdFit(
        row.r,
        row.alpha,
        row.a,
        row.b,
        row.bgnbd_log_likelihood,
        int(row.customers),
        True,
        "stored",
        0,
    )
    gg = None
    if bool(row["converged"]):
        gg = GammaGammaFit(
            row.p,
            row.q,
            row.gamma,
            row.gamma_gamma_log_likelihood,
            int(row.repeat_buyers),
            True,
            "stored",
            0,
        )
    return bg, gg, str(row["reason"])


def clv_predictions(
    rows: pd.DataFrame, parameters: pd.DataFrame, config: PredictionConfig
) -> pd.DataFrame:
    """Per person of the snapshot: the CLV columns (NaN for non-buyers and without a fit)
    and ``clv_status`` (predicted, not_a_buyer, or the fit's reason)."""
    bg, gg, reason = current_fits(parameters)
    inputs = clv_inputs(rows, config.time_unit)
    out = pd.DataFrame(index=rows.index)
    if bg is not None and not inputs.empty:
        predicted = predict_clv(
            inputs,
            bg,
            gg,
            config.time_unit,
            horizon_days=config.clv_horizon_days,
            annual_discount_rate=config.annual_discount_rate,
            nonpositive_spend="ignore",
        )
        out = out.join(predicted)
    status = np.where(
        rows["is_buyer"], "predicted" if bg is not None else f"no model: {reason}", "not_a_buyer"
    )
    if bg is not None and gg is None:
        status = np.where(rows["is_buyer"], f"no order value: {reason}", status)
    out["clv_status"] = status
    return out


def snapshots_of(
    relation: Any, offsets: Iterable[int] | None = None
) -> tuple[dict[int, pd.DataFrame], Any]:
    """The snapshots of int_customers_point_in_time by offset (``offsets``: only those, the
    ones that exist; at 1M people each is a million rows), and the run's as_of."""
    if isinstance(relation, pd.DataFrame):
        found = sorted(int(o) for o in relation["snapshot_offset_days"].unique())
        as_of = relation["as_of"].iloc[0] if len(relation) else None
    else:
        rows = relation.project("snapshot_offset_days").distinct().fetchall()
        found = sorted(int(row[0]) for row in rows)
        as_of = relation_as_of(relation)
    wanted = found if offsets is None else [o for o in found if o in set(offsets)]
    return {offset: snapshot(relation, offset) for offset in wanted}, as_of


def relation_as_of(relation: Any) -> Any:
    """The run's as_of, from the as_of column of a relation."""
    return relation.aggregate("max(as_of)").fetchall()[0][0]
