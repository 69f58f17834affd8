"""The Spark target: a fresh build and a refresh after a new day equal DuckDB's, table by
table (segmentation.engine_compare, docs/spark.md). Runs with `make test-spark`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from segmentation import engine_compare, spark
from segmentation.project import dbt_executable
from segmentation.spark import spark_env

from conftest import PROJECT, TEST_END, TEST_SEED
from test_refresh import HISTORY_TABLES, HISTORY_TAGGED, RUN_STATE_TABLES

pytestmark = [pytest.mark.spark, pytest.mark.slow]
pytest.importorskip("pyspark", reason="the Spark target is not installed: make setup-spark")

SPARK_CUSTOMERS = 300
SPARK_DAYS = 90
AS_OF = TEST_END.strftime("%Y-%m-%d %H:%M:%S")
REFRESH_AS_OF = (TEST_END + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
# what only an incremental history holds: compared with DuckDB's incremental run
# (with the audience history and the performance marts, which read the histories)
PERFORMANCE_FROM_HISTORY = {
    "audience_membership_history", "segment_membership_spans", "segment_size_trend",
    "fct_campaign_segment_performance", "campaign_holdout_outcomes", "campaign_uplift",
    "segment_migration",
}  # fmt: skip
HISTORIES = HISTORY_TABLES | HISTORY_TAGGED | {"segment_membership_state"}
HISTORIES |= PERFORMANCE_FROM_HISTORY
# a refresh within the refit cadence assigns to the stored centres, a full build refits
CLUSTER_TABLES = set(spark.CLUSTER_TABLES)


@dataclass
class Runs:
    raw: Path
    root: Path
    spark_build: Path  # the Spark tables after the first build, exported
    spark_refresh: Path  # ... after one more day and an incremental run
    duck_build: Path  # DuckDB: the first build, then the same refresh
    duck_refreshed: Path
    duck_full: Path  # DuckDB: one full build of the refreshed data


def dbt(args: list[str], env: dict[str, str], work: Path, as_of: str) -> None:
    # the Python models do not run on Spark: DuckDB builds without clusters and predictions
    no_python = "enable_clustering: false, enable_predictions: false"
    command = [dbt_executable(), *args, "--vars", f'{{as_of: "{as_of}", {no_python}}}']
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**env, "DBT_PROFILES_DIR": str(PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:]


def duck_env(raw: Path, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SEGMENTATION_TARGET": "ci",
        "SEGMENTATION_RAW_DIR": str(raw),
        "SEGMENTATION_DB_PATH": str(db),
    }


def spark_step(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "segmentation.spark", *args]
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]


def export(env: dict[str, str], out: Path) -> Path:
    spark_step(env, "export", "--out", str(out))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    from segmentation.append import append_days
    from segmentation.generate import generate

    root = tmp_path_factory.mktemp("spark")
    raw = root / "raw"
    generate(
        customers=SPARK_CUSTOMERS,
        days=SPARK_DAYS,
        seed=TEST_SEED,
        end=TEST_END,
        out=raw,
        truth_out=root / "truth",
        progress=False,
    )
    env = spark_env(root / "spark", raw)
    duck_build = root / "duck" / "warehouse.duckdb"
    duck_build.parent.mkdir()
    dbt(["build", "--target", "spark"], env, root / "spark", AS_OF)
    spark_step(env, "cluster")
    spark_build = export(env, root / "export-build")
    dbt(["build"], duck_env(raw, duck_build), root / "duck", AS_OF)
    shutil.copytree(root / "duck", root / "duck-build")
    append_days(raw, 1, seed=3, progress=False, truth_out=root / "truth")
    dbt(["build", "--target", "spark"], env, root / "spark", REFRESH_AS_OF)
    spark_step(env, "cluster")
    spark_refresh = export(env, root / "export-refresh")
    dbt(["build"], duck_env(raw, duck_build), root / "duck", REFRESH_AS_OF)
    duck_full = root / "duck-full" / "warehouse.duckdb"
    duck_full.parent.mkdir()
    dbt(["build"], duck_env(raw, duck_full), root / "duck-full", REFRESH_AS_OF)
    return Runs(
        raw,
        root,
        spark_build,
        spark_refresh,
        root / "duck-build" / "warehouse.duckdb",
        duck_build,
        duck_full,
    )


def unequal(results: list[engine_compare.TableComparison]) -> str:
    return engine_compare.format_table([r for r in results if not r.equal])


def test_spark_build_equals_duckdb_on_every_table(runs: Runs) -> None:
    results = engine_compare.compare(runs.duck_build, runs.spark_build)
    assert len(results) >= 40, [r.table for r in results]
    assert all(r.equal for r in results), unequal(results)
    # the clustering step on Spark equals the Python models on DuckDB
    compared = {r.table for r in results}
    assert {f"segmentation.{t}" for t in CLUSTER_TABLES} <= compared, compared
    segments = {r.table: r for r in results}["segmentation.customer_segments"]
    assert segments.spark_rows > SPARK_CUSTOMERS / 2


def test_spark_refresh_equals_a_full_build(runs: Runs) -> None:
    """After one more day, the Spark refresh equals a full DuckDB build of the same data
    (and DuckDB's incremental == full is test_refresh's), histories left out."""
    tables = [p.name for p in runs.spark_refresh.iterdir()]
    # the affinity state keeps each row's weight at the as_of that computed it: compared
    # through its projection, customer_affinities
    kept_by_reference = {"int_person_affinity_state"}
    skip = {
        t
        for t in tables
        if t.split(".", 1)[1] in HISTORIES | RUN_STATE_TABLES | CLUSTER_TABLES | kept_by_reference
    }
    results = engine_compare.compare(
        runs.duck_full, runs.spark_refresh, skip=engine_compare.NOT_COMPARED | skip
    )
    assert all(r.equal for r in results), unequal(results)
    built = {r.table: r for r in engine_compare.compare(runs.duck_build, runs.spark_build)}
    refreshed = {r.table: r for r in results}
    # the day arrived: more web events than after the first build
    web = "staging.stg_raw__web_events"
    assert refreshed[web].spark_rows > built[web].spark_rows


def test_spark_histories_equal_duckdb_incremental(runs: Runs) -> None:
    """The append-only histories and ledgers stay incremental on Spark: after the refresh
    they hold both runs, as DuckDB's do; the clusters follow the same refit cadence."""
    tables = [p.name for p in runs.spark_refresh.iterdir()]
    keep = {t for t in tables if t.split(".", 1)[1] in HISTORIES | CLUSTER_TABLES}
    skip = frozenset(set(tables) - keep) | engine_compare.NOT_COMPARED
    results = engine_compare.compare(runs.duck_refreshed, runs.spark_refresh, skip=skip)
    assert len(results) >= 8, [r.table for r in results]
    assert all(r.equal for r in results), unequal(results)
    as_ofs = (
        duckdb.connect()
        .execute(
            "select count(distinct as_of) from read_parquet("
            f"'{runs.spark_refresh}/segmentation.segment_size_history/*.parquet')"
        )
        .fetchone()[0]
    )
    assert as_ofs == 2


def test_comparison_sees_a_changed_value(runs: Runs, tmp_path: Path) -> None:
    """The comparison is not blind: one changed value in the export is reported."""
    changed = tmp_path / "export"
    changed.mkdir()
    name = "segmentation.customer_features"
    (changed / name).mkdir()
    source = engine_compare.export_relation(runs.spark_build / name)
    duckdb.connect().execute(
        f"copy (select * replace (case when row_number() over () = 1 then person_id || 'x' "
        f"else person_id end as person_id) from {source}) "
        f"to '{changed / name / 'part-0.parquet'}' (format parquet)"
    )
    (result,) = engine_compare.compare(runs.duck_build, changed)
    assert not result.equal and result.differing_rows == 2


# a run that would write only the seeds: the on-run-start checks stop it before them
SEEDS_ONLY = ["build", "--target", "spark", "-s", "resource_type:seed"]


def dbt_fails(args: list[str], env: dict[str, str], work: Path, vars_: str) -> str:
    """Run dbt expecting a failure; its output."""
    command = [dbt_executable(), *args, "--vars", vars_]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**env, "DBT_PROFILES_DIR": str(PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert result.returncode != 0, result.stdout[-3000:]
    return result.stdout


def test_spark_stops_on_a_condition_over_an_unknown_column(runs: Runs, tmp_path: Path) -> None:
    """The segment-condition check on Spark (the engine evaluates each condition on a typed
    row) stops the run before any table is written, naming the column."""
    bad = '{extra_segment_definitions: [{name: Typo, condition: "frequncy > 3", priority: 500}]}'
    env = spark_env(tmp_path / "spark", runs.raw)
    output = dbt_fails(SEEDS_ONLY, env, tmp_path, bad)
    assert "frequncy" in output and "on-run-start" in output, output[-3000:]


def test_spark_stops_on_a_raw_file_without_a_contract_column(runs: Runs, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(runs.raw, raw)
    files = [raw / "customers.parquet"] if (raw / "customers.parquet").exists() else []
    files += sorted((raw / "customers").glob("**/*.parquet"))
    for path in files:  # the column gone from every file of the table
        duckdb.connect().execute(
            f"copy (select * exclude (signup_at) from read_parquet('{path}')) "
            f"to '{tmp_path / 'c.parquet'}' (format parquet)"
        )
        shutil.move(tmp_path / "c.parquet", path)
    env = spark_env(tmp_path / "spark", raw)
    output = dbt_fails(SEEDS_ONLY, env, tmp_path, "{}")
    assert "Raw table 'customers': its files under" in output, output[-3000:]
    assert "have no column signup_at" in output, output[-3000:]
