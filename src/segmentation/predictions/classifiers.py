"""``prediction_classifiers``: the propensity and churn models that customer_predictions
scores with. Each is the method the backtest selected, trained on the snapshot one horizon
before as_of, and kept between runs within the refit cadence like the CLV fit and the
backtest: a refresh in between then reads one snapshot and trains nothing.

A model is stored pickled in its row (a few hundred kB). The table is the project's own
state: unpickling runs code, so it is read only from the warehouse the project wrote.
"""

from __future__ import annotations

import pickle
from typing import Any

import pandas as pd

from segmentation.predictions.backtest import Snapshots, config_tasks, trained
from segmentation.predictions.dbt_bridge import PredictionConfig, kept_rows
from segmentation.predictions.propensity import Trained

NO_SNAPSHOT = (
    "no training snapshot (int_customers_point_in_time was built without it; "
    "refit with prediction_refit_every_days: 0)"
)


def training_offsets(config: PredictionConfig) -> set[int]:
    """The snapshots the classifiers train on: one horizon back per task."""
    return {task.horizon_days for task in config_tasks(config)}


def reusable_classifiers(
    previous: pd.DataFrame | None, selected: dict[str, str], config: PredictionConfig, as_of: Any
) -> pd.DataFrame | None:
    """The previous models, when this run may keep them: the methods the backtest selects
    now, trained within the cadence (within_cadence); with this run's as_of."""
    if previous is None or not {"task", "method"} <= set(previous.columns):
        return None
    if dict(zip(previous["task"], previous["method"], strict=True)) != selected:
        return None
    return kept_rows(previous, "trained_as_of", config, as_of)


def classifiers_table(
    snapshots: Snapshots, selected: dict[str, str], config: PredictionConfig, as_of: Any
) -> pd.DataFrame:
    """One row per task: the selected method trained one horizon back (the pickled model,
    or none and the reason)."""
    rows = []
    for task in config_tasks(config):
        method = selected[task.name]
        history = snapshots.get(task.horizon_days)
        model = trained(task, history, method, config) if history is not None else None
        usable = model is not None and model.model is not None
        rows.append(
            {
                "task": task.name,
                "method": method,
                "model": pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL) if usable else None,
                "reason": NO_SNAPSHOT if model is None else model.reason,
                "training_rows": 0 if model is None else int(model.training_rows),
                "train_snapshot_offset_days": task.horizon_days,
                "config_fingerprint": config.fingerprint(),
            }
        )
    table = pd.DataFrame(rows)
    stamp = pd.Series(pd.Timestamp(as_of), index=table.index).astype("datetime64[us]")
    table["trained_as_of"] = stamp
    table["as_of"] = stamp
    return table


def loaded(table: pd.DataFrame) -> dict[str, tuple[Trained | None, str]]:
    """Per task: the stored model (None without one) and the reason there is none."""
    out = {}
    for row in table.itertuples(index=False):
        blob = row.model
        model = pickle.loads(bytes(blob)) if blob is not None and not pd.isna(blob) else None  # noqa: S301 - the project's own table
        out[row.task] = (model, "" if model is not None else str(row.reason or "no model"))
    return out
