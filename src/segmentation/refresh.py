"""The scheduled refresh: lock, source freshness, incremental build and tests, history,
then write-audit-publish, and one log line.

Readers (BI, exports) open the *published* database, never the working one dbt writes
to. A refresh builds and tests in the working database; only when every model and test
passed does it record history and copy the marts file (the reader-facing schemas) into
a new file that atomically replaces the published one. A failed refresh leaves the
published database as it was: readers keep the last good segments.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation import project as proj
from segmentation import warehouse
from segmentation.compact import compact_if_grown
from segmentation.dbt_session import DbtSession, target_dir
from segmentation.faults import kill_point
from segmentation.lock import RefreshLocked, refresh_lock

__all__ = ["LOCKED_EXIT", "RefreshLocked", "publish", "refresh", "refresh_lock"]

# what readers see: the marts, not staging or intermediate tables
PUBLISHED_SCHEMAS = ("core", "segmentation", "activation", "content", "performance", "semantic")
DEFAULT_PUBLISHED_PATH = Path("data/published.duckdb")
LOCKED_EXIT = 75  # EX_TEMPFAIL: another refresh holds the lock; try again next time


# what keeps a fit between runs, refitted now (`segmentation refresh --refit`): the clusters,
# the CLV parameters and backtest, the content fit (associations, popularity, evaluation)
REFIT_NOW_VARS: dict[str, object] = {
    "clustering_refit_every_days": 0,
    "prediction_refit_every_days": 0,
    "recommendation_refit_every_days": 0,
}


def published_path(project: Path) -> Path:
    path = Path(os.environ.get("SEGMENTATION_PUBLISHED_PATH", str(DEFAULT_PUBLISHED_PATH)))
    return path if path.is_absolute() else project / path


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def publish(db_file: Path, target: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> int:
    """Copy the marts file, keep only ``schemas`` in the copy and swap it in atomically.
    Returns the number of tables published. Open reader connections keep the old file.

    The main working file holds only the marts (the other layers are in the work file,
    see warehouse.py), so publishing is a file copy, not a copy of every row: 0.3 s against
    11 s at 1M customers. Call it only after a build whose models and tests all passed. It
    records ``tested_through``: the newest ``loaded_at`` stamp in the working warehouse.
    Every row stamped up to then is in a state that passed, so the next refresh tests only
    newer rows for uniqueness (tests/generic/test_unique_incremental.sql)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".publishing")
    # what a publish killed half-way left: a DuckDB file finds its WAL by name and would
    # replay the old one onto the new copy
    for leftover in (staging, warehouse.wal_path(staging)):
        leftover.unlink(missing_ok=True)
    tested_through = _newest_stamp(db_file)
    # fold any write-ahead log into the file first (dbt closed it, so this is a no-op
    # unless a close was cut short): the copy must be the whole state
    con = duckdb.connect(str(db_file))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    shutil.copyfile(db_file, staging)
    con = duckdb.connect(str(staging))
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        for (schema,) in con.execute(
            "select schema_name from duckdb_schemas() where database_name = ? "
            "and not internal and schema_name <> 'main'",
            [catalog],
        ).fetchall():
            if schema not in schemas:  # the raw source views, a schema a user added
                con.execute(f'drop schema "{schema}" cascade')
        con.execute("drop table if exists main.published")
        con.execute(
            "create table main.published as select current_timestamp as published_at, "
            "? as built_in, cast(? as timestamp) as tested_through",
            [str(db_file), tested_through],
        )
        (count,) = con.execute(
            "select count(*) from duckdb_tables() where database_name = ? and schema_name in "
            f"({', '.join(repr(s) for s in schemas)})",
            [catalog],
        ).fetchone()
        kill_point("publish:edited")  # the edits are in the copy's WAL only
        con.execute("checkpoint")
    finally:
        con.close()
    # readers open the published file read-only and never leave a WAL; one that is there
    # belongs to the old file and must not be replayed onto the new one
    warehouse.wal_path(target).unlink(missing_ok=True)
    os.replace(staging, target)
    kill_point("publish:after_replace")
    return int(count)


@dataclass
class RefreshResult:
    status: str  # ok, failed, locked
    step: str = ""
    seconds: float = 0.0
    rows_in: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    entered: int = 0
    left: int = 0
    segments_changed: int = 0
    freshness: str = ""
    as_of: str = ""
    failures: list[str] = field(default_factory=list)
    reloaded: str = ""  # tables reloaded whole because a raw file changed or went
    interrupted: str = ""  # the holder line of a killed refresh found on the lock
    compacted: str = ""  # the files this run compacted, with their sizes

    def log_line(self) -> str:
        stamp = f"{_utc_now():%Y-%m-%dT%H:%M:%SZ}"
        parts = [stamp, f"refresh {self.status}"]
        if self.step:
            parts.append(f"step={self.step}")
        parts += [
            f"as_of={self.as_of.replace(' ', 'T')}",
            f"rows_in={self.rows_in}",
            f"time={self.seconds:.1f}s",
            f"segments_changed={self.segments_changed}",
            f"entered={self.entered}",
            f"left={self.left}",
            f"freshness={self.freshness or 'n/a'}",
        ]
        if self.reloaded:
            parts.append(f"reloaded={self.reloaded}")
        if self.compacted:
            parts.append(f"compacted={self.compacted}")
        if self.interrupted:
            parts.append(f"previous=killed ({self.interrupted})")
        if self.status == "ok":
            parts.append("published=yes")
        elif self.status == "failed":
            parts.append("published=no (readers keep the last good segments)")
        if self.failures:
            parts.append("failures=" + ",".join(self.failures[:5]))
        return " ".join(parts)


def _failures(project: Path) -> list[str]:
    path = target_dir(project) / "run_results.json"
    if not path.exists():
        return ["dbt stopped before any model ran (see refresh-dbt.log)"]
    results = json.loads(path.read_text()).get("results", [])
    return [r["unique_id"].split(".")[2] for r in results if r.get("status") in ("error", "fail")]


def _freshness(project: Path) -> str:
    path = target_dir(project) / "sources.json"
    if not path.exists():
        return "unknown"
    results = json.loads(path.read_text()).get("results", [])
    worst = "pass"
    for r in results:
        if r.get("status") in ("error", "runtime error"):
            worst = "stale"
        elif r.get("status") == "warn" and worst == "pass":
            worst = "warn"
    stale = [r["unique_id"].split(".")[-1] for r in results if r.get("status") != "pass"]
    return worst + (f"({','.join(stale)})" if stale else "")


def _newest_stamp(db_file: Path) -> datetime | None:
    """The newest ``loaded_at`` over the working warehouse's incremental tables (both files)."""
    con = warehouse.connect(db_file)
    try:
        stamped = con.execute(
            "select table_schema, table_name from information_schema.columns "
            "where table_catalog = 'memory' and column_name = 'loaded_at' order by 1, 2"
        ).fetchall()
        if not stamped:
            return None
        union = " union all ".join(
            f'select max(loaded_at) as stamp from "{schema}"."{table}"' for schema, table in stamped
        )
        return con.execute(f"select max(stamp) from ({union})").fetchone()[0]
    finally:
        con.close()


def last_tested_through(db_file: Path, published: Path) -> datetime | None:
    """``tested_through`` of the published state, if it was built in ``db_file``: rows
    stamped before it passed their tests. None (test everything) when unknown."""
    if not (published.exists() and db_file.exists()):
        return None
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select built_in, tested_through from main.published limit 1").fetchone()
    except duckdb.Error:  # published before tested_through existed
        return None
    finally:
        con.close()
    if row is None or row[0] != str(db_file):
        return None
    return row[1]


def _rows_in(db_file: Path, since: datetime) -> dict[str, int]:
    """Raw rows that came in, per table, as the load ledger saw them in this refresh."""
    con = warehouse.connect(db_file)
    try:
        rows = con.execute(
            "select source_table, sum(new_rows) from audit.audit_raw_arrivals "
            "where observed_at >= ? group by source_table order by source_table",
            [since],
        ).fetchall()
    finally:
        con.close()
    return {table: int(n) for table, n in rows}


def _reloads(db_file: Path, since: datetime) -> str:
    """The tables this run reloaded whole because the file ledger saw a raw file of theirs
    replaced or removed: ``orders:2 files (1 replaced, 1 removed); order_items:1 file (1
    removed)``, "" for none."""
    con = warehouse.connect(db_file)
    try:
        rows = con.execute(
            "select source_table, change_type, count(*) from audit.audit_raw_files "
            "where observed_at >= ? and change_type in ('replaced', 'removed') "
            "group by all order by 1, 2 desc",
            [since],
        ).fetchall()
    finally:
        con.close()
    by_table: dict[str, list[tuple[str, int]]] = {}
    for table, change, files in rows:
        by_table.setdefault(table, []).append((change, int(files)))
    parts = []
    for table, changes in by_table.items():
        total = sum(n for _, n in changes)
        detail = ", ".join(f"{n} {change}" for change, n in changes)
        parts.append(f"{table}:{total} file{'s' if total > 1 else ''} ({detail})")
    return "; ".join(parts)


def _history_changes(db_file: Path, since: datetime) -> tuple[int, int, int]:
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        entered, left, segments = con.execute(
            "select count(*) filter (where change_type = 'entered'), "
            "count(*) filter (where change_type = 'left'), count(distinct segment) "
            "from segmentation.segment_membership_history where recorded_at >= ?",
            [since],
        ).fetchone()
    finally:
        con.close()
    return int(entered), int(left), int(segments)


def refresh(
    project: Path,
    as_of: str | None = None,
    full_refresh: bool = False,
    log_dir: Path | None = None,
    extra_vars: dict[str, object] | None = None,
) -> RefreshResult:
    """One scheduled refresh. Never raises for a failed build: the result says so.

    as_of defaults to now, pinned once so that every step, the segments and the history
    rows carry the same one."""
    db_file = proj.db_path(project)
    log_dir = log_dir or db_file.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    dbt_log = log_dir / "refresh-dbt.log"
    as_of = as_of or f"{_utc_now():%Y-%m-%d %H:%M:%S}"
    result = RefreshResult(status="failed", as_of=as_of)
    started = time.perf_counter()
    try:
        with refresh_lock(db_file) as lock:
            result.interrupted = lock.interrupted
            tested = None if full_refresh else last_tested_through(db_file, published_path(project))
            dbt_vars: dict[str, object] = {"as_of": as_of, **(extra_vars or {})}
            if tested is not None:
                dbt_vars["tested_through"] = f"{tested:%Y-%m-%d %H:%M:%S.%f}"
            dbt_log.write_text(f"refresh started {_utc_now():%Y-%m-%dT%H:%M:%SZ}\n")
            dbt = DbtSession(project, dbt_vars, dbt_log)
            # 1. source freshness: reported, not blocking (the segment freshness test,
            #    an error in prod, is what stops stale segments from being published)
            dbt.invoke(["source", "freshness"])
            result.freshness = _freshness(project)
            # 2. write + audit, then history: one build, tests included. The history models
            #    run after every reader-facing mart and its tests (after_reader_facing_marts),
            #    so a failed test skips them and history records only states that passed.
            # Unit tests check the code on fixed inputs, not the data: `make test` and CI
            # run them; the scheduled job skips them (dbt's advice for production runs).
            build = ["build", "--exclude-resource-type", "unit_test"]
            build_started = _utc_now()
            if full_refresh:
                build.append("--full-refresh")
            build_code = dbt.invoke(build)
            if build_code != 0:
                result.step = "build"
                result.failures = _failures(project)
                with contextlib.suppress(duckdb.Error):  # a build that stopped before the ledger
                    result.reloaded = _reloads(db_file, build_started)
                return result
            # 3. publish
            publish(db_file, published_path(project))
            result.rows_by_table = _rows_in(db_file, build_started)
            result.rows_in = sum(result.rows_by_table.values())
            result.reloaded = _reloads(db_file, build_started)
            result.entered, result.left, result.segments_changed = _history_changes(
                db_file, build_started
            )
            result.status = "ok"
            # 4. after publishing, so readers never wait for it; see compact.py
            try:
                result.compacted = compact_if_grown(db_file)
            except (duckdb.Error, OSError) as exc:  # the files are intact: try next time
                result.compacted = f"failed ({exc})"
            return result
    except RefreshLocked as exc:
        result.status = "locked"
        result.failures = [str(exc)]
        return result
    finally:
        result.seconds = time.perf_counter() - started
        if result.status != "locked":
            with open(log_dir / "refresh.log", "a") as log:
                log.write(result.log_line() + "\n")
