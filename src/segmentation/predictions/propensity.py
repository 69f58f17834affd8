"""Purchase propensity and churn classifiers, trained point in time.

A task is a population and a label over the snapshots of ``int_customers_point_in_time``:
``purchase_propensity`` = everyone, label "bought within the horizon after the snapshot";
``churn`` = buyers at the snapshot, label "did not buy within the horizon". A model is
trained on the snapshot one horizon before as_of (whose labels are complete by as_of) and
scores the snapshot at as_of; features never read past their own snapshot (the SQL).

Two methods: a logistic regression (log counts, capped day gaps, scaled) and
HistGradientBoosting (raw features, missing values handled natively). Fixed seeds: the same
snapshot rows give the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

COUNT_FEATURES = (
    "frequency",
    "orders_30d",
    "orders_90d",
    "repeat_purchase_count",
    "emails_received_90d",
    "email_opens_90d",
    "email_clicks_90d",
    "email_opens_30d",
    "web_events_30d",
    "sessions_30d",
    "product_views_30d",
    "cart_adds_30d",
    "checkouts_30d",
)
VALUE_FEATURES = ("monetary",)
# days since something; missing = never (within the window the SQL looks at)
GAP_FEATURES = (
    "recency_days",
    "tenure_days",
    "days_since_last_email_engagement",
    "days_since_last_visit",
)
FEATURES = (*COUNT_FEATURES, *VALUE_FEATURES, *GAP_FEATURES)
METHODS = ("logistic_regression", "hist_gradient_boosting")
GAP_CAP_DAYS = 3650.0
MIN_TRAINING_ROWS = 200
MIN_CLASS_ROWS = 20


@dataclass(frozen=True)
class Task:
    """A classification task: who is in it and what is predicted."""

    name: str
    horizon_days: int
    buyers_only: bool
    positive_is_purchase: bool  # False: the positive class is "no purchase" (churn)

    @property
    def label_column(self) -> str:
        return f"purchase_days_next_{self.horizon_days}d"

    def population(self, snapshot: pd.DataFrame) -> pd.DataFrame:
        return snapshot[snapshot["is_buyer"]] if self.buyers_only else snapshot

    def labels(self, rows: pd.DataFrame) -> np.ndarray:
        bought = rows[self.label_column].to_numpy(dtype=np.float64) > 0
        return (bought if self.positive_is_purchase else ~bought).astype(np.int8)


def tasks(propensity_horizon_days: int, churn_horizon_days: int) -> tuple[Task, Task]:
    return (
        Task("purchase_propensity", propensity_horizon_days, False, True),
        Task("churn", churn_horizon_days, True, False),
    )


def feature_matrix(rows: pd.DataFrame) -> np.ndarray:
    """The features as float64 (missing gaps stay NaN; the logistic pipeline fills them)."""
    missing = [c for c in FEATURES if c not in rows.columns]
    if missing:
        raise ValueError(f"the snapshot rows lack the feature columns {missing}")
    return rows[list(FEATURES)].to_numpy(dtype=np.float64, na_value=np.nan)


_FIRST_GAP = len(COUNT_FEATURES) + len(VALUE_FEATURES)


def _logistic_inputs(matrix: np.ndarray, gaps: int = len(GAP_FEATURES)) -> np.ndarray:
    """log1p of counts and values; the gaps (the last ``gaps`` columns) capped, never = the
    cap, then log1p."""
    out = np.array(matrix, dtype=np.float64, copy=True)
    gaps = slice(out.shape[1] - gaps, None)
    out[:, gaps] = np.where(np.isnan(out[:, gaps]), GAP_CAP_DAYS, out[:, gaps])
    return np.log1p(np.clip(out, 0.0, GAP_CAP_DAYS * 1000))


def new_model(method: str, random_state: int, columns: tuple[int, ...] | None = None):
    """An unfitted model over the feature columns ``columns`` (all by default)."""
    if method == "logistic_regression":
        gaps = tuple(i for i in (columns or range(len(FEATURES))) if i >= _FIRST_GAP)
        return make_pipeline(
            FunctionTransformer(_logistic_inputs, kw_args={"gaps": len(gaps)}),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )
    if method == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, random_state=random_state, early_stopping=False
        )
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


def training_problem(labels: np.ndarray) -> str:
    """Why a model cannot be trained on these labels ('' when it can)."""
    n, positives = labels.size, int(labels.sum())
    if n < MIN_TRAINING_ROWS:
        return f"only {n} training rows (need {MIN_TRAINING_ROWS})"
    if min(positives, n - positives) < MIN_CLASS_ROWS:
        return (
            f"{positives} positive and {n - positives} negative training rows "
            f"(need {MIN_CLASS_ROWS} of each)"
        )
    return ""


@dataclass(frozen=True)
class Trained:
    """A fitted model, or the reason there is none."""

    task: Task
    method: str
    model: object | None
    reason: str
    training_rows: int
    columns: tuple[int, ...] = ()  # the features the model reads (known in training)

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        """P(positive class) per row; NaN without a model."""
        if self.model is None or rows.empty:
            return np.full(len(rows), np.nan)
        return self.model.predict_proba(feature_matrix(rows)[:, list(self.columns)])[:, 1]


def train(task: Task, snapshot: pd.DataFrame, method: str, random_state: int) -> Trained:
    """Train on a snapshot whose labels are complete (one horizon or more before as_of)."""
    rows = task.population(snapshot)
    labels = task.labels(rows) if not rows.empty else np.zeros(0, dtype=np.int8)
    reason = training_problem(labels)
    if reason:
        return Trained(task, method, None, reason, len(rows))
    matrix = feature_matrix(rows)
    # a feature unknown for everyone (a channel without data) carries nothing, and
    # HistGradientBoosting cannot bin it
    columns = tuple(int(i) for i in np.flatnonzero(~np.isnan(matrix).all(axis=0)))
    model = new_model(method, random_state, columns)
    model.fit(matrix[:, list(columns)], labels)
    return Trained(task, method, model, "", len(rows), columns)


def baseline_scores(task: Task, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The scores a marketer has without a model, oriented so that higher = more positive:
    the RFM score (sum of the 1-5 quintile scores within the snapshot) and recency alone."""
    recency = rows["recency_days"].to_numpy(dtype=np.float64, na_value=np.nan)
    recency = np.where(np.isnan(recency), GAP_CAP_DAYS, recency)
    frequency = rows["frequency"].to_numpy(dtype=np.float64, na_value=0.0)
    monetary = rows["monetary"].to_numpy(dtype=np.float64, na_value=0.0)
    rfm = (
        _quintile(recency, higher_is_better=False)
        + _quintile(frequency, higher_is_better=True)
        + _quintile(monetary, higher_is_better=True)
    )
    sign = 1.0 if task.positive_is_purchase else -1.0
    return {"rfm_score": sign * rfm, "recency": sign * -recency}


def _quintile(values: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    if values.size == 0:
        return values
    ranks = pd.Series(values if higher_is_better else -values).rank(method="min").to_numpy()
    return 1.0 + np.floor(5.0 * (ranks - 1.0) / values.size)
