"""Clustering through dbt: determinism, stable labels, planted personas, real data."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from segmentation.clustering import disjoint_sample_ari, run_clustering

from conftest import TEST_AS_OF, TEST_END, Build, build, run_dbt

CLUSTERS = "select person_id, cluster_id from segmentation.customer_clusters order by person_id"

# columns that carry ids of the extra data set, renamed so they cannot collide
ID_COLUMNS = ("customer_id", "order_id", "event_id", "anonymous_id")


def _rebuild_clusters(build_: Build, db: Path, work: Path) -> None:
    result = run_dbt(
        ["build", "--select", "cluster_centres+"], build_.raw_dir, db, work, as_of=TEST_AS_OF
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_rebuilding_on_the_same_data_gives_identical_labels(
    generated_build: Build, tmp_path: Path
) -> None:
    again = generated_build.copy(tmp_path / "copy.duckdb")
    _rebuild_clusters(generated_build, again.db_path, tmp_path)
    pd.testing.assert_frame_equal(generated_build.query(CLUSTERS), again.query(CLUSTERS))
    diagnostics = "select * exclude (as_of) from segmentation.cluster_diagnostics order by k"
    pd.testing.assert_frame_equal(generated_build.query(diagnostics), again.query(diagnostics))


def _append_new_customers(src: Path, extra: Path, dst: Path) -> None:
    """src plus the customers of extra (ids prefixed 'new-') and all their activity."""
    dst.mkdir(parents=True)
    for path in src.glob("*.parquet"):
        table = pq.read_table(path)
        if path.stem not in ("products", "email_campaigns"):
            added = pq.read_table(extra / path.name)
            for column in ID_COLUMNS:
                if column in added.column_names:
                    index = added.column_names.index(column)
                    renamed = pc.binary_join_element_wise("new-", added[column], "")
                    added = added.set_column(index, column, renamed)
            table = pa.concat_tables([table, added.select(table.column_names).cast(table.schema)])
        pq.write_table(table, dst / path.name)


@pytest.mark.slow
def test_five_percent_new_customers_keep_95_percent_of_labels(
    generated_build: Build, tmp_path: Path
) -> None:
    from segmentation.generate import generate

    customers = generated_build.scalar("select count(*) from core.dim_customers")
    generate(
        customers=max(1, customers // 20),
        days=365,
        seed=99,
        end=TEST_END,
        out=tmp_path / "extra",
        truth_out=tmp_path / "extra_truth",
        progress=False,
    )
    _append_new_customers(generated_build.raw_dir, tmp_path / "extra", tmp_path / "raw")
    grown = generated_build.copy(tmp_path / "grown.duckdb")  # keeps the previous centres
    result = run_dbt(["build"], tmp_path / "raw", grown.db_path, tmp_path, as_of=TEST_AS_OF)
    assert result.returncode == 0, result.stdout[-3000:]
    before = generated_build.query(CLUSTERS).set_index("person_id")["cluster_id"]
    after = grown.query(CLUSTERS).set_index("person_id")["cluster_id"]
    kept = (after.reindex(before.index) == before).mean()
    print(f"labels kept after +5 % customers: {kept:.3f}")
    assert after.index.str.startswith("new-").sum() > 0
    assert kept >= 0.95


@pytest.fixture(scope="module")
def persona_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, pd.DataFrame]:
    """The default demo size of the clustering issue: 50k customers."""
    from segmentation.generate import generate

    base = tmp_path_factory.mktemp("personas")
    generate(
        customers=50_000,
        days=365,
        seed=42,
        end=datetime(2026, 11, 20, 12),
        out=base / "raw",
        truth_out=base / "truth",
        progress=False,
    )
    result = build(base / "raw", base / "work")
    assert result.returncode == 0, result.output[-4000:]
    truth = pd.read_parquet(base / "truth" / "customers_truth.parquet")
    return result, truth


@pytest.mark.slow
def test_clusters_recover_the_planted_personas(persona_build: tuple[Build, pd.DataFrame]) -> None:
    result, truth = persona_build
    clusters = result.query(CLUSTERS)
    persona = truth.set_index("customer_id")["persona"]
    ari = adjusted_rand_score(clusters.person_id.map(persona), clusters.cluster_id)
    chosen = result.query(
        "select k, silhouette from segmentation.cluster_diagnostics where is_chosen"
    )
    print(
        f"planted personas: ARI {ari:.3f}, chosen k {int(chosen.k[0])}, "
        f"silhouette {chosen.silhouette[0]:.3f}"
    )
    assert ari >= 0.7


@pytest.mark.slow
def test_fits_on_disjoint_samples_agree(persona_build: tuple[Build, pd.DataFrame]) -> None:
    result, _ = persona_build
    features = result.query("select * from segmentation.customer_features")
    with threadpool_limits(limits=1):  # as in dbt: spinning OpenMP threads are slow here
        ari = disjoint_sample_ari(features, lambda part: run_clustering(part))
    print(f"disjoint-sample stability: ARI {ari:.3f}")
    assert ari >= 0.9


def test_online_retail_clusters(online_retail_build: Build, tmp_path: Path) -> None:
    chosen = online_retail_build.query(
        "select k, silhouette from segmentation.cluster_diagnostics where is_chosen"
    )
    names = online_retail_build.query(
        "select cluster_id, cluster_name, count(*) as people "
        "from segmentation.customer_clusters group by all order by cluster_id"
    )
    print(
        f"Online Retail: k {int(chosen.k[0])}, silhouette {chosen.silhouette[0]:.3f}, "
        + json.dumps(dict(zip(names.cluster_name, names.people.astype(int), strict=True)))
    )
    assert len(names) == int(chosen.k[0])
    assert names.cluster_name.is_unique

    from segmentation.report import write_report

    page = write_report(online_retail_build.db_path, tmp_path / "report")
    assert page.exists()
    assert {p.name for p in page.parent.glob("*.png")} == {
        "elbow_silhouette.png",
        "cluster_profiles.png",
        "segment_sizes.png",
    }
