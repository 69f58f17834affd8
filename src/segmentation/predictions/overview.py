"""The backtest at a glance, read from ``segmentation.model_evaluation``: one table for the
`make run` summary and the HTML report alike."""

from __future__ import annotations

import duckdb
import pandas as pd

CLASSIFIER_METRICS = ("auc", "top_decile_lift", "calibration_error")
HOLDOUT_METRICS = ("predicted_total", "actual_total", "mean_absolute_error", "correlation")


def _table_exists(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'segmentation' and table_name = 'model_evaluation'"
    ).fetchone()[0]
    return bool(found)


def backtest_overview(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per task and method: AUC, top-decile lift, calibration error (classifiers) or the
    holdout totals (BG/NBD), with which method scores; empty without the table."""
    if not _table_exists(con):
        return pd.DataFrame()
    rows = con.execute(
        "select task, method, metric, metric_value, is_selected, is_baseline "
        "from segmentation.model_evaluation where group_key is null"
    ).df()
    if rows.empty:
        return rows
    wide = rows.pivot_table(
        index=["task", "method"], columns="metric", values="metric_value", aggfunc="first"
    )
    flags = rows.groupby(["task", "method"])[["is_selected", "is_baseline"]].first()
    table = wide.join(flags).reset_index()
    order = {"purchase_propensity": 0, "churn": 1, "bgnbd_holdout": 2}
    table["_task"] = table.task.map(order).fillna(9)
    table = table.sort_values(["_task", "is_baseline", "method"]).drop(columns="_task")
    columns = ["task", "method", *CLASSIFIER_METRICS, *HOLDOUT_METRICS, "is_selected"]
    return table.reindex(columns=columns).reset_index(drop=True)
