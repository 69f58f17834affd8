"""Locating the dbt project and running dbt as a subprocess with the project's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEFAULT_RAW_DIR = Path("data/raw")
DEFAULT_DB_PATH = Path("data/customer_segmentation.duckdb")


def project_dir(start: Path | None = None) -> Path:
    """The folder holding dbt_project.yml: ``start`` (default cwd) or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dbt_project.yml").exists():
            return candidate
    raise SystemExit(f"no dbt_project.yml in {here} or its parents: run from the project folder")


def raw_dir() -> Path:
    return Path(os.environ.get("SEGMENTATION_RAW_DIR", str(DEFAULT_RAW_DIR)))


def db_path(project: Path) -> Path:
    path = Path(os.environ.get("SEGMENTATION_DB_PATH", str(DEFAULT_DB_PATH)))
    return path if path.is_absolute() else project / path


def dbt_env(project: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(project))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    (project / "data").mkdir(exist_ok=True)
    return env


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's .venv), else the one on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else "dbt"


def run_dbt(args: list[str], project: Path, vars_yaml: str | None = None) -> int:
    """Run ``dbt <args>`` in the project, streaming its output; returns the exit code."""
    command = [dbt_executable(), *args]
    if vars_yaml:
        command += ["--vars", vars_yaml]
    print("$ " + " ".join(command), flush=True)
    return subprocess.call(command, cwd=project, env=dbt_env(project))
