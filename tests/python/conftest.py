"""Shared fixtures: generated raw data and dbt builds into temporary DuckDB files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from segmentation import warehouse
from segmentation.project import dbt_executable

PROJECT = Path(__file__).resolve().parents[2]
ONLINE_RETAIL = PROJECT.parent / "shared" / "datasets" / "online_retail" / "online_retail.parquet"

# A fixed end and as_of keep every build of the suite deterministic.
TEST_END = datetime(2026, 11, 20, 12, 0, 0)
TEST_AS_OF = "2026-11-20 12:00:00"
TEST_CUSTOMERS = 2_000
TEST_DAYS = 365
TEST_SEED = 7


@dataclass
class Build:
    """One dbt build: where its raw data came from and the DuckDB file it wrote."""

    raw_dir: Path
    db_path: Path
    returncode: int
    output: str

    def query(self, sql: str) -> pd.DataFrame:
        con = warehouse.connect(self.db_path)
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def scalar(self, sql: str) -> object:
        return self.query(sql).iat[0, 0]

    def copy(self, db_path: Path) -> Build:
        """The same build in another DuckDB file, for tests that change or rebuild it."""
        shutil.copy(self.db_path, db_path)
        shutil.copy(warehouse.work_db_path(self.db_path), warehouse.work_db_path(db_path))
        return Build(self.raw_dir, db_path, self.returncode, self.output)


def run_dbt(
    args: list[str],
    raw_dir: Path,
    db_path: Path,
    work_dir: Path,
    as_of: str | None,
    variables: dict | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run dbt on the repo's project against ``raw_dir``, writing to ``db_path``;
    ``variables``: further --vars besides as_of."""
    env = dict(os.environ)
    env.update(
        SEGMENTATION_RAW_DIR=str(raw_dir),
        SEGMENTATION_DB_PATH=str(db_path),
        SEGMENTATION_TARGET="ci",
        DBT_PROFILES_DIR=str(PROJECT),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    # never the repo's data/activation/state: each build starts its destinations from empty
    env.setdefault("SEGMENTATION_ACTIVATION_STATE_DIR", str(work_dir / "activation_state"))
    command = [
        dbt_executable(),
        *args,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    merged = {**({"as_of": as_of} if as_of else {}), **(variables or {})}
    if merged:
        command += ["--vars", json.dumps(merged)]  # JSON is YAML
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)


def build(
    raw_dir: Path, work_dir: Path, as_of: str | None = TEST_AS_OF, variables: dict | None = None
) -> Build:
    work_dir.mkdir(parents=True, exist_ok=True)
    db_path = work_dir / "warehouse.duckdb"
    result = run_dbt(["build"], raw_dir, db_path, work_dir, as_of, variables)
    return Build(raw_dir, db_path, result.returncode, result.stdout + result.stderr)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small generated data set: (raw_dir, truth_dir)."""
    from segmentation.generate import generate

    base = tmp_path_factory.mktemp("generated")
    raw, truth = base / "raw", base / "truth"
    generate(
        customers=TEST_CUSTOMERS,
        days=TEST_DAYS,
        seed=TEST_SEED,
        end=TEST_END,
        out=raw,
        truth_out=truth,
        progress=False,
    )
    return raw, truth


@pytest.fixture(scope="session")
def generated_build(
    generated: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Build:
    raw, _ = generated
    result = build(raw, tmp_path_factory.mktemp("generated_build"))
    assert result.returncode == 0, result.output[-5000:]
    return result


@pytest.fixture(scope="session")
def truth(generated: tuple[Path, Path]) -> dict[str, pd.DataFrame]:
    _, truth_dir = generated
    return {path.stem: pd.read_parquet(path) for path in truth_dir.glob("*.parquet")}


@pytest.fixture(scope="session")
def online_retail_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"{ONLINE_RETAIL} not found (shared/ beside the checkout)")
    from segmentation.importers.online_retail import import_online_retail

    base = tmp_path_factory.mktemp("online_retail")
    report = import_online_retail(ONLINE_RETAIL, base / "raw")
    as_of = report.as_of.strftime("%Y-%m-%d %H:%M:%S")
    result = build(base / "raw", base, as_of=as_of)
    assert result.returncode == 0, result.output[-5000:]
    return result
