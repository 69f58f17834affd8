"""Unit tests of the clustering package on synthetic features with six planted groups."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score, silhouette_score

from segmentation.clustering import (
    DEFAULT_CONFIG,
    DEFAULT_FEATURES,
    ClusteringResult,
    FeatureTransformer,
    assignment_ari,
    config_fingerprint,
    dbt_bridge,
    decide,
    disjoint_sample_ari,
    label_agreement,
    name_clusters,
    prepare_features,
    resolve_config,
    run_clustering,
)
from segmentation.clustering.prepare import stable_sample
from segmentation.clustering.select_k import cut_tree, elbow_k, silhouette
from segmentation.clustering.stability import match_ids, previous_in_current_space
from segmentation.clustering.synthetic import GROUPS, make_synthetic_features

N = 3_000
# A smaller silhouette sub-sample, fewer restarts and k <= 8 keep the suite fast.
FAST = {"silhouette_sample_size": 1_500, "n_init": 3, "k_max": 8}
TABLES = ("assignments", "profiles", "diagnostics", "centres")
PYTHON_MODELS = Path(__file__).resolve().parents[2] / "python_models"
# in dbt's order: cluster_centres first, the others ref it
CLUSTER_MODELS = ("cluster_centres", "customer_clusters", "cluster_profiles", "cluster_diagnostics")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    df, groups = make_synthetic_features(N, seed=11)
    return df, pd.Series(groups, index=df["person_id"], name="group")


@pytest.fixture(scope="module")
def base(data: tuple[pd.DataFrame, pd.Series]) -> ClusteringResult:
    return run_clustering(data[0], FAST)


def ari_vs_truth(assignments: pd.DataFrame, truth: pd.Series) -> float:
    return adjusted_rand_score(truth.loc[assignments["person_id"]], assignments["cluster_id"])


def assert_same_tables(
    a: ClusteringResult, b: ClusteringResult, ignore: tuple[str, ...] = ()
) -> None:
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(
            left.drop(columns=[c for c in ignore if c in left]),
            right.drop(columns=[c for c in ignore if c in right]),
            check_exact=True,
        )


# -- preparation -----------------------------------------------------------------------------
def test_prepare_imputes_logs_and_scales(data: tuple[pd.DataFrame, pd.Series]) -> None:
    df = data[0]
    x, names, transformer = prepare_features(df, {})
    assert names == list(DEFAULT_FEATURES)
    assert x.shape == (len(df), len(DEFAULT_FEATURES))
    assert np.isfinite(x).all()
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-9)
    # never bought: recency = max observed + 1; money, shares: 0
    imputed = pd.DataFrame(transformer.imputed(df), columns=names)
    never = df["recency_days"].isna().to_numpy()
    assert never.any()
    assert (imputed.loc[never, "recency_days"] == df["recency_days"].max() + 1).all()
    assert (imputed.loc[never, "monetary"] == 0).all()
    assert (imputed.loc[never, "discount_order_share"] == 0).all()
    # the transformer maps back to original units
    back = transformer.inverse_transform(x)
    np.testing.assert_allclose(back, imputed.to_numpy(), rtol=1e-9, atol=1e-6)


def test_prepare_handles_awkward_inputs() -> None:
    df = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "recency_days": pd.array([None, None, None, None], dtype="Int64"),  # all null
            "monetary": [Decimal("10.5"), None, Decimal("-3"), Decimal("200")],  # decimals
            "frequency": pd.array([1, None, 1, 4], dtype="Float64"),
            "is_email_opted_in": pd.array([True, None, False, True], dtype="boolean"),
            "rate": [0.5, np.inf, np.nan, 0.1],
        }
    )
    cfg = {"features": ["recency_days", "monetary", "frequency", "is_email_opted_in", "rate"]}
    x, _, transformer = prepare_features(df, cfg)
    assert np.isfinite(x).all()
    assert (x[:, 0] == 0).all()  # constant after imputation -> zeros
    imputed = transformer.imputed(df)
    assert imputed[2, 1] == -3  # profiles keep the real value...
    assert transformer.unscaled(df)[2, 1] == 0  # ...the model sees log1p(clip(-3, 0))
    assert imputed[1, 4] == 0  # inf counts as null
    with pytest.raises(ValueError, match="missing columns"):
        prepare_features(df.drop(columns="rate"), cfg)


def test_robust_scaler_option(data: tuple[pd.DataFrame, pd.Series]) -> None:
    df, truth = data
    x, _, transformer = prepare_features(df, {"scaler": "robust"})
    assert transformer.scaler == "robust" and np.isfinite(x).all()
    result = run_clustering(df, {**FAST, "scaler": "robust", "k": 6, "k_min": 6, "k_max": 6})
    assert result.k == 6
    assert ari_vs_truth(result.assignments, truth) >= 0.7


def test_sample_is_seeded_by_person_not_row_order() -> None:
    ids = pd.Series([f"p{i:05d}" for i in range(10_000)])
    a = set(ids[stable_sample(ids, 1_000, seed=1)])
    b = set(ids.iloc[::-1].reset_index(drop=True)[stable_sample(ids.iloc[::-1], 1_000, seed=1)])
    assert a == b and len(a) == 1_000
    more = pd.concat([ids, pd.Series([f"q{i:05d}" for i in range(500)])], ignore_index=True)
    c = set(more[stable_sample(more, 1_000, seed=1)])
    assert len(a & c) >= 900  # adding 5 % new persons keeps ~95 % of the sample
    assert set(ids[stable_sample(ids, 1_000, seed=2)]) != a


# -- choosing k ------------------------------------------------------------------------------
def test_recovers_planted_groups(base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]):
    assert abs(base.k - len(GROUPS)) <= 1
    assert ari_vs_truth(base.assignments, data[1]) >= 0.8


def test_diagnostics_table(base: ClusteringResult) -> None:
    d = base.diagnostics
    assert list(d.columns) == [
        "algorithm", "k", "sample_size", "silhouette_sample_size", "inertia", "silhouette",
        "davies_bouldin", "calinski_harabasz", "smallest_cluster_share", "noise_share",
        "is_elbow", "is_chosen", "parameters",
        "fit_mode", "fit_id",
    ]  # fmt: skip
    assert d["k"].tolist() == list(range(2, 9))
    assert (d["algorithm"] == "kmeans").all() and (d["sample_size"] == N).all()
    assert (d["silhouette_sample_size"] == 1_500).all()
    assert d["is_chosen"].sum() == 1 and d["is_elbow"].sum() == 1
    chosen = d[d["is_chosen"]].iloc[0]
    assert chosen["k"] == base.k
    eligible = d[d["smallest_cluster_share"] >= DEFAULT_CONFIG["min_cluster_share"]]
    assert chosen["silhouette"] == eligible["silhouette"].max()
    assert d["inertia"].is_monotonic_decreasing
    assert d[["silhouette", "davies_bouldin", "calinski_harabasz"]].notna().all().all()
    assert (d["noise_share"] == 0).all()


def test_fixed_k_is_used_and_marked(data: tuple[pd.DataFrame, pd.Series]) -> None:
    result = run_clustering(data[0], {**FAST, "k": 4, "k_min": 3, "k_max": 5})
    assert result.k == 4
    d = result.diagnostics
    assert d["k"].tolist() == [3, 4, 5]
    assert d.loc[d["is_chosen"], "k"].tolist() == [4]


def test_silhouette_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(loc, 1.0, size=(300, 4)) for loc in (0.0, 3.0, 6.0)])
    labels = np.repeat([0, 1, 2], 300)
    labels[:5] = 2
    assert silhouette(x, labels) == pytest.approx(silhouette_score(x, labels), abs=1e-5)


def test_elbow_kneedle() -> None:
    assert elbow_k([1, 2, 3, 4, 5, 6], [100, 50, 20, 17, 15, 14]) == 3
    assert elbow_k([2, 3], [10, 5]) is None


def test_cut_tree_matches_agglomerative() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    full = AgglomerativeClustering(n_clusters=2, linkage="ward", compute_full_tree=True).fit(x)
    for k in (2, 4, 7):
        direct = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
        assert adjusted_rand_score(direct, cut_tree(full.children_, len(x), k)) == 1.0


# -- outputs ---------------------------------------------------------------------------------
def test_output_tables(base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]) -> None:
    df = data[0]
    a = base.assignments
    assert list(a.columns) == ["person_id", "cluster_id", "cluster_name", "distance_to_centre"]
    assert len(a) == len(df) and a["person_id"].is_unique
    assert a["person_id"].tolist() == sorted(df["person_id"])
    assert a["cluster_id"].dtype == np.int64 and a["distance_to_centre"].dtype == np.float64
    assert a.notna().all().all() and (a["distance_to_centre"] >= 0).all()
    assert sorted(a["cluster_id"].unique()) == list(range(base.k))

    p = base.profiles
    per_cluster = p.drop_duplicates("cluster_id")
    assert per_cluster["size"].sum() == len(df)
    assert per_cluster["share"].sum() == pytest.approx(1.0)
    assert (per_cluster.set_index("cluster_id")["size"] == a["cluster_id"].value_counts()).all()
    assert set(DEFAULT_FEATURES) <= set(p["feature"])
    assert {"is_email_opted_in", "frequency_window"} <= set(
        p.loc[~p["is_clustering_feature"], "feature"]
    )
    assert len(p) == base.k * p["feature"].nunique()

    c = base.centres
    assert len(c) == base.k * len(DEFAULT_FEATURES)
    assert {"cluster_id", "feature", "value", "scaler_center", "scaler_scale", "is_log"} <= set(c)
    # the centre's z-score in the profiles is the centre (standard scaler, k-means)
    merged = c.merge(p, on=["cluster_id", "feature"])
    np.testing.assert_allclose(merged["value"], merged["z_score"], atol=0.05)

    names = base.names
    assert len(set(names.values())) == len(names) == base.k
    assert (a["cluster_name"] == a["cluster_id"].map(names)).all()
    assert (p["cluster_name"] == p["cluster_id"].map(names)).all()


def test_names_describe_planted_groups(
    base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
):
    a = base.assignments.assign(group=data[1].loc[base.assignments["person_id"]].to_numpy())
    top = a.groupby("group")["cluster_name"].agg(lambda s: s.mode().iloc[0])
    by_group = {GROUPS[g]: name for g, name in top.items()}
    assert by_group["lapsed"].startswith("Lapsed")
    assert by_group["new_customer"].startswith("New")
    assert (
        "browsers" in by_group["window_shopper"] and "cart abandoners" in by_group["window_shopper"]
    )
    assert "Non-buyers" in by_group["email_reader"] and "e-mail engaged" in by_group["email_reader"]
    assert "high spend" in by_group["loyal_high_spender"].lower()
    assert "discount-driven" in by_group["bargain_hunter"]


def test_duplicate_names_get_a_suffix() -> None:
    z = pd.DataFrame(
        {"monetary": [1.0, 1.0, 1.0, 0.0], "frequency": [1.0, 1.0, 1.0, 0.0]}, index=[0, 1, 2, -1]
    )
    names = name_clusters(z)
    assert names[-1] == "Unclustered (noise)"
    assert [names[0], names[1], names[2]] == [
        "High spend · frequent",
        "High spend · frequent #2",
        "High spend · frequent #3",
    ]
    z2 = pd.DataFrame({"monetary": [1.0, 1.0], "tenure_days": [-2.0, 0.0], "frequency": [0.6, 0.9]})
    n2 = name_clusters(z2, max_terms=1)  # same strongest term: the next one disambiguates
    assert n2[0] != n2[1] and not n2[0].endswith("#2")


def test_predict_reproduces_assignments(
    base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
):
    pd.testing.assert_frame_equal(base.predict(data[0]), base.assignments)


# -- determinism and stable labels -------------------------------------------------------------
def test_rerun_is_identical_whatever_the_row_order(
    base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    shuffled = data[0].sample(frac=1.0, random_state=5)
    assert_same_tables(base, run_clustering(shuffled, FAST))


def test_rebuild_with_previous_centres_keeps_everything(
    base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    again = run_clustering(data[0], FAST, previous_centres=base.centres)
    assert again.fit_mode == "fitted"  # no as_of: the centres' age is unknown
    assert_same_tables(base, again)


def test_labels_stable_with_five_percent_new_rows(
    base: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    new_rows, _ = make_synthetic_features(N // 20, seed=12, id_offset=10_000_000)
    grown = pd.concat([data[0], new_rows], ignore_index=True)
    result = run_clustering(grown, FAST, previous_centres=base.centres)
    assert label_agreement(base.assignments, result.assignments) >= 0.95
    assert set(result.names) == set(base.names)


def test_hungarian_matching_keeps_ids_and_adds_fresh_ones(base: ClusteringResult) -> None:
    centres = base.model.centres
    sizes = base.assignments["cluster_id"].value_counts().sort_index().to_numpy()
    perm = np.array([3, 0, 5, 1, 4, 2])[: len(centres)] % len(centres)
    if len(set(perm)) != len(centres):  # k != 6: any rotation does
        perm = np.roll(np.arange(len(centres)), 1)
    extra = np.vstack([centres[perm] + 0.01, np.full((1, centres.shape[1]), 9.0)])
    ids = match_ids(extra, np.append(sizes[perm], 1), base.transformer, base.centres)
    assert ids[:-1].tolist() == base.cluster_ids[perm].tolist()
    assert ids[-1] == base.cluster_ids.max() + 1
    # far away centres are not matched when a maximum distance is set
    far = match_ids(extra, np.append(sizes[perm], 1), base.transformer, base.centres, 0.001)
    assert far.min() > base.cluster_ids.max()


def test_previous_centres_survive_a_changed_scaler(base: ClusteringResult, data) -> None:
    """Previous centres are mapped through both scalers into the new space."""
    _, _, robust = prepare_features(data[0], {"scaler": "robust"})
    ids, matrix, shared = previous_in_current_space(base.centres, robust)
    assert shared == list(range(len(DEFAULT_FEATURES)))
    expected = base.centres.pivot(index="cluster_id", columns="feature", values="original_value")
    expected = expected.loc[ids, list(DEFAULT_FEATURES)].to_numpy()
    np.testing.assert_allclose(robust.inverse_transform(matrix), expected, rtol=1e-9, atol=1e-9)
    # and a robust-scaled run keeps the ids: the labels agree as well as any relabelling can
    cfg = {**FAST, "scaler": "robust", "k": base.k, "k_min": base.k, "k_max": base.k}
    result = run_clustering(data[0], cfg, previous_centres=base.centres)
    both = base.assignments.merge(result.assignments, on="person_id")
    table = pd.crosstab(both["cluster_id_x"], both["cluster_id_y"]).to_numpy()
    rows, cols = linear_sum_assignment(-table)
    best = table[rows, cols].sum() / len(both)
    assert label_agreement(base.assignments, result.assignments) == pytest.approx(best)


def test_disjoint_samples_agree(data: tuple[pd.DataFrame, pd.Series]) -> None:
    assert disjoint_sample_ari(data[0], lambda part: run_clustering(part, FAST)) >= 0.9


# -- algorithms --------------------------------------------------------------------------------
def test_minibatch_kmeans_above_threshold(data: tuple[pd.DataFrame, pd.Series]) -> None:
    cfg = {**FAST, "k": 6, "k_min": 6, "k_max": 6, "minibatch_threshold": 1_000}
    cfg |= {"sample_size": 2_000, "minibatch_batch_size": 512}
    result = run_clustering(data[0], cfg)
    assert '"MiniBatchKMeans"' in result.diagnostics.loc[0, "parameters"]
    assert ari_vs_truth(result.assignments, data[1]) >= 0.8


def test_hierarchical(data: tuple[pd.DataFrame, pd.Series]) -> None:
    cfg = {**FAST, "algorithm": "hierarchical", "hierarchical_sample_size": 1_500}
    result = run_clustering(data[0], cfg)
    assert (result.diagnostics["sample_size"] == 1_500).all()
    assert abs(result.k - len(GROUPS)) <= 1
    assert ari_vs_truth(result.assignments, data[1]) >= 0.8
    assert len(result.assignments) == N and (result.assignments["cluster_id"] >= 0).all()


@pytest.mark.parametrize("algorithm", ["dbscan", "hdbscan"])
def test_density_algorithms_report_noise(
    algorithm: str, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    cfg = {**FAST, "algorithm": algorithm, "density_sample_size": 2_000}
    result = run_clustering(data[0], cfg)
    a, d = result.assignments, result.diagnostics
    assert len(a) == N and len(d) == 1 and d.loc[0, "is_chosen"]
    noise = (a["cluster_id"] == -1).mean()
    assert d.loc[0, "noise_share"] == pytest.approx(noise)
    assert d.loc[0, "k"] == result.k >= 2
    if noise > 0:
        row = result.profiles[result.profiles["cluster_id"] == -1].iloc[0]
        assert row["cluster_name"] == "Unclustered (noise)"
        assert row["share"] == pytest.approx(noise)
    assert a["distance_to_centre"].notna().all()
    assert set(result.centres["cluster_id"]) == set(range(result.k))  # noise has no centre
    assert ari_vs_truth(a, data[1]) >= 0.3
    assert_same_tables(result, run_clustering(data[0].iloc[::-1], cfg))


def test_dbscan_fixed_eps_everything_noise(data: tuple[pd.DataFrame, pd.Series]) -> None:
    cfg = {"algorithm": "dbscan", "dbscan_eps": 1e-6, "density_sample_size": 500}
    result = run_clustering(data[0].head(800), cfg)
    assert result.k == 0 and (result.assignments["cluster_id"] == -1).all()
    assert result.diagnostics.loc[0, "noise_share"] == 1.0
    assert result.centres.empty


# -- edge cases and config -------------------------------------------------------------------
def test_nulls_everywhere_nobody_dropped(data: tuple[pd.DataFrame, pd.Series]) -> None:
    df = data[0].head(600).copy()
    rng = np.random.default_rng(3)
    for col in DEFAULT_FEATURES:
        df.loc[rng.random(len(df)) < 0.3, col] = np.nan
    df["cart_abandonment_rate"] = np.nan  # e.g. a shop without web tracking
    result = run_clustering(df, {**FAST, "k_max": 5})
    assert len(result.assignments) == len(df)
    assert result.assignments.notna().all().all()
    assert result.profiles["mean"].notna().all()


def test_tiny_and_empty_inputs(data: tuple[pd.DataFrame, pd.Series]) -> None:
    tiny = run_clustering(data[0].head(3), {})
    assert len(tiny.assignments) == 3 and tiny.k >= 1
    empty = run_clustering(data[0].head(0), {})
    assert empty.assignments.empty and list(empty.assignments.columns) == [
        "person_id", "cluster_id", "cluster_name", "distance_to_centre"
    ]  # fmt: skip


def test_config_validation(data: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(ValueError, match="unknown clustering config"):
        resolve_config({"algoritm": "kmeans"})
    with pytest.raises(ValueError, match="algorithm"):
        resolve_config({"algorithm": "spectral"})
    cfg = resolve_config({"k": "auto", "sample_size": "5000", "features": "frequency, monetary"})
    assert cfg.k is None and cfg.sample_size == 5_000
    assert cfg.features == ("frequency", "monetary")
    with pytest.raises(ValueError, match="unique"):
        run_clustering(pd.concat([data[0].head(5), data[0].head(1)]), {})


def test_assignment_ari_helper(base: ClusteringResult) -> None:
    relabelled = base.assignments.assign(cluster_id=base.assignments["cluster_id"] + 10)
    assert assignment_ari(base.assignments, relabelled) == 1.0


# -- refit cadence: assign-only runs between refits -------------------------------------------
FITTED_AT = pd.Timestamp("2026-11-20 12:00:00")
FIT_MODE = ("fit_mode",)


def through_duckdb(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the next dbt run reads it back (DuckDB types)."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        return con.execute("select * from frame").df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, pd.Series]) -> ClusteringResult:
    """A refit with an as_of, whose centres and diagnostics a later run reads back."""
    return run_clustering(data[0], FAST, as_of=FITTED_AT)


def test_transformer_from_parameters_round_trips(
    fitted: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    for params in (fitted.transformer.parameters(), through_duckdb(fitted.centres)):
        rebuilt = FeatureTransformer.from_parameters(params)
        assert rebuilt.features == fitted.transformer.features
        assert rebuilt.scaler == fitted.transformer.scaler
        for name in ("fill", "is_log", "center", "scale"):
            np.testing.assert_array_equal(
                getattr(rebuilt, name), getattr(fitted.transformer, name), strict=True
            )
        np.testing.assert_array_equal(
            rebuilt.transform(data[0]), fitted.transformer.transform(data[0])
        )
    _, _, robust = prepare_features(data[0], {"scaler": "robust", "fill_values": {"monetary": 5}})
    again = FeatureTransformer.from_parameters(robust.parameters().iloc[::-1])  # any row order
    assert again.scaler == "robust" and again.features == robust.features
    np.testing.assert_array_equal(again.transform(data[0]), robust.transform(data[0]))


def test_assign_only_on_the_same_data_reproduces_the_refit(
    fitted: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    later = FITTED_AT + pd.Timedelta(days=2)
    previous, previous_diagnostics = through_duckdb(fitted.centres), fitted.diagnostics
    assigned = run_clustering(
        data[0], FAST, previous, as_of=later, previous_diagnostics=previous_diagnostics
    )
    assert fitted.fit_mode == "fitted" and assigned.fit_mode == "assigned"
    assert assigned.timings["choose_k"] == assigned.timings["fit"] == 0.0
    # everything the refit wrote, exactly: assignments, profiles, centres, the scan rows
    assert_same_tables(fitted, assigned, ignore=FIT_MODE)
    assert (assigned.centres["fitted_as_of"] == FITTED_AT).all()
    assert (assigned.diagnostics["fit_mode"] == "assigned").all()
    assert "2 days" in assigned.decision.reason
    # deterministic: same data, as_of and previous tables -> identical tables
    assert_same_tables(
        assigned,
        run_clustering(
            data[0].iloc[::-1], FAST, previous, as_of=later,
            previous_diagnostics=previous_diagnostics,
        ),
    )  # fmt: skip
    # the next assign-only run reads this run's tables back: still the same fit
    chained = run_clustering(
        data[0],
        FAST,
        through_duckdb(assigned.centres),
        as_of=later + pd.Timedelta(days=3),
        previous_diagnostics=through_duckdb(assigned.diagnostics),
    )
    assert_same_tables(assigned, chained)
    # without the previous diagnostics: one chosen row with the number of clusters
    alone = run_clustering(data[0], FAST, previous, as_of=later)
    assert alone.diagnostics[["k", "is_chosen"]].values.tolist() == [[fitted.k, True]]


def test_assign_only_assigns_new_people_to_the_stored_centres(
    fitted: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    new_rows, _ = make_synthetic_features(N // 10, seed=13, id_offset=20_000_000)
    grown = pd.concat([data[0], new_rows], ignore_index=True)
    result = run_clustering(grown, FAST, fitted.centres, as_of=FITTED_AT + pd.Timedelta(days=1))
    assert result.fit_mode == "assigned" and len(result.assignments) == len(grown)
    old = result.assignments[result.assignments["person_id"].isin(data[0]["person_id"])]
    pd.testing.assert_frame_equal(old.reset_index(drop=True), fitted.assignments)
    assert result.names == fitted.names
    pd.testing.assert_frame_equal(
        result.centres.drop(columns=list(FIT_MODE)),
        fitted.centres.drop(columns=list(FIT_MODE)),
    )
    # the profiles are of the current members
    sizes = result.profiles.drop_duplicates("cluster_id").set_index("cluster_id")["size"]
    assert (sizes == result.assignments["cluster_id"].value_counts()).all()
    assert sizes.sum() == len(grown)


def test_a_config_change_or_old_centres_force_a_refit(
    fitted: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    cfg = resolve_config(FAST)
    centres = fitted.centres
    day = pd.Timedelta(days=1)

    def mode(config=cfg, previous=centres, as_of=FITTED_AT + day) -> str:
        return decide(resolve_config(config), previous, as_of)[0].fit_mode

    assert mode() == "assigned"
    assert mode(as_of=FITTED_AT + 7 * day - pd.Timedelta(seconds=1)) == "assigned"
    assert mode(as_of=FITTED_AT + 7 * day) == "fitted"  # 7 days or more
    assert mode(config={**FAST, "refit_every_days": 30}, as_of=FITTED_AT + 20 * day) == "assigned"
    assert mode(as_of=FITTED_AT - day) == "fitted"  # a backfill: centres from the future
    assert mode(as_of=None) == "fitted"
    for change in ({"k": 5}, {"random_state": 1}, {"scaler": "robust"}, {"sample_size": 2_000},
                   {"fill_values": {"monetary": 1}}, {"log_features": ["monetary"]},
                   {"features": list(DEFAULT_FEATURES[::-1])}):  # fmt: skip
        assert mode(config={**FAST, **change}) == "fitted", change
    assert config_fingerprint({**FAST, "refit_every_days": 1}) == config_fingerprint(FAST)
    assert mode(previous=None) == mode(previous=centres.head(0)) == "fitted"
    assert mode(previous=centres.drop(columns=["config_fingerprint"])) == "fitted"
    assert mode(previous=centres[centres["feature"] != "monetary"]) == "fitted"
    # a real run: a config change refits (fresh scan, fitted_as_of = as_of) and keeps the ids
    later = FITTED_AT + 2 * day
    changed = run_clustering(data[0], {**FAST, "n_init": 2}, centres, as_of=later)
    assert changed.fit_mode == "fitted" and "config changed" in changed.decision.reason
    assert (changed.centres["fitted_as_of"] == later).all()
    assert (changed.diagnostics["fit_mode"] == "fitted").all()
    assert label_agreement(fitted.assignments, changed.assignments) >= 0.95
    # old centres: a refit, which on the same data gives the same clusters
    old = run_clustering(data[0], FAST, centres, as_of=FITTED_AT + 8 * day)
    assert old.fit_mode == "fitted" and "8 days" in old.decision.reason
    pd.testing.assert_frame_equal(old.assignments, fitted.assignments)


def test_cadence_zero_always_refits(
    fitted: ClusteringResult, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    cfg = {**FAST, "refit_every_days": 0}
    assert decide(resolve_config(cfg), fitted.centres, FITTED_AT)[0].fit_mode == "fitted"
    later = FITTED_AT + pd.Timedelta(hours=1)
    result = run_clustering(data[0], cfg, fitted.centres, as_of=later)
    assert result.fit_mode == "fitted" and result.decision.reason == "refit_every_days is 0"
    assert (result.centres["fitted_as_of"] == later).all()
    assert (result.centres["config_fingerprint"] == fitted.config_fingerprint).all()
    assert_same_tables(fitted, result, ignore=(*FIT_MODE, "fitted_as_of", "fit_id"))
    with pytest.raises(ValueError, match="refit_every_days"):
        resolve_config({"refit_every_days": -1})


def test_density_algorithms_refit_every_run(data: tuple[pd.DataFrame, pd.Series]) -> None:
    cfg = {"algorithm": "dbscan", "dbscan_eps": 1.0, "density_sample_size": 500}
    first = run_clustering(data[0].head(800), cfg, as_of=FITTED_AT)
    decision, _ = decide(resolve_config(cfg), first.centres, FITTED_AT)
    assert decision.refit and "dbscan" in decision.reason


class FakeDbt:
    """The parts of dbt's Python model API the cluster models use, over one DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, settings: dict) -> None:
        self.con, self.this = con, f"segmentation.{name}"
        self.config = self
        self.meta = {"clustering": {k: str(v) for k, v in settings.items()}}

    def __call__(self, **_: object) -> None:  # dbt.config(materialized=...)
        return None

    def meta_get(self, key: str, default: object = None) -> object:
        return self.meta.get(key, default)

    def ref(self, name: str) -> duckdb.DuckDBPyRelation:
        return self.con.sql(f"select * from segmentation.{name}")


def build_cluster_models(
    con: duckdb.DuckDBPyConnection, settings: dict, models: tuple[str, ...] = CLUSTER_MODELS
) -> None:
    """Run the python_models/ files in dbt's order, replacing each table as dbt does."""
    for name in models:
        spec = importlib.util.spec_from_file_location(name, PYTHON_MODELS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        frame = module.model(FakeDbt(con, name, settings), con)
        con.register("frame", frame)
        con.execute(f"create or replace table segmentation.{name} as select * from frame")
        con.unregister("frame")


def test_dbt_models_share_one_run_and_follow_the_centres_decision(
    data: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real = dbt_bridge.run_clustering

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        runs.append(result.fit_mode)
        return result

    monkeypatch.setattr(dbt_bridge, "run_clustering", counting)
    con = duckdb.connect()
    con.execute("create schema segmentation")

    def features_as_of(as_of: pd.Timestamp) -> None:
        con.register("f", data[0].assign(as_of=as_of))
        con.execute("create or replace table segmentation.customer_features as from f")
        con.unregister("f")

    def table(name: str) -> pd.DataFrame:
        return con.execute(f"select * exclude (as_of) from segmentation.{name}").df()

    def modes() -> set[str]:
        return {
            mode
            for name in ("cluster_centres", "cluster_diagnostics")
            for mode in table(name)["fit_mode"]
        }

    features_as_of(FITTED_AT)
    build_cluster_models(con, FAST)
    assert runs == ["fitted"] and modes() == {"fitted"}  # one run for the four models
    first = {name: table(name) for name in CLUSTER_MODELS}

    features_as_of(FITTED_AT + pd.Timedelta(days=2))
    build_cluster_models(con, FAST)
    assert runs == ["fitted", "assigned"] and modes() == {"assigned"}
    for name in ("customer_clusters", "cluster_profiles"):
        pd.testing.assert_frame_equal(table(name), first[name])
    for name in ("cluster_centres", "cluster_diagnostics"):
        pd.testing.assert_frame_equal(
            table(name).drop(columns=["fit_mode"]),
            first[name].drop(columns=["fit_mode"]),
        )
    assigned = {name: table(name) for name in CLUSTER_MODELS}

    # a model built on its own (cache miss) replays what the centres table says was done
    dbt_bridge._CACHE.clear()
    build_cluster_models(con, FAST, ("customer_clusters", "cluster_diagnostics"))
    assert runs[-1] == "assigned"
    for name in ("customer_clusters", "cluster_diagnostics"):
        pd.testing.assert_frame_equal(table(name), assigned[name])

    # cadence 0: cluster_centres refits, and the others show that refit, not an assignment
    # to the centres it has just written
    build_cluster_models(con, {**FAST, "refit_every_days": 0})
    assert runs[-1] == "fitted" and modes() == {"fitted"}
    assert (table("cluster_centres")["fitted_as_of"] == FITTED_AT + pd.Timedelta(days=2)).all()
    assert table("cluster_diagnostics")["silhouette"].notna().all()
    refitted = {name: table(name) for name in CLUSTER_MODELS}
    dbt_bridge._CACHE.clear()
    build_cluster_models(con, {**FAST, "refit_every_days": 0}, CLUSTER_MODELS[1:])
    for name in CLUSTER_MODELS[1:]:
        pd.testing.assert_frame_equal(table(name), refitted[name])
    con.close()


def test_features_of_a_missing_channel_drop_out_of_the_fit(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    """A transactions-only shop: the web and e-mail features are null for everyone
    (customer_features: unknown, not zero). Each becomes one constant, all zeros once scaled,
    so the fit is the fit without them: same k, same clusters, same names."""
    missing = ("abandoned_cart_count", "web_sessions_90d", "days_since_last_visit",
               "email_engagement_score")  # fmt: skip
    df = data[0].head(900).copy()
    for column in missing:
        df[column] = np.nan
    settings = {**FAST, "k_max": 6}
    with_nulls = run_clustering(df, settings)
    kept = [c for c in DEFAULT_FEATURES if c not in missing]
    without = run_clustering(df.drop(columns=list(missing)), {**settings, "features": kept})
    assert with_nulls.k == without.k
    pd.testing.assert_frame_equal(
        with_nulls.assignments.drop(columns="distance_to_centre"),
        without.assignments.drop(columns="distance_to_centre"),
    )
    np.testing.assert_allclose(
        with_nulls.assignments.distance_to_centre, without.assignments.distance_to_centre
    )
    z = with_nulls.profiles.set_index("feature").loc[list(missing), "z_score"]
    assert (z.abs() < 1e-12).all()
    # deterministic: the same input gives the same tables
    assert_same_tables(with_nulls, run_clustering(df, settings))
