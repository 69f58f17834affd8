"""The predictions inside the build: point-in-time features, CLV, classifiers, backtest and
the prediction segments, on the shared generated build (2,000 customers)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segmentation.predictions import backtest, classifiers, dbt_bridge, scoring

from conftest import TEST_AS_OF, TEST_END, Build, run_dbt

POINTS = "select * from intermediate.int_customers_point_in_time"
LABELS = (
    "purchase_days_next_30d",
    "revenue_next_30d",
    "purchase_days_next_90d",
    "revenue_next_90d",
)


def _independent_snapshot(orders: pd.DataFrame, offset_days: int) -> pd.DataFrame:
    """BG/NBD inputs and the 90-day label of one snapshot, from fct_orders in pandas."""
    at = pd.Timestamp(TEST_AS_OF) - pd.Timedelta(days=offset_days)
    done = orders[orders.is_completed & orders.person_id.notna()].copy()
    done["day"] = done.ordered_at.dt.normalize()
    past = done[done.ordered_at <= at]
    days = past.groupby("person_id").day.agg(["nunique", "min", "max"])
    out = pd.DataFrame(
        {
            "repeat_purchase_count": days["nunique"] - 1,
            "first_to_last_purchase_days": (days["max"] - days["min"]).dt.days,
            "first_purchase_to_snapshot_days": (at.normalize() - days["min"]).dt.days,
            "frequency": past.groupby("person_id").size(),
        }
    )
    if offset_days >= 90:
        future = done[(done.ordered_at > at) & (done.ordered_at <= at + pd.Timedelta(days=90))]
        out["purchase_days_next_90d"] = future.groupby("person_id").day.nunique()
        out["purchase_days_next_90d"] = out["purchase_days_next_90d"].fillna(0)
    return out


@pytest.mark.parametrize("offset_days", [0, 90, 180])
def test_snapshot_features_equal_an_independent_computation(
    generated_build: Build, offset_days: int
) -> None:
    orders = generated_build.query(
        "select person_id, ordered_at, is_completed from core.fct_orders"
    )
    points = generated_build.query(f"{POINTS} where snapshot_offset_days = {offset_days}")
    buyers = points[points.is_buyer].set_index("person_id").sort_index()
    expected = _independent_snapshot(orders, offset_days).sort_index()
    assert list(buyers.index) == list(expected.index)
    for column in expected.columns:
        assert (buyers[column].astype(float) == expected[column].astype(float)).all(), column
    if offset_days == 0:
        # the same numbers as the features the segments read, at as_of
        rfm = (
            generated_build.query(
                "select person_id, repeat_purchase_count, first_to_last_purchase_days, "
                "first_purchase_to_as_of_days as first_purchase_to_snapshot_days, frequency "
                "from segmentation.customer_features where frequency > 0"
            )
            .set_index("person_id")
            .sort_index()
        )
        assert (rfm == buyers[rfm.columns].astype(rfm.dtypes.to_dict())).all().all()


def test_labels_are_null_until_their_horizon_has_passed(generated_build: Build) -> None:
    counts = generated_build.query(
        f"select snapshot_offset_days, count(*) as people, "
        f"count(purchase_days_next_30d) as l30, count(purchase_days_next_90d) as l90 "
        f"from ({POINTS}) group by 1 order by 1"
    ).set_index("snapshot_offset_days")
    assert list(counts.index) == [0, 30, 60, 90, 180]
    assert (counts.l30 == np.where(counts.index >= 30, counts.people, 0)).all()
    assert (counts.l90 == np.where(counts.index >= 90, counts.people, 0)).all()
    # people appear as they sign up or buy: the older the snapshot, the fewer
    assert counts.people.is_monotonic_decreasing


def test_a_future_purchase_does_not_change_the_training_features(
    generated_build: Build, tmp_path: Path
) -> None:
    """Plant an order 20 days before as_of for a buyer: every snapshot before it keeps its
    features (the label of the 30- and 60-day snapshots sees the purchase), the scored one
    counts it."""
    from segmentation.raw_store import append_part

    raw = tmp_path / "raw"
    shutil.copytree(generated_build.raw_dir, raw)
    before = generated_build.query(POINTS)
    person = before[(before.snapshot_offset_days == 180) & before.is_buyer].person_id.min()
    customer = generated_build.scalar(
        "select min(customer_id) from intermediate.int_customers_merged "
        f"where person_id = '{person}'"
    )
    product = generated_build.scalar("select min(product_id) from staging.stg_raw__products")
    at = TEST_END - timedelta(days=20)
    order = {
        "order_id": ["PLANTED-FUTURE-1"],
        "customer_id": [customer],
        "ordered_at": [at],
        "status": ["completed"],
        "currency": ["EUR"],
        "updated_at": [at],
    }
    line = {
        "order_id": ["PLANTED-FUTURE-1"],
        "line_number": [1],
        "product_id": [product],
        "quantity": [1],
        "unit_price": [Decimal("50")],
        "discount": [Decimal("0")],
    }
    append_part(raw, "orders", pa.table(order), "planted-future")
    append_part(raw, "order_items", pa.table(line), "planted-future")
    db = tmp_path / "warehouse.duckdb"
    result = run_dbt(["run", "-s", "+int_customers_point_in_time"], raw, db, tmp_path, TEST_AS_OF)
    assert result.returncode == 0, result.stdout[-4000:]
    after = Build(raw, db, 0, "").query(POINTS)
    key = ["person_id", "snapshot_offset_days"]
    merged = before.merge(after, on=key, suffixes=("_before", "_after"))
    assert len(merged) == len(before) == len(after)
    features = [c for c in before.columns if c not in (*key, *LABELS, "as_of")]
    for offset in (30, 60, 90, 180):
        rows = merged[merged.snapshot_offset_days == offset]
        for column in features:
            left, right = rows[f"{column}_before"], rows[f"{column}_after"]
            assert (left.isna() & right.isna() | (left == right)).all(), (offset, column)
    planted = merged[merged.person_id == person].set_index("snapshot_offset_days")
    assert planted.loc[0, "frequency_after"] == planted.loc[0, "frequency_before"] + 1
    # the labels after the snapshots see it: 30 days (30-day horizon), 90 days (90-day one)
    for offset, column in ((30, "revenue_next_30d"), (90, "revenue_next_90d")):
        gained = planted.loc[offset, f"{column}_after"] - planted.loc[offset, f"{column}_before"]
        assert gained == pytest.approx(50), (offset, column)


def test_predictions_rank_the_planted_personas(generated_build: Build, truth) -> None:
    personas = truth["customers_truth"][["customer_id", "persona"]].drop_duplicates("customer_id")
    scores = generated_build.query("select * from segmentation.customer_predictions")
    table = scores.merge(personas, left_on="person_id", right_on="customer_id")
    by = table.groupby("persona")[
        ["purchase_propensity", "churn_probability", "p_alive", "predicted_clv"]
    ].mean()
    assert by.purchase_propensity.idxmax() == "loyal_high_spender", by
    assert by.predicted_clv.idxmax() == "loyal_high_spender", by
    assert by.churn_probability.idxmin() == "loyal_high_spender", by
    # lapsing customers: the lowest P(alive) of the repeat-buying personas, high churn
    repeaters = by.drop(index=["one_time_buyer"], errors="ignore")
    assert repeaters.p_alive.idxmin() == "lapsing", by
    assert (
        by.loc["lapsing", "churn_probability"]
        > 2 * by.loc["loyal_high_spender", "churn_probability"]
    )


def test_every_score_is_set_or_says_why_not(generated_build: Build) -> None:
    rows = generated_build.query("select * from segmentation.customer_predictions")
    people = generated_build.scalar("select count(*) from segmentation.customer_features")
    assert len(rows) == people
    assert set(rows.clv_status) == {"predicted", "not_a_buyer"}
    assert rows.loc[rows.is_buyer, "predicted_clv"].notna().all()
    assert (
        rows.loc[~rows.is_buyer, ["p_alive", "predicted_clv", "churn_probability"]]
        .isna()
        .all()
        .all()
    )
    assert (rows.purchase_propensity_status == "scored").all()
    assert rows.purchase_propensity.between(0, 1).all()
    assert set(rows.churn_probability_status) == {"scored", "not_in_population"}
    assert (
        rows.purchase_propensity_decile.value_counts()
        .between(len(rows) // 10 - 1, len(rows) // 10 + 1)
        .all()
    )


def test_the_backtest_beats_the_baselines(generated_build: Build) -> None:
    evaluation = generated_build.query("select * from segmentation.model_evaluation")
    auc = evaluation[evaluation.metric == "auc"].set_index(["task", "method"]).metric_value
    for task in ("purchase_propensity", "churn"):
        selected = evaluation[(evaluation.task == task) & evaluation.is_selected].method.unique()
        assert len(selected) == 1
        assert auc[(task, selected[0])] > auc[(task, "recency")], auc
        assert auc[(task, selected[0])] > 0.7, auc
    holdout = evaluation[(evaluation.task == "bgnbd_holdout") & evaluation.group_key.isna()]
    values = holdout.set_index(["method", "metric"]).metric_value
    assert values[("bgnbd", "actual_total")] == values[("historical_rate", "actual_total")] > 0
    assert values[("bgnbd", "correlation")] > 0.3
    # the paper's check by repeat purchases: the mean prediction rises with them
    groups = evaluation[(evaluation.method == "bgnbd") & (evaluation.metric == "mean_predicted")]
    assert groups.sort_values("group_key").metric_value.is_monotonic_increasing


def test_prediction_segments_follow_the_deciles(generated_build: Build) -> None:
    members = generated_build.query(
        "select segment, person_id from segmentation.customer_segments "
        "where segment_type = 'predicted'"
    )
    scores = generated_build.query("select * from segmentation.customer_predictions")
    expected = {
        "Likely to Buy Soon": set(scores.person_id[scores.purchase_propensity_decile == 10]),
        "High Predicted Value": set(scores.person_id[scores.predicted_clv_decile == 10]),
        "Churn Risk": set(scores.person_id[scores.churn_risk_decile >= 9]),
    }
    for segment, people in expected.items():
        assert set(members.person_id[members.segment == segment]) == people, segment
        assert people
    top = scores.nlargest(len(expected["Likely to Buy Soon"]), "purchase_propensity")
    assert scores.loc[
        scores.person_id.isin(expected["Likely to Buy Soon"]), "purchase_propensity"
    ].min() >= (top.purchase_propensity.min())


def test_a_prediction_segment_outside_its_bounds_fails_the_size_test(
    generated_build: Build, tmp_path: Path
) -> None:
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    variables = {
        "as_of": TEST_AS_OF,
        "segment_share_overrides": {"Likely to Buy Soon": {"min_share": 0.5}},
        "business_test_severity": "error",
    }
    result = run_dbt(
        ["build", "-s", "segment_definitions", "segment_summary", "--vars", json.dumps(variables)],
        copy.raw_dir,
        copy.db_path,
        tmp_path,
        None,
    )
    assert result.returncode != 0
    assert "FAIL 1 segment_share_within_bounds_segment_summary" in result.stdout
    row = copy.query(
        "select min_share, share_of_audience from segmentation.segment_summary "
        "where segment = 'Likely to Buy Soon'"
    ).iloc[0]
    assert row.min_share == 0.5 and row.share_of_audience < 0.5


def _sample_snapshots(build: Build, people: int) -> dict[int, pd.DataFrame]:
    points = build.query(POINTS)
    keep = sorted(points.person_id.unique())[:people]
    snapshots, _ = dbt_bridge.snapshots_of(points[points.person_id.isin(keep)])
    return snapshots


def test_too_little_data_gives_null_predictions_and_the_reason(generated_build: Build) -> None:
    snapshots = _sample_snapshots(generated_build, 40)
    config = dbt_bridge.PredictionConfig()
    params = dbt_bridge.parameters_table(snapshots[0], config, None, TEST_AS_OF)
    assert not params.converged.iloc[0] and params.reason.iloc[0].startswith("only ")
    evaluation = backtest.evaluation_table(snapshots, config, TEST_AS_OF)
    assert evaluation.note.str.contains("training rows").any()
    selected = backtest.selected_methods(evaluation, config)
    models = classifiers.classifiers_table(snapshots, selected, config, TEST_AS_OF)
    assert models.model.isna().all() and models.reason.str.startswith("only ").all()
    loaded = classifiers.loaded(models)
    table = scoring.predictions_table(snapshots[0], params, loaded, config, TEST_AS_OF)
    assert table.p_alive.isna().all() and table.purchase_propensity.isna().all()
    buyers = table[table.is_buyer]
    assert buyers.clv_status.str.startswith("no model: only ").all()
    assert table.purchase_propensity_status.str.startswith("no model: only ").all()


def test_the_fit_is_kept_within_the_refit_cadence(generated_build: Build) -> None:
    snapshots = _sample_snapshots(generated_build, 5000)
    config = dbt_bridge.PredictionConfig(refit_every_days=7)
    first = dbt_bridge.parameters_table(snapshots[0], config, None, TEST_AS_OF)
    assert first.converged.iloc[0] and list(first.fit_mode) == ["fitted"]
    later = pd.Timestamp(TEST_AS_OF) + pd.Timedelta(days=6)
    kept = dbt_bridge.parameters_table(snapshots[0], config, first, later)
    assert list(kept.fit_mode) == ["reused"] and kept.fit_id.iloc[0] == first.fit_id.iloc[0]
    refit = dbt_bridge.parameters_table(snapshots[0], config, kept, later + pd.Timedelta(days=1))
    assert list(refit.fit_mode) == ["reused", "fitted"] and list(refit.is_current) == [False, True]
    other = dbt_bridge.PredictionConfig(refit_every_days=7, time_unit="days")
    changed = dbt_bridge.parameters_table(snapshots[0], other, first, later)
    assert list(changed.is_current) == [False, True]
    # a backfill never scores with a fit from its future
    earlier = pd.Timestamp(TEST_AS_OF) - pd.Timedelta(days=1)
    assert dbt_bridge.reusable_fit(first, config, earlier) is None


def test_the_summary_and_the_report_show_the_backtest(
    generated_build: Build, tmp_path: Path
) -> None:
    from segmentation import warehouse
    from segmentation.report import write_report
    from segmentation.summary import predictions_table

    evaluation = generated_build.query(
        "select task, method, metric_value from segmentation.model_evaluation "
        "where is_selected and metric = 'auc' and task = 'purchase_propensity'"
    ).iloc[0]
    con = warehouse.connect(generated_build.db_path)
    try:
        text = predictions_table(con)
    finally:
        con.close()
    line = next(r for r in text.splitlines() if r.startswith("purchase_propensity") and "*" in r)
    assert evaluation.method in line and f"{evaluation.metric_value:.2f}" in line
    page = write_report(generated_build.db_path, tmp_path / "report").read_text()
    assert "Predictions: backtest" in page and f"{evaluation.metric_value:.3f}" in page


def _band(decile: float, top: int, middle: int, names: tuple[str, str, str]) -> str | None:
    if pd.isna(decile):
        return None
    return names[0] if decile >= top else names[1] if decile >= middle else names[2]


def test_predictions_reach_the_audiences_as_bands(generated_build: Build) -> None:
    members = generated_build.query(
        "select person_id, purchase_likelihood, churn_risk, predicted_value "
        "from activation.audience_members"
    )
    scores = generated_build.query("select * from segmentation.customer_predictions")
    table = members.merge(scores, on="person_id")
    assert len(table) == len(members) > 0
    levels = ("high", "medium", "low")
    for column, decile, top, middle, names in (
        ("purchase_likelihood", "purchase_propensity_decile", 10, 8, levels),
        ("churn_risk", "churn_risk_decile", 9, 6, levels),
        ("predicted_value", "predicted_clv_decile", 10, 6, ("top_10", "next_40", "rest")),
    ):
        expected = [_band(d, top, middle, names) for d in table[decile]]
        actual = [None if pd.isna(v) else v for v in table[column]]
        assert actual == expected, column
    assert set(table.purchase_likelihood) == set(levels)


def test_the_backtest_is_kept_within_the_cadence(generated_build: Build) -> None:
    evaluation = generated_build.query("select * from segmentation.model_evaluation")
    config = dbt_bridge.PredictionConfig(refit_every_days=7)
    assert set(evaluation.evaluated_as_of.astype(str)) == {TEST_AS_OF}
    later = pd.Timestamp(TEST_AS_OF) + pd.Timedelta(days=6)
    kept = backtest.reusable_evaluation(evaluation, config, later)
    assert kept is not None and (kept.as_of == later).all()
    assert kept.drop(columns="as_of").equals(evaluation.drop(columns="as_of"))
    for moment, settings in (
        (later + pd.Timedelta(days=1), config),  # due
        (pd.Timestamp(TEST_AS_OF) - pd.Timedelta(days=1), config),  # a backfill
        (later, dbt_bridge.PredictionConfig(refit_every_days=7, churn_horizon_days=60)),
        (later, dbt_bridge.PredictionConfig(refit_every_days=0)),
    ):
        assert backtest.reusable_evaluation(evaluation, settings, moment) is None


PREDICTION_MODELS = [
    "int_customers_point_in_time",
    "clv_model_parameters",
    "model_evaluation",
    "prediction_classifiers",
    "customer_predictions",
]


def test_between_refits_only_the_scored_snapshot_is_computed_and_the_models_are_kept(
    generated_build: Build, tmp_path: Path
) -> None:
    """A run a day later, within prediction_refit_every_days: int_customers_point_in_time
    computes only the snapshot at as_of, the classifiers are the ones trained at the build
    (a model trained on the build's snapshot one horizon back scores the new snapshot to the
    same values), and other settings retrain at once with every snapshot."""
    models = "select task, method, model, trained_as_of from segmentation.prediction_classifiers"
    built_models = generated_build.query(models)
    training, _ = dbt_bridge.snapshots_of(generated_build.query(POINTS))
    build = generated_build.copy(tmp_path / "warehouse.duckdb")
    later = str(pd.Timestamp(TEST_AS_OF) + pd.Timedelta(days=1))
    result = run_dbt(
        ["run", "-s", *PREDICTION_MODELS], build.raw_dir, build.db_path, tmp_path, later
    )
    assert result.returncode == 0, result.stdout[-4000:]
    offsets = build.query(f"select distinct snapshot_offset_days from ({POINTS})")
    assert list(offsets.snapshot_offset_days) == [0]
    kept = build.query(models)
    assert kept.drop(columns="model").equals(built_models.drop(columns="model"))
    assert [bytes(m) for m in kept.model] == [bytes(m) for m in built_models.model]
    now = dbt_bridge.snapshot(build.query(POINTS), 0)
    scores = build.query("select * from segmentation.customer_predictions order by person_id")
    config = dbt_bridge.PredictionConfig()
    for task in backtest.config_tasks(config):
        method = dict(zip(kept.task, kept.method, strict=True))[task.name]
        model = backtest.trained(task, training[task.horizon_days], method, config)
        population = task.population(now)
        expected = pd.Series(model.score(population), index=population.person_id.to_numpy())
        column = scoring.SCORE_COLUMNS[task.name]
        actual = scores.set_index("person_id")[column].dropna()
        assert len(actual) == len(expected) > 100
        assert np.allclose(actual.loc[expected.index], expected, atol=1e-12), task.name
    # other settings (and so another fingerprint) retrain now, on every snapshot
    result = run_dbt(
        ["run", "-s", *PREDICTION_MODELS],
        build.raw_dir,
        build.db_path,
        tmp_path,
        later,
        {"prediction_training_sample_size": 1500},
    )
    assert result.returncode == 0, result.stdout[-4000:]
    offsets = build.query(f"select distinct snapshot_offset_days from ({POINTS}) order by 1")
    assert list(offsets.snapshot_offset_days) == [0, 30, 60, 90, 180]
    retrained = build.query(models)
    assert (retrained.trained_as_of.astype(str) == later).all()
