"""The backtest behind ``model_evaluation`` and the scores of ``customer_predictions``.

Per classification task with horizon h: every method is trained on the snapshot 2h days
before as_of (labels in the h days after it) and evaluated on the snapshot h days before
(labels complete by as_of), beside the baselines (RFM score, recency). The method with the
best AUC there is then trained on the snapshot h days back and scores as_of. BG/NBD is
checked the paper's way: fitted on the snapshot one churn horizon back, its expected
purchases in the holdout that follows against the purchases that happened, per person, in
total and by number of repeat purchases in the calibration period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.predictions import metrics
from segmentation.predictions.clv import UNIT_DAYS
from segmentation.predictions.dbt_bridge import (
    PredictionConfig,
    clv_inputs,
    current_fits,
    fit_parameters,
    kept_rows,
)
from segmentation.predictions.propensity import (
    METHODS,
    Task,
    Trained,
    baseline_scores,
    tasks,
    train,
)

Snapshots = dict[int, pd.DataFrame]
FREQUENCY_GROUPS = 7  # repeat purchases 0..6 and "7+"


def config_tasks(config: PredictionConfig) -> tuple[Task, Task]:
    return tasks(config.propensity_horizon_days, config.churn_horizon_days)


def evaluation_offsets(config: PredictionConfig) -> set[int]:
    """The snapshots the backtest reads: one and two horizons back per task."""
    offsets = {config.churn_horizon_days}
    for task in config_tasks(config):
        offsets |= {task.horizon_days, 2 * task.horizon_days}
    return offsets


def sample_for_training(rows: pd.DataFrame, config: PredictionConfig) -> pd.DataFrame:
    """At most ``training_sample_size`` rows, drawn with the fixed seed (training time
    grows with the people; the model does not get better past a few hundred thousand)."""
    if len(rows) <= config.training_sample_size:
        return rows
    return rows.sample(n=config.training_sample_size, random_state=config.random_state).sort_index()


def trained(task: Task, rows: pd.DataFrame, method: str, config: PredictionConfig) -> Trained:
    # one OpenMP/BLAS thread: dbt builds other models beside this one (as for clustering)
    with threadpool_limits(limits=1):
        return train(
            task, sample_for_training(task.population(rows), config), method, config.random_state
        )


def _row(task: str, method: str, metric: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"task": task, "method": method, "metric": metric, "metric_value": float(value), **extra}


def _score_rows(
    task: Task,
    labels: np.ndarray,
    scores: np.ndarray,
    method: str,
    probabilities: bool,
    context: dict,
) -> list[dict]:
    rows = [
        _row(task.name, method, "auc", metrics.auc(labels, scores), **context),
        _row(
            task.name, method, "top_decile_lift", metrics.top_decile_lift(labels, scores), **context
        ),
    ]
    if probabilities:
        for name, value in metrics.calibration(labels, scores).items():
            rows.append(_row(task.name, method, name, value, **context))
    return rows


def classifier_evaluation(task: Task, snapshots: Snapshots, config: PredictionConfig) -> list[dict]:
    h = task.horizon_days
    train_rows, eval_rows = snapshots.get(2 * h), snapshots.get(h)
    context = {"train_snapshot_offset_days": 2 * h, "eval_snapshot_offset_days": h}
    if train_rows is None or eval_rows is None:
        return []
    # the metrics on a seeded sample of at most training_sample_size people: precise to
    # the third decimal, and scoring a million rows four times is not
    population = sample_for_training(task.population(eval_rows), config)
    labels = task.labels(population) if not population.empty else np.zeros(0, dtype=np.int8)
    context.update(evaluated_rows=int(labels.size), positives=int(labels.sum()))
    out: list[dict] = []
    for method in METHODS:
        model = trained(task, train_rows, method, config)
        note = {"is_baseline": False, "note": model.reason}
        if model.model is None:
            out.append(_row(task.name, method, "auc", float("nan"), **context, **note))
            continue
        scores = model.score(population)
        out += _score_rows(task, labels, scores, method, True, {**context, **note})
    for name, scores in baseline_scores(task, population).items():
        out += _score_rows(
            task, labels, scores, name, False, {**context, "is_baseline": True, "note": ""}
        )
    return out


def bgnbd_holdout(snapshots: Snapshots, config: PredictionConfig) -> list[dict]:
    """BG/NBD fitted at one churn horizon back: predicted vs actual repeat purchases in the
    horizon after, against the historical-rate baseline (x / T x holdout length)."""
    h = config.churn_horizon_days
    rows = snapshots.get(h)
    if rows is None:
        return []
    params = pd.DataFrame([{**fit_parameters(rows, config), "is_current": True}])
    bg, _, reason = current_fits(params)
    buyers = rows[rows["is_buyer"]]
    context = {
        "train_snapshot_offset_days": h,
        "eval_snapshot_offset_days": 0,
        "evaluated_rows": len(buyers),
        "is_baseline": False,
        "note": reason,
    }
    if bg is None or buyers.empty:
        return [_row("bgnbd_holdout", "bgnbd", "predicted_total", float("nan"), **context)]
    inputs = clv_inputs(rows, config.time_unit)
    x, t_x, T = (inputs[c].to_numpy() for c in ("frequency", "recency", "T"))
    holdout = h / UNIT_DAYS[config.time_unit]
    actual = buyers[f"purchase_days_next_{h}d"].to_numpy(dtype=np.float64)
    predictions = {
        "bgnbd": bg.expected_purchases(holdout, x, t_x, T),
        "historical_rate": np.where(T > 0, x / np.maximum(T, 1e-9), 0.0) * holdout,
    }
    context["positives"] = int(np.count_nonzero(actual))
    out = []
    for method, predicted in predictions.items():
        extra = {**context, "is_baseline": method != "bgnbd"}
        out += [
            _row("bgnbd_holdout", method, "predicted_total", predicted.sum(), **extra),
            _row("bgnbd_holdout", method, "actual_total", actual.sum(), **extra),
            _row(
                "bgnbd_holdout",
                method,
                "mean_absolute_error",
                np.abs(predicted - actual).mean(),
                **extra,
            ),
            _row("bgnbd_holdout", method, "correlation", _correlation(predicted, actual), **extra),
        ]
        groups = np.minimum(x, FREQUENCY_GROUPS).astype(int)
        for group in np.unique(groups):
            members = groups == group
            key = f"repeat_purchases={group}{'+' if group == FREQUENCY_GROUPS else ''}"
            part = {**extra, "group_key": key, "evaluated_rows": int(members.sum())}
            out += [
                _row("bgnbd_holdout", method, "mean_predicted", predicted[members].mean(), **part),
                _row("bgnbd_holdout", method, "mean_actual", actual[members].mean(), **part),
            ]
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def reusable_evaluation(
    previous: pd.DataFrame | None, config: PredictionConfig, as_of: Any
) -> pd.DataFrame | None:
    """The previous backtest, when this run may keep it (within_cadence of its
    evaluated_as_of), with this run's as_of; None when the backtest must run."""
    return kept_rows(previous, "evaluated_as_of", config, as_of)


def evaluation_table(snapshots: Snapshots, config: PredictionConfig, as_of: Any) -> pd.DataFrame:
    """``model_evaluation``: one row per task, method, metric (and group)."""
    rows: list[dict] = []
    for task in config_tasks(config):
        rows += classifier_evaluation(task, snapshots, config)
    rows += bgnbd_holdout(snapshots, config)
    table = pd.DataFrame(rows)
    selected = selected_methods(table, config)
    table["group_key"] = table.get("group_key", pd.Series(index=table.index, dtype=object))
    table["is_selected"] = [
        selected.get(t) == m for t, m in zip(table["task"], table["method"], strict=True)
    ]
    table["config_fingerprint"] = config.fingerprint()
    table["evaluated_as_of"] = pd.Series(pd.Timestamp(as_of), index=table.index).astype(
        "datetime64[us]"
    )
    table["as_of"] = table["evaluated_as_of"]
    return table


def selected_methods(table: pd.DataFrame, config: PredictionConfig) -> dict[str, str]:
    """Per classification task, the method with the best backtest AUC (the logistic
    regression, listed first, wins ties and stands in when nothing could be evaluated)."""
    chosen = {}
    for task in config_tasks(config):
        rows = (
            table[(table["task"] == task.name) & (table["metric"] == "auc")]
            if not table.empty
            else table
        )
        best, best_auc = METHODS[0], -np.inf
        for method in METHODS:
            values = rows.loc[rows["method"] == method, "metric_value"] if not rows.empty else []
            value = (
                float(values.iloc[0]) if len(values) and np.isfinite(values.iloc[0]) else -np.inf
            )
            if value > best_auc:
                best, best_auc = method, value
        chosen[task.name] = best
    return chosen
