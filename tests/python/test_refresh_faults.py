"""Refresh faults: a refresh killed with SIGKILL at any step leaves the published file as it
was and the next refresh gives what an uninterrupted one gives; a second refresh process
exits at once while one runs; a lock held by a dead holder's child says so.

The kills are real (`segmentation refresh` in a subprocess, SIGKILL from the hook in
src/segmentation/faults.py that ``SEGMENTATION_KILL_AT`` arms; without it the hook does
nothing). They are chained on one warehouse: each killed run starts from what the last one
left, and one recovery run at the end is compared with a refresh that was never killed,
from the same start on the same data.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from segmentation import warehouse
from segmentation.faults import KILL_AT
from segmentation.lock import lock_path

from conftest import PROJECT, TEST_END, Build
from test_refresh import RUN_STATE_TABLES, Warehouse, _copy, table_differences

AS_OF = TEST_END + timedelta(days=1)
SEGMENTS = "select count(*), sum(hash(person_id, segment)) from segmentation.customer_segments"

# (kill point, what it interrupts); in the order a refresh reaches them
KILL_POINTS = [
    # dbt has committed models (their rows are in the files' WAL) and is building more
    ("executing:customer_features", "a model build"),
    ("executing:segment_share_within_bounds_*", "the test phase"),
    # the membership history is written, the state it compares with next time is not
    ("finished:segment_membership_history", "the history models"),
    ("publish:edited", "the publish: the copy's edits only in its WAL"),
    ("publish:after_replace", "the publish: swapped in, the run not yet logged"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wal_files(copy: Warehouse) -> list[Path]:
    files = (copy.db, warehouse.work_db_path(copy.db), copy.published)
    return [f.with_name(f.name + ".wal") for f in files if f.with_name(f.name + ".wal").exists()]


@pytest.fixture(scope="module")
def start(
    generated: tuple[Path, Path], generated_build: Build, tmp_path_factory: pytest.TempPathFactory
) -> Warehouse:
    """The session's generated build, published, and one more day of raw data."""
    from segmentation.append import append_days
    from segmentation.refresh import publish

    root = tmp_path_factory.mktemp("faults")
    raw, truth = generated
    shutil.copytree(raw, root / "raw")
    shutil.copytree(truth, root / "truth")
    base = Warehouse(root / "start", root / "raw")
    base.root.mkdir()
    generated_build.copy(base.db)
    publish(base.db, base.published)  # what `segmentation run` does after a build
    append_days(root / "raw", 1, seed=5, progress=False, truth_out=root / "truth")
    return base


@dataclass
class Concurrent:
    """A refresh never killed, and a second one started while it ran."""

    done: Warehouse
    holder_pid: int
    second: subprocess.CompletedProcess[str]
    second_seconds: float
    first_still_running: bool


@pytest.fixture(scope="module")
def uninterrupted(start: Warehouse) -> Concurrent:
    first_copy = _copy(start, start.root.parent / "uninterrupted")
    first = subprocess.Popen(
        first_copy.command(AS_OF), cwd=PROJECT, env=first_copy.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = lock_path(first_copy.db)
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().startswith(f"pid {first.pid},")):
        assert first.poll() is None and time.monotonic() < deadline, "the first never locked"
        time.sleep(0.05)
    started = time.perf_counter()
    second = first_copy.refresh(AS_OF)
    seconds = time.perf_counter() - started
    running = first.poll() is None
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    return Concurrent(first_copy, first.pid, second, seconds, running)


def test_second_refresh_process_exits_at_once_naming_the_holder(
    uninterrupted: Concurrent,
) -> None:
    from segmentation.refresh import LOCKED_EXIT

    second = uninterrupted.second
    assert second.returncode == LOCKED_EXIT, second.stdout + second.stderr
    assert uninterrupted.first_still_running
    assert uninterrupted.second_seconds < 15
    line = second.stdout.strip().splitlines()[-1]
    assert "refresh locked" in line
    assert f"another refresh is running (pid {uninterrupted.holder_pid}, started " in line
    # a locked run does nothing, and logs nothing
    log = (uninterrupted.done.root / "refresh.log").read_text()
    assert "locked" not in log and log.count("refresh ok") == 1


def test_lock_kept_by_a_dead_holders_child_says_so(tmp_path: Path) -> None:
    """The OS frees a dead refresh's lock, unless a process it forked still has the file
    open; the pid in the file is then gone, and the message says what holds the lock."""
    import fcntl

    from segmentation.refresh import LOCKED_EXIT

    copy = Warehouse(tmp_path, tmp_path / "raw")  # the lock comes first: no data needed
    gone = subprocess.Popen(["true"])
    gone.wait()
    with open(lock_path(copy.db), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"pid {gone.pid}, started 2026-11-21T00:00:00Z")
        held.flush()
        result = copy.refresh(AS_OF)
    assert result.returncode == LOCKED_EXIT
    assert f"its holder (pid {gone.pid}, started 2026-11-21T00:00:00Z) is not running" in (
        result.stdout
    )
    assert f"fuser {lock_path(copy.db)}" in result.stdout


def test_publish_killed_in_its_edits_does_not_break_the_next(tmp_path: Path) -> None:
    """A publish killed before its edits were checkpointed leaves `<published>.publishing`
    and its WAL; DuckDB finds a WAL by file name, so the next publish must remove both (a
    WAL replayed onto another database fails with `WAL does not match database file`)."""
    import duckdb

    from segmentation.refresh import publish

    first, second, target = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "pub.duckdb"
    for db, table in ((first, "first"), (second, "second")):
        con = duckdb.connect(str(db))
        con.execute(
            f"create schema core; create schema other; create table core.{table} as select 1 as x"
        )
        con.close()
    code = (
        "from pathlib import Path; from segmentation.refresh import publish; "
        f"publish(Path({str(first)!r}), Path({str(target)!r}))"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code], env=os.environ | {KILL_AT: "publish:edited"}
    )
    assert killed.returncode == -signal.SIGKILL
    staging = target.with_name(target.name + ".publishing")
    assert staging.with_name(staging.name + ".wal").exists() and not target.exists()
    assert publish(second, target) == 1
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute(
        "select schema_name, table_name from duckdb_tables() order by all"
    ).fetchall() == [("core", "second"), ("main", "published")]
    assert con.execute("select built_in from main.published").fetchone() == (str(second),)
    con.close()
    assert not staging.exists() and not staging.with_name(staging.name + ".wal").exists()


@pytest.fixture(scope="module")
def crashing(start: Warehouse) -> Warehouse:
    """The warehouse the kills are chained on, compacted first: the refreshes on it show
    that a compacted warehouse refreshes, the comparison at the end that it lost nothing."""
    from segmentation.compact import compact_file

    copy = _copy(start, start.root.parent / "crashing")
    for path in (copy.db, warehouse.work_db_path(copy.db)):
        compact_file(path)
    return copy


def test_compaction_runs_when_a_file_outgrew_its_last_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from segmentation.compact import compact_if_grown

    db = tmp_path / "w.duckdb"
    work = warehouse.work_db_path(db)
    con = duckdb.connect(str(db))
    con.execute("create schema core; create table core.t as select range as i from range(100000)")
    con.close()
    con = duckdb.connect(str(work))
    con.execute(
        "create table big as select range as i, md5(range::varchar) as h from range(300000)"
    )
    con.execute("create table kept as select * from big where i % 100 = 0")
    con.close()
    assert compact_if_grown(db) == ""  # the first sight only records the sizes
    con = duckdb.connect(str(work))
    con.execute("drop table big")  # its blocks are free, the file keeps them
    con.execute("checkpoint")
    con.close()
    assert compact_if_grown(db) == ""  # not grown
    # a leftover of a compaction killed half-way, and a threshold the files have passed
    (tmp_path / "w_work.duckdb.compacting").write_bytes(b"not a database")
    monkeypatch.setenv("SEGMENTATION_COMPACT_GROWTH", "0.5")
    before = work.stat().st_size
    done = compact_if_grown(db)
    assert done.startswith("marts:") and ",work:" in done, done
    assert work.stat().st_size < before / 2
    assert not (tmp_path / "w_work.duckdb.compacting").exists()
    con = duckdb.connect(str(work), read_only=True)
    assert con.execute("select count(*), sum(i) from kept").fetchone() == (3000, 449850000)
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from core.t").fetchone() == (100000,)
    con.close()


@pytest.mark.parametrize(("point", "interrupts"), KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_killed_refresh_leaves_the_published_file_intact(
    crashing: Warehouse, point: str, interrupts: str
) -> None:
    published = crashing.published
    before_hash, before_segments = sha256(published), crashing.query(SEGMENTS, published)
    killed = crashing.refresh(AS_OF, env={KILL_AT: point})
    # only the kill hook sends SIGKILL: the run got to the point (so the last killed run's
    # lock did not stop it) and died there
    assert killed.returncode == -signal.SIGKILL, (interrupts, killed.stdout + killed.stderr)
    assert "refresh " not in killed.stdout  # killed before its log line
    if point == "publish:after_replace":
        # the new state was complete when it was swapped in: readers see it
        as_of = crashing.scalar("select max(as_of) from segmentation.customer_segments", published)
        assert as_of == AS_OF
        assert sha256(published) != before_hash
    else:
        assert sha256(published) == before_hash, interrupts
    # readable by a reader as it is, with its segments
    assert crashing.query(SEGMENTS, published)[0][0] > 0
    if point != "publish:after_replace":
        assert crashing.query(SEGMENTS, published) == before_segments
    # what the kill left: the holder line in the lock file, and for the publish points the
    # half-made copy (with its WAL when the edits were not checkpointed)
    lock = lock_path(crashing.db)
    assert lock.read_text().startswith("pid ")
    staging = published.with_name(published.name + ".publishing")
    assert staging.exists() == (point == "publish:edited")
    assert (staging.with_name(staging.name + ".wal")).exists() == (point == "publish:edited")
    if point == "executing:customer_features":
        # the committed models are in a WAL the next open replays
        assert [w for w in wal_files(crashing) if w.name != published.name + ".wal"], interrupts


def test_refresh_after_the_kills_equals_an_uninterrupted_one(
    crashing: Warehouse, uninterrupted: Concurrent
) -> None:
    lock = lock_path(crashing.db)
    killed_holder = lock.read_text().strip()
    recovered = crashing.refresh(AS_OF)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    line = recovered.stdout.strip().splitlines()[-1]
    assert "refresh ok" in line and "published=yes" in line
    if killed_holder:  # the kills ran before this test: the log names the last one
        assert f"previous=killed ({killed_holder})" in line
    assert lock.read_text() == ""  # a clean end empties the lock file
    published = crashing.published
    assert not published.with_name(published.name + ".publishing").exists()
    assert wal_files(crashing) == []
    done = uninterrupted.done
    # the ledgers and histories too: a killed run's rows are not recorded twice
    assert table_differences(crashing.db, done.db, skip=frozenset(RUN_STATE_TABLES)) == {}
    assert crashing.query(SEGMENTS, published) == done.query(SEGMENTS, done.published)
