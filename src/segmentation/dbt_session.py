"""dbt invoked in this process, several commands on one parsed project.

The scheduled refresh runs source freshness and then the build. As separate processes each
paid Python and dbt start-up and a project parse (about 4 s each at any data size); here the
project is parsed once and each command reuses that manifest. dbt's console output goes to a
log file (the refresh prints one line of its own).

The parse leaves out the vars that change every run and are read only when SQL is compiled
(``RUN_VARS``: as_of, tested_through): with them a changed var made dbt parse the whole
project again each run (4 s); without them the parse reuses the last one (partial parsing).
The commands get every var.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from segmentation import project as proj
from segmentation.dbt_schedule import TIMES_FILE, critical_path_first, record_times
from segmentation.faults import dbt_callbacks

# vars no model config or ref depends on (macros/as_of.sql, macros/incremental.sql)
RUN_VARS = ("as_of", "tested_through")


def _vars_args(dbt_vars: dict[str, object]) -> list[str]:
    return ["--vars", json.dumps(dbt_vars)] if dbt_vars else []


class DbtSession:
    """``invoke([...])`` returns dbt's exit code: 0 ok, 1 a model or test failed, 2 dbt
    itself could not run (bad project, profile, vars)."""

    def __init__(self, project: Path, dbt_vars: dict[str, object], log: Path) -> None:
        self.project = project
        self.vars = _vars_args(dbt_vars)
        self.parse_vars = _vars_args({k: v for k, v in dbt_vars.items() if k not in RUN_VARS})
        self.log = log
        self._runner: Any = None
        # the dbt threads of profiles.yml
        self.threads = max(1, int(os.environ.get("SEGMENTATION_THREADS", "2")))
        # what `dbt` run by hand gets from the Makefile: profiles in the project, no tracking
        for key, value in proj.dbt_env(project).items():
            os.environ.setdefault(key, value)
        # dbt's own file log (logs/dbt.log) at info, not debug: writing every statement and
        # adapter event cost the 1M refresh about 1 s of its two cores. DBT_LOG_LEVEL_FILE=debug
        # brings the statements back; the console output (refresh-dbt.log) is the same
        os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")

    def invoke(self, args: list[str]) -> int:
        from dbt.cli.main import dbtRunner

        if self._runner is None:
            parsed = self._call(dbtRunner(), ["parse"], self.parse_vars)
            if not parsed.success or parsed.result is None:
                return 2
            # dbt_callbacks: the crash tests' kill points, none in production
            self._runner = dbtRunner(manifest=parsed.result, callbacks=dbt_callbacks())
        result = self._call(self._runner, args)
        if result.exception is not None:
            return 2
        return 0 if result.success else 1

    def _call(self, runner: Any, args: list[str], vars_args: list[str] | None = None) -> Any:
        command = [
            *args,
            "--project-dir",
            str(self.project),
            *(self.vars if vars_args is None else vars_args),
        ]
        # a step that stops before writing results must not report the last step's failures
        run_results = target_dir(self.project) / "run_results.json"
        run_results.unlink(missing_ok=True)
        # node times of full and incremental builds differ tenfold: kept apart (the first
        # incremental build orders by the full build's times, better than none)
        full_times = target_dir(self.project) / f"full_{TIMES_FILE}"
        times = full_times if "--full-refresh" in args else full_times.with_name(TIMES_FILE)
        with open(self.log, "a") as out:
            out.write(f"\n$ dbt {' '.join(command)}\n")
            out.flush()
            # relative paths in profiles.yml are relative to the project, as for `dbt` there
            with (
                contextlib.chdir(self.project),
                contextlib.redirect_stdout(out),
                critical_path_first(times if times.exists() else full_times, self.threads),
            ):
                try:
                    return runner.invoke(command)
                finally:
                    _release_duckdb()
                    record_times(run_results, times)


def target_dir(project: Path) -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH", str(project / "target")))


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open for the life of the process; close it, so that the
    next step (publish, the next command) opens the file afresh and nothing stays locked."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
