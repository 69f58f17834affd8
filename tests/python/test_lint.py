"""Style gates that run inside `make test`: sqlfluff on the dbt models, ruff on Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT

BIN = Path(sys.executable).parent


def test_sqlfluff_lints_models_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(PROJECT),
            "SEGMENTATION_DB_PATH": str(tmp_path / "lint.duckdb"),
        },
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "src", "tests/python", "bench"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
