"""``customer_predictions``: everyone at as_of scored with the CLV fit and the classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segmentation.predictions.backtest import config_tasks
from segmentation.predictions.dbt_bridge import PredictionConfig, clv_predictions
from segmentation.predictions.metrics import deciles
from segmentation.predictions.propensity import Trained

CLV_COLUMNS = (
    "p_alive",
    "expected_purchases_30d",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_average_order_value",
    "predicted_clv",
)
SCORE_COLUMNS = {"purchase_propensity": "purchase_propensity", "churn": "churn_probability"}
DECILE_COLUMNS = {
    "predicted_clv": "predicted_clv_decile",
    "purchase_propensity": "purchase_propensity_decile",
    "churn_probability": "churn_risk_decile",
}


def _decile(values: pd.Series) -> pd.Series:
    return pd.Series(
        deciles(values.to_numpy(dtype=np.float64, na_value=np.nan)), index=values.index
    ).astype("Int64")


def classifier_scores(
    now: pd.DataFrame, models: dict[str, tuple[Trained | None, str]], config: PredictionConfig
) -> pd.DataFrame:
    """Each task's stored model (prediction_classifiers) scoring as_of: the score, the
    method and the status (scored, not_in_population, or why no model)."""
    out = pd.DataFrame(index=now.index)
    for task in config_tasks(config):
        column = SCORE_COLUMNS[task.name]
        model, reason = models.get(task.name, (None, "no model"))
        in_population = now.index.isin(task.population(now).index)
        scores = np.full(len(now), np.nan)
        if model is not None and in_population.any():
            scores[in_population] = model.score(now[in_population])
        out[column] = scores
        out[f"{column}_method"] = model.method if model is not None else None
        out[f"{column}_status"] = np.where(
            ~in_population, "not_in_population", "scored" if not reason else f"no model: {reason}"
        )
    return out


def predictions_table(
    now: pd.DataFrame,
    parameters: pd.DataFrame,
    models: dict[str, tuple[Trained | None, str]],
    config: PredictionConfig,
    as_of: Any,
) -> pd.DataFrame:
    """One row per person at as_of (``now``: the snapshot at as_of)."""
    clv = clv_predictions(now, parameters, config)
    table = pd.concat(
        [
            now[["person_id", "is_buyer"]],
            clv.reindex(columns=[*CLV_COLUMNS, "clv_status"]),
            classifier_scores(now, models, config),
        ],
        axis=1,
    )
    for column in CLV_COLUMNS:
        table[column] = table[column].astype(np.float64)
    for source, target in DECILE_COLUMNS.items():
        table[target] = _decile(table[source])
    table["as_of"] = pd.Series(pd.Timestamp(as_of), index=table.index).astype("datetime64[us]")
    return table
