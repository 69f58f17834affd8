"""The scheduled refresh: incremental models give what a full rebuild gives, history
records changes only, write-audit-publish keeps the last good segments, the lock holds,
and a new hot-abandoner session shows within one refresh."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from segmentation import warehouse
from segmentation.refresh import REFIT_NOW_VARS

from conftest import PROJECT, Build, run_dbt

END = datetime(2026, 11, 20, 12, 0, 0)
DAYS = 120
CUSTOMERS = 2_000
APPEND_DAYS = 2

# bookkeeping that differs between an incremental and a full build by design
RUN_COLUMNS = {"loaded_at", "observed_at", "computed_at", "recorded_at", "checked_as_of"}
# per-person state kept at the as_of of the run that computed the row: compared through the
# features that project it to as_of (int_customers_engagement_scored)
STATE_COLUMNS = {
    "score_reference_at",
    "web_score_at_reference",
    "email_score_at_reference",
    # int_person_affinity_state, through customer_affinities
    "weight_at_reference",
    "weight_reference_at",
}
# state that only an incremental history has
HISTORY_TABLES = {"audit_raw_arrivals", "audit_raw_files", "int_customers_identity_tracked"}
# what one run loads: empty or all-new in a full build by design
RUN_STATE_TABLES = {"audit_load_manifest", "int_web_visitors_touched", "int_web_people_touched"}
HISTORY_TAGGED = {"segment_membership_history", "segment_size_history"}
# the BG/NBD fits of earlier runs stay in the table as history (a full build has one)
PREDICTION_TABLES = {"clv_model_parameters"}
# the tables a cluster numbering reaches (a refit numbers after the previous fit)
CLUSTER_NUMBERED = {
    f"segmentation.{table}"
    for table in (
        "cluster_centres",
        "cluster_profiles",
        "customer_clusters",
        "customer_segments",
        "customer_primary_segment",
        "segment_definitions",
        "segment_summary",
        "segment_membership_state",
    )
}


def assert_equal_up_to_cluster_numbering(refreshed: Warehouse, full: Path) -> None:
    """A refresh that refitted the clusters equals a full build, except for the cluster ids:
    the refit numbers clusters after the previous fit, a full build by size, so only the
    cluster tables and the segments built on them may differ; every other membership is
    the same."""
    differing = table_differences(refreshed.db, full)
    assert set(differing) <= CLUSTER_NUMBERED, differing
    members = (
        "select person_id, segment from segmentation.customer_segments "
        "where segment_type not in ('cluster', 'predicted') order by all"
    )
    assert refreshed.query(members) == refreshed.query(members, full)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class Warehouse:
    """A raw folder and the working, published and log files of one refresh schedule."""

    def __init__(self, root: Path, raw: Path) -> None:
        self.root = root
        self.raw = raw
        self.db = root / "warehouse.duckdb"
        self.published = root / "published.duckdb"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SEGMENTATION_RAW_DIR=str(self.raw),
            SEGMENTATION_DB_PATH=str(self.db),
            SEGMENTATION_PUBLISHED_PATH=str(self.published),
            SEGMENTATION_ACTIVATION_STATE_DIR=str(self.root / "activation_state"),
            SEGMENTATION_TARGET="ci",
            DBT_PROFILES_DIR=str(PROJECT),
            DBT_TARGET_PATH=str(self.root / "target"),
            DBT_LOG_PATH=str(self.root / "dbt-logs"),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        return env

    def command(self, as_of: datetime, *extra: str) -> list[str]:
        """`segmentation refresh` in its own process, as cron runs it."""
        return [sys.executable, "-m", "segmentation", "refresh", "--as-of", _ts(as_of), *extra]

    def refresh(
        self, as_of: datetime, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(as_of, *extra),
            cwd=PROJECT,
            env=self.env() | (env or {}),
            capture_output=True,
            text=True,
        )

    def query(self, sql: str, db: Path | None = None) -> list[tuple]:
        # the published file alone; the working warehouse with its work file
        con = duckdb.connect(str(db), read_only=True) if db else warehouse.connect(self.db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, db: Path | None = None) -> object:
        return self.query(sql, db)[0][0]


def full_build(raw: Path, work: Path, as_of: datetime) -> Build:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "full.duckdb"
    result = run_dbt(["build", "--full-refresh"], raw, db, work, _ts(as_of))
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return Build(raw, db, result.returncode, result.stdout)


def table_differences(
    incremental: Path,
    full: Path,
    skip: frozenset[str] = frozenset(
        HISTORY_TABLES | HISTORY_TAGGED | RUN_STATE_TABLES | PREDICTION_TABLES
    ),
) -> dict[str, tuple[int, int]]:
    """Per table: rows only in one build and rows only in the other (run bookkeeping
    columns and the ``skip`` tables, by default the incremental-only state, left out)."""
    con = duckdb.connect()
    # each build is two files: the marts and the work file (staging, audit, intermediate)
    for alias, db in (("inc", incremental), ("ful", full)):
        con.execute(f"attach '{db}' as {alias} (read_only)")
        con.execute(f"attach '{warehouse.work_db_path(db)}' as {alias}_work (read_only)")
    tables = con.execute(
        "select database_name, schema_name, table_name from duckdb_tables() "
        "where database_name in ('ful', 'ful_work') "
        "and schema_name in ('staging', 'audit', 'intermediate', 'core', 'segmentation', 'content')"
    ).fetchall()
    differences = {}
    for database, schema, table in tables:
        if table in skip:
            continue
        suffix = database.removeprefix("ful")
        columns = [
            (name, data_type)
            for (name, data_type) in con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? "
                "and schema_name = ? and table_name = ?",
                [database, schema, table],
            ).fetchall()
            if name not in RUN_COLUMNS | STATE_COLUMNS
        ]
        # a parallel float sum's last digits vary between runs: compare doubles to 1e-4
        listed = ", ".join(
            f'round("{c}", 4) as "{c}"' if t in ("DOUBLE", "FLOAT") else f'"{c}"'
            for c, t in columns
        )
        only = []
        for left, right in (("inc", "ful"), ("ful", "inc")):
            only.append(
                con.execute(
                    f"select count(*) from (select {listed} from {left}{suffix}.{schema}.{table} "
                    f"except all select {listed} from {right}{suffix}.{schema}.{table})"
                ).fetchone()[0]
            )
        if any(only):
            differences[f"{schema}.{table}"] = tuple(only)
    con.close()
    assert len(tables) > 30, tables
    return differences


@pytest.fixture(scope="module")
def schedule(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Generated data refreshed once (the first build), then 2 days appended and refreshed."""
    from segmentation.append import append_days
    from segmentation.generate import generate

    root = tmp_path_factory.mktemp("refresh")
    raw = root / "raw"
    generate(
        customers=CUSTOMERS,
        days=DAYS,
        # a seed whose six clusters differ in size by 7+ persons at END and END + 2 days:
        # cluster ids of a refit are matched to the previous fit, a full build numbers them
        # by size, so near-equal sizes would swap ids between the two and nothing else
        seed=12,
        end=END,
        out=raw,
        truth_out=root / "truth",
        progress=False,
    )
    warehouse = Warehouse(root, raw)
    first = warehouse.refresh(END)
    assert first.returncode == 0, first.stdout + first.stderr
    assert warehouse.published.exists()
    append_days(raw, APPEND_DAYS, seed=3, progress=False, truth_out=root / "truth")
    # refit the clusters so that they compare with a full rebuild (a refresh between refits
    # assigns people to the centres it has)
    second = warehouse.refresh(END + timedelta(days=APPEND_DAYS), "--refit-clusters")
    assert second.returncode == 0, second.stdout + second.stderr
    warehouse.last_output = second.stdout  # type: ignore[attr-defined]
    return warehouse


def test_appended_data_has_late_and_duplicate_events(schedule: Warehouse) -> None:
    new_rows = schedule.scalar(
        "select sum(new_rows) from audit.audit_raw_arrivals "
        "where observed_at = (select max(observed_at) from audit.audit_raw_arrivals)"
    )
    assert new_rows > 1_000
    late = schedule.scalar(
        f"select count(*) from staging.stg_raw__web_events where received_at > '{_ts(END)}' "
        f"and occurred_at < '{_ts(END)}'"
    )
    assert late > 0, "the append should deliver events that happened before the last load"
    duplicates = schedule.scalar(
        "select duplicate_rows from audit.audit_raw_rows where source_table = 'web_events'"
    )
    assert duplicates > 0


def test_refresh_equals_full_rebuild(schedule: Warehouse, tmp_path: Path) -> None:
    full = full_build(schedule.raw, tmp_path, END + timedelta(days=APPEND_DAYS))
    assert table_differences(schedule.db, full.db_path) == {}


def test_refresh_after_a_long_gap_without_new_data_equals_full_rebuild(
    schedule: Warehouse, tmp_path: Path
) -> None:
    """Windows close with no event arriving: 45 days on, with no new data, the 90- and 7-day
    counts, the decayed scores kept per person and the carts equal a full rebuild."""
    copy = _copy(schedule, tmp_path / "gap")
    later = END + timedelta(days=APPEND_DAYS + 45)
    result = copy.refresh(later, "--refit-clusters")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows_in=0" in result.stdout
    full = full_build(schedule.raw, tmp_path / "full", later)
    assert_equal_up_to_cluster_numbering(copy, full.db_path)
    # the gap moved the projections: events left the 90-day window, scores decayed
    windowed = (
        "select sum(product_views_90d), sum(engagement_score) from segmentation.customer_features"
    )
    (views_before, score_before), (views_after, score_after) = (
        schedule.query(windowed)[0],
        copy.query(windowed)[0],
    )
    assert views_after < views_before and score_after < score_before


def test_changed_half_life_recomputes_every_persons_state(
    schedule: Warehouse, tmp_path: Path
) -> None:
    """A state row keeps the settings it was computed with (state_config): an incremental
    run with another half-life recomputes every person, and equals a full rebuild with it."""
    copy = _copy(schedule, tmp_path / "half-life")
    later = END + timedelta(days=APPEND_DAYS, hours=1)
    # refit what keeps a fit between runs, as `segmentation refresh --refit` does
    refit = ", ".join(f"{name}: {value}" for name, value in REFIT_NOW_VARS.items())
    variables = f'{{as_of: "{_ts(later)}", engagement_half_life_days: 15, {refit}}}'
    incremental = run_dbt(["build", "--vars", variables], copy.raw, copy.db, copy.root, None)
    assert incremental.returncode == 0, incremental.stdout[-5000:]
    full_db = tmp_path / "full" / "full.duckdb"
    rebuild = ["build", "--full-refresh", "--vars", variables]
    full = run_dbt(rebuild, schedule.raw, full_db, full_db.parent, None)
    assert full.returncode == 0, full.stdout[-5000:]
    differing = table_differences(copy.db, full_db)
    assert set(differing) <= CLUSTER_NUMBERED, differing
    for state in ("int_people_web_state", "int_people_email_state"):
        rows = copy.query(f"select distinct state_config from intermediate.{state}")
        configs = [config for (config,) in rows]
        assert len(configs) == 1 and configs[0].startswith("half_life_days=15;"), configs
    score = "select sum(engagement_score) from segmentation.customer_features"
    assert copy.scalar(score) != schedule.scalar(score)


def test_refresh_log_line_and_published_copy(schedule: Warehouse) -> None:
    line = schedule.last_output.strip().splitlines()[-1]  # type: ignore[attr-defined]
    assert "refresh ok" in line and "published=yes" in line
    rows_in = int(line.split("rows_in=")[1].split()[0])
    assert rows_in > 1_000
    assert "refresh ok" in (schedule.root / "refresh.log").read_text()
    published = schedule.scalar(
        "select count(*) from segmentation.customer_segments", schedule.published
    )
    assert published == schedule.scalar("select count(*) from segmentation.customer_segments")
    # readers see marts only
    schemas = {
        s
        for (s,) in schedule.query(
            "select distinct schema_name from duckdb_tables()", schedule.published
        )
    }
    published = {"core", "segmentation", "activation", "content", "performance", "semantic"}
    assert schemas == published | {"main"}
    # the audiences are published with the segments they come from (write-audit-publish)
    members = "select count(*) from activation.audience_members"
    assert schedule.scalar(members, schedule.published) == schedule.scalar(members) > 0


def test_history_records_changes_with_as_of(schedule: Warehouse) -> None:
    as_ofs = schedule.query(
        "select as_of, count(*) from segmentation.segment_membership_history group by 1 order by 1"
    )
    assert [a for a, _ in as_ofs] == [END, END + timedelta(days=APPEND_DAYS)]
    # the first run enters everyone; two days later some people moved
    assert as_ofs[0][1] > CUSTOMERS and as_ofs[1][1] > 0
    # replaying the history gives today's memberships
    replayed = schedule.scalar(
        """
        with latest as (
            select person_id, segment, max_by(change_type, recorded_at) as last_change
            from segmentation.segment_membership_history group by 1, 2
        )
        select count(*) from (
            select person_id, segment from latest where last_change = 'entered'
            except
            select person_id, segment from segmentation.customer_segments
        )
        """
    )
    assert replayed == 0
    assert (
        schedule.scalar("select count(distinct as_of) from segmentation.segment_size_history") == 2
    )


def test_refresh_without_new_data_adds_no_history(schedule: Warehouse) -> None:
    as_of = END + timedelta(days=APPEND_DAYS)
    before = schedule.scalar("select count(*) from segmentation.segment_membership_history")
    sizes = schedule.scalar("select count(*) from segmentation.segment_size_history")
    again = schedule.refresh(as_of)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "segments_changed=0" in again.stdout
    assert schedule.scalar("select count(*) from segmentation.segment_membership_history") == before
    assert schedule.scalar("select count(*) from segmentation.segment_size_history") == sizes


def _copy(schedule: Warehouse, root: Path) -> Warehouse:
    """The schedule's working, work and published files in another folder (same raw data)."""
    root.mkdir(parents=True, exist_ok=True)
    for db in (schedule.db, warehouse.work_db_path(schedule.db), schedule.published):
        shutil.copyfile(db, root / db.name)
    return Warehouse(root, schedule.raw)


def _tamper_state(copy: Warehouse, stale: bool) -> int:
    """Drop the state's Hot Abandoners rows (as if they were never recorded); with ``stale``
    also stamp it older than the history's newest row. Returns the rows dropped."""
    con = duckdb.connect(str(copy.db))
    try:
        dropped = con.execute(
            "delete from segmentation.segment_membership_state where segment = 'Hot Abandoners'"
        ).fetchone()[0]
        if stale:
            con.execute(
                "update segmentation.segment_membership_state "
                "set recorded_at = recorded_at - interval 1 second"
            )
    finally:
        con.close()
    return dropped


def test_history_compares_with_the_recorded_state_not_its_own_rows(
    schedule: Warehouse, tmp_path: Path
) -> None:
    """The state is what the history last recorded; the next run reads it (a tampered state
    shows in the history) unless its stamp is not the history's newest (it then replays the
    history's own rows, and a stale state changes nothing)."""
    history = "select count(*) from segmentation.segment_membership_history"
    state = schedule.query(
        "select count(*), max(recorded_at) from segmentation.segment_membership_state"
    )[0]
    assert state == (
        schedule.scalar("select count(*) from segmentation.customer_segments"),
        schedule.scalar("select max(recorded_at) from segmentation.segment_membership_history"),
    )
    as_of = END + timedelta(days=APPEND_DAYS)
    for stale in (True, False):
        copy = _copy(schedule, tmp_path.joinpath(f"stale-{stale}").resolve())
        before = copy.scalar(history)
        dropped = _tamper_state(copy, stale)
        assert dropped > 0
        again = copy.refresh(as_of)
        assert again.returncode == 0, again.stdout + again.stderr
        # stale: replayed from the history, nothing changed; current: the dropped rows
        # were trusted as "not a member", so they enter again
        assert copy.scalar(history) == before + (0 if stale else dropped)
        # either way the state is rebuilt whole
        assert copy.scalar("select count(*) from segmentation.segment_membership_state") == (
            copy.scalar("select count(*) from segmentation.customer_segments")
        )


def _known_person(schedule: Warehouse) -> tuple[str, str]:
    """A customer who is not a Hot Abandoner: (customer_id, person_id)."""
    return schedule.query(
        """
        select merged.customer_id, merged.person_id
        from intermediate.int_customers_merged as merged
        where merged.customer_id = merged.person_id and merged.person_id not in (
            select person_id from segmentation.customer_segments where segment = 'Hot Abandoners'
        )
        order by merged.customer_id
        limit 1
        """
    )[0]


def _bridgeable_gap(schedule: Warehouse) -> tuple[str | None, str | None, datetime, str, int]:
    """Two consecutive events of one visitor 31-59 minutes apart (two sessions): the
    visitor's anonymous_id and customer_id, the first event's time, the second event's id
    and its session number. A late event halfway merges the two sessions."""
    return schedule.query(
        """
        with ordered as (
            select
                *,
                lag(occurred_at) over (
                    partition by visitor_id order by occurred_at, event_id
                ) as previous_at
            from intermediate.int_web_events_sessionized
        )
        select anonymous_id, customer_id, previous_at, event_id, session_number
        from ordered
        where
            is_session_start
            and occurred_at - previous_at between interval 31 minute and interval 59 minute
            and exists (
                select 1 from intermediate.int_web_events_sessionized as later
                where
                    later.visitor_id = ordered.visitor_id
                    and later.occurred_at > ordered.occurred_at
            )
        order by event_id
        limit 1
        """
    )[0]


def _session(customer_id: str, start: datetime, received: datetime) -> pa.Table:
    """3 product views in 10 minutes and an add-to-cart, no purchase."""
    steps = [
        ("product_view", 0, "SKU00001"),
        ("product_view", 4, "SKU00002"),
        ("product_view", 9, "SKU00003"),
        ("add_to_cart", 10, "SKU00003"),
    ]
    return pa.table(
        {
            "event_id": [f"test-hot-{i}" for i in range(len(steps))],
            "anonymous_id": ["test-visitor-hot"] * len(steps),
            "customer_id": [customer_id] * len(steps),
            "event_type": [s[0] for s in steps],
            "product_id": [s[2] for s in steps],
            "page_url": [f"/products/{s[2]}" for s in steps],
            "occurred_at": [start + timedelta(minutes=s[1]) for s in steps],
            "received_at": [received] * len(steps),
        }
    )


def test_hot_abandoner_within_one_refresh_and_late_rows_reloaded(
    schedule: Warehouse, tmp_path: Path
) -> None:
    from segmentation.raw_store import append_part

    previous = END + timedelta(days=APPEND_DAYS)
    as_of = previous + timedelta(hours=3)
    customer_id, person_id = _known_person(schedule)
    start = as_of - timedelta(hours=2)
    append_part(
        schedule.raw,
        "web_events",
        _session(customer_id, start, start + timedelta(minutes=12)),
        "test-hot-session",
    )
    # and a delivery stamped 10 days back: older than the 3-day lookback window
    stale = previous - timedelta(days=10)
    late = pa.table(
        {
            "event_id": ["test-late-0", "test-late-1"],
            "anonymous_id": ["test-visitor-late"] * 2,
            "customer_id": [customer_id] * 2,
            "event_type": ["page_view", "product_view"],
            "product_id": [None, "SKU00004"],
            "page_url": ["/", "/products/SKU00004"],
            "occurred_at": [stale - timedelta(minutes=5), stale - timedelta(minutes=4)],
            "received_at": [stale, stale],
        }
    )
    append_part(schedule.raw, "web_events", late, "test-late-delivery")
    # and one late event inside a visitor's history that merges two of its sessions: the
    # refresh renumbers the sessions after it (the windows run from the earliest new event)
    anonymous_id, bridged_customer, gap_start, second_event, second_session = _bridgeable_gap(
        schedule
    )
    bridge = pa.table(
        {
            "event_id": ["test-bridge-0"],
            "anonymous_id": [anonymous_id],
            "customer_id": [bridged_customer],
            "event_type": ["page_view"],
            "product_id": pa.array([None], pa.string()),
            "page_url": ["/"],
            "occurred_at": [gap_start + timedelta(minutes=20)],
            "received_at": [as_of - timedelta(hours=1)],
        }
    )
    append_part(schedule.raw, "web_events", bridge, "test-bridge-delivery")

    result = schedule.refresh(as_of, "--refit-clusters")
    assert result.returncode == 0, result.stdout + result.stderr

    segments = {
        s
        for (s,) in schedule.query(
            f"select segment from segmentation.customer_segments where person_id = '{person_id}'"
        )
    }
    assert "Hot Abandoners" in segments
    entered = schedule.query(
        "select as_of from segmentation.segment_membership_history "
        f"where person_id = '{person_id}' and segment = 'Hot Abandoners' "
        "and change_type = 'entered'"
    )
    assert entered == [(as_of,)]
    # the published copy has it too
    assert (
        schedule.scalar(
            f"select count(*) from segmentation.customer_segments where person_id = '{person_id}' "
            "and segment = 'Hot Abandoners'",
            schedule.published,
        )
        == 1
    )

    # late rows beyond the window: counted, warned about, and loaded all the same
    late_rows = schedule.scalar(
        "select sum(late_rows) from audit.audit_raw_arrivals "
        f"where source_table = 'web_events' and received_date = '{stale.date()}'"
    )
    assert late_rows == 2
    assert (
        schedule.scalar(
            "select count(*) from staging.stg_raw__web_events where event_id like 'test-late-%'"
        )
        == 2
    )
    dbt_log = (schedule.root / "refresh-dbt.log").read_text().splitlines()
    assert any("WARN" in line and "no_late_arrivals_beyond_window" in line for line in dbt_log)
    # dbt's file log keeps the run at info level, without every statement
    file_log = (schedule.root / "dbt-logs" / "dbt.log").read_text()
    assert "no_late_arrivals_beyond_window" in file_log
    assert "SQL status" not in file_log
    merged_into = schedule.scalar(
        "select session_number from intermediate.int_web_events_sessionized "
        f"where event_id = '{second_event}'"
    )
    assert merged_into == second_session - 1

    full = full_build(schedule.raw, tmp_path, as_of)
    assert_equal_up_to_cluster_numbering(schedule, full.db_path)


def test_failed_refresh_keeps_last_good_segments(
    schedule: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segmentation.refresh import refresh

    for key, value in schedule.env().items():
        monkeypatch.setenv(key, value)
    published_before = schedule.query("select published_at from main.published", schedule.published)
    bytes_before = hashlib.sha256(schedule.published.read_bytes()).hexdigest()
    memberships_before = schedule.scalar(
        "select count(*) from segmentation.customer_segments", schedule.published
    )
    history_before = schedule.scalar("select count(*) from segmentation.segment_membership_history")
    as_of = END + timedelta(days=APPEND_DAYS, hours=6)
    result = refresh(
        PROJECT,
        as_of=_ts(as_of),
        extra_vars={
            "business_test_severity": "error",
            "segment_share_overrides": {"Champions": {"min_share": 0.9}},
        },
    )
    assert result.status == "failed" and result.step == "build"
    assert any("segment_share_within_bounds" in f for f in result.failures), result.failures
    assert "published=no" in result.log_line()
    # readers still see the last good run, the very same file; history did not move
    assert hashlib.sha256(schedule.published.read_bytes()).hexdigest() == bytes_before
    assert not schedule.published.with_name(schedule.published.name + ".publishing").exists()
    assert schedule.query("select published_at from main.published", schedule.published) == (
        published_before
    )
    assert (
        schedule.scalar("select count(*) from segmentation.customer_segments", schedule.published)
        == memberships_before
    )
    assert (
        schedule.scalar("select max(as_of) from segmentation.customer_segments", schedule.published)
        < as_of
    )
    assert (
        schedule.scalar("select count(*) from segmentation.segment_membership_history")
        == history_before
    )


def test_second_refresh_exits_while_one_runs(schedule: Warehouse) -> None:
    from segmentation.refresh import LOCKED_EXIT, refresh_lock

    with refresh_lock(schedule.db):
        result = schedule.refresh(END + timedelta(days=APPEND_DAYS, hours=7))
    assert result.returncode == LOCKED_EXIT
    assert "another refresh is running" in result.stdout


def test_as_of_cannot_move_back_incrementally(schedule: Warehouse, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(schedule.db, db)
    shutil.copy(warehouse.work_db_path(schedule.db), warehouse.work_db_path(db))
    result = run_dbt(
        ["run", "--select", "stg_raw__web_events"],
        schedule.raw,
        db,
        tmp_path,
        _ts(END - timedelta(days=5)),
    )
    assert result.returncode != 0
    assert "as_of may only move forward" in result.stdout + result.stderr


def test_uniqueness_checks_rows_written_since_the_last_published_state(
    schedule: Warehouse, tmp_path: Path
) -> None:
    """A refresh tests uniqueness only for keys of rows stamped after the newest stamp of the
    published state (`tested_through`): a duplicate written since fails it, an older row is
    left to the full check a plain build does."""
    tested_through = schedule.scalar(
        "select tested_through from main.published", schedule.published
    )
    assert isinstance(tested_through, datetime)
    db = tmp_path / "copy.duckdb"
    shutil.copy(schedule.db, db)
    shutil.copy(warehouse.work_db_path(schedule.db), warehouse.work_db_path(db))

    def dbt_test(select: str, scoped: bool) -> subprocess.CompletedProcess[str]:
        """`dbt test --select select` on the copy, as a refresh runs it when ``scoped``."""
        variables = f'{{as_of: "{_ts(END + timedelta(days=APPEND_DAYS))}"'
        if scoped:
            variables += f', tested_through: "{tested_through:%Y-%m-%d %H:%M:%S.%f}"'
        return run_dbt(
            ["test", "--select", select, "--vars", variables + "}"],
            schedule.raw, db, tmp_path, None,
        )  # fmt: skip

    def assert_scoped_to_new_rows(
        planted_test: Callable[[datetime, bool], subprocess.CompletedProcess[str]], failing: str
    ) -> None:
        """A duplicate stamped after the published state fails the scoped test (`failing` in
        its output); an older one passes it and fails the full check."""
        new = planted_test(tested_through + timedelta(seconds=1), True)
        assert new.returncode != 0 and failing in new.stdout
        old = planted_test(tested_through - timedelta(days=1), True)
        assert old.returncode == 0, old.stdout[-3000:]
        full = planted_test(tested_through - timedelta(days=1), False)
        assert full.returncode != 0, full.stdout[-3000:]

    def unique_test(loaded_at: datetime, scoped: bool) -> subprocess.CompletedProcess[str]:
        con = duckdb.connect(str(warehouse.work_db_path(db)))
        con.execute("delete from staging.stg_raw__web_events where event_id like 'dup-%'")
        con.execute(
            "insert into staging.stg_raw__web_events by name select * replace "
            "('dup-' || ? as event_id, ? as loaded_at) from staging.stg_raw__web_events limit 2",
            ["same", loaded_at],
        )
        con.close()
        return dbt_test("stg_raw__web_events,test_name:unique_incremental", scoped)

    assert_scoped_to_new_rows(unique_test, "unique_incremental_stg_raw__web_events")

    # the history (stamp_column: recorded_at): only rows stamped since are grouped
    def history_test(recorded_at: datetime, scoped: bool) -> subprocess.CompletedProcess[str]:
        con = duckdb.connect(str(db))
        con.execute(
            "delete from segmentation.segment_membership_history where person_id like 'dup-%'"
        )
        con.execute(
            "insert into segmentation.segment_membership_history by name select * replace "
            "('dup-' || person_id as person_id, ? as recorded_at) "
            "from segmentation.segment_membership_history limit 1",
            [recorded_at],
        )
        con.execute(
            "insert into segmentation.segment_membership_history by name select * "
            "from segmentation.segment_membership_history where person_id like 'dup-%'"
        )
        con.close()
        selected = "segment_membership_history,test_name:unique_combination_of_columns"
        return dbt_test(selected, scoped)

    assert_scoped_to_new_rows(history_test, "segment_membership_history")


# tables that carry cluster ids: after several refits a refresh keeps the ids it matched to
# its previous fits, a full rebuild numbers its one fit afresh
CLUSTER_TABLES = {
    "segmentation.cluster_centres",
    "segmentation.cluster_profiles",
    "segmentation.customer_clusters",
    "segmentation.customer_segments",
    "segmentation.segment_definitions",
    "segmentation.segment_membership_state",  # the rows of customer_segments
    "segmentation.segment_summary",
}


def differences_beside_cluster_ids(incremental: Path, full: Path) -> dict[str, tuple[int, int]]:
    """table_differences without the cluster tables, plus the non-cluster memberships."""
    differences = {
        table: counts
        for table, counts in table_differences(incremental, full).items()
        if table not in CLUSTER_TABLES
    }
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as inc (read_only)")
    con.execute(f"attach '{full}' as ful (read_only)")
    memberships = (
        "select person_id, segment from {}.segmentation.customer_segments "
        "where segment_type not in ('cluster', 'predicted')"
    )
    for left, right in (("inc", "ful"), ("ful", "inc")):
        only = con.execute(
            f"select count(*) from ({memberships.format(left)} "
            f"except all {memberships.format(right)})"
        ).fetchone()[0]
        if only:
            differences[f"{left} only: customer_segments"] = (only, 0)
    con.close()
    return differences


def test_orders_load_by_file_and_reload_when_a_file_changes(
    schedule: Warehouse, tmp_path: Path
) -> None:
    """Orders and order lines load by raw file: an order in the future of the as_of it
    arrived with is taken up once as_of passes it, and a rewritten or removed file makes
    the next refresh reload the tables; both refreshes equal a full rebuild."""
    import pyarrow.parquet as pq

    from segmentation.raw_store import append_part

    # the schedule's first append moved the single-file tables into their folders: a move
    # is not a change of content, so nothing reloaded
    moved = schedule.query(
        "select source_table, change_type, count(*) from audit.audit_raw_files "
        "where change_type like 'moved%' group by all order by all"
    )
    assert moved == [
        ("order_items", "moved_in", 1),
        ("order_items", "moved_out", 1),
        ("orders", "moved_in", 1),
        ("orders", "moved_out", 1),
    ]
    first = END + timedelta(days=APPEND_DAYS, hours=12)
    second = first + timedelta(hours=2)
    customer_id, _ = _known_person(schedule)
    future_order = pa.table(
        {
            "order_id": ["test-future-order"],
            "customer_id": [customer_id],
            "ordered_at": [first + timedelta(hours=1)],
            "status": ["completed"],
            "currency": ["EUR"],
            "updated_at": [first - timedelta(minutes=5)],
        }
    )
    future_file = append_part(schedule.raw, "orders", future_order, "test-future-order")
    result = schedule.refresh(first)
    assert result.returncode == 0, result.stdout + result.stderr
    in_staging = "select count(*) from staging.stg_raw__orders where order_id = 'test-future-order'"
    assert schedule.scalar(in_staging) == 0
    assert (
        schedule.scalar(
            "select reject_reason from audit.audit_rejected_rows "
            "where source_table = 'orders' and record_key = 'test-future-order'"
        )
        == "future_timestamp"
    )
    # no new file, only time: the order is no longer in the future
    result = schedule.refresh(second, "--refit-clusters")
    assert result.returncode == 0, result.stdout + result.stderr
    assert schedule.scalar(in_staging) == 1
    full = full_build(schedule.raw, tmp_path / "future", second)
    assert differences_beside_cluster_ids(schedule.db, full.db_path) == {}

    # rewrite an orders file (one order cancelled) and remove a file of order lines
    orders_file = sorted((schedule.raw / "orders").glob("append-*.parquet"))[-1]
    rows = pq.read_table(orders_file).to_pylist()
    changed = next(row for row in rows if row["status"] == "completed")
    changed["status"] = "cancelled"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(orders_file)), orders_file)
    removed = sorted((schedule.raw / "order_items").glob("append-*.parquet"))[0]
    # and remove a file of orders: the future order's, in the core mart now
    in_core = "select count(*) from core.fct_orders where order_id = 'test-future-order'"
    assert schedule.scalar(in_core) == 1
    future_file.unlink()

    def line_keys(files: list[Path]) -> set[tuple[str, int]]:
        return {
            (row["order_id"], row["line_number"])
            for file in files
            for row in pq.read_table(file, columns=["order_id", "line_number"]).to_pylist()
        }

    others = [f for f in (schedule.raw / "order_items").rglob("*.parquet") if f != removed]
    gone = line_keys([removed]) - line_keys(others)
    assert gone
    removed.unlink()
    third = second + timedelta(hours=1)
    result = schedule.refresh(third, "--refit-clusters")
    assert result.returncode == 0, result.stdout + result.stderr
    changes = dict(
        schedule.query(
            "select file_path, change_type from audit.audit_raw_files "
            "where observed_at = (select max(observed_at) from audit.audit_raw_files)"
        )
    )
    assert changes == {
        str(orders_file): "replaced",
        str(removed): "removed",
        str(future_file): "removed",
    }
    # the log line says what reloaded
    assert (
        "reloaded=order_items:1 file (1 removed); orders:2 files (1 replaced, 1 removed) "
        in result.stdout
    )
    earlier = (schedule.root / "refresh.log").read_text().splitlines()[:-1]
    assert earlier and not [line for line in earlier if "reloaded=" in line]
    # the removed file's order left the core mart; the segments follow (the full build below)
    assert schedule.scalar(in_core) == 0
    assert (
        schedule.scalar(
            f"select status from core.fct_orders where order_id = '{changed['order_id']}'"
        )
        == "cancelled"
    )
    staged = set(schedule.query("select order_id, line_number from staging.stg_raw__order_items"))
    assert not gone & staged
    full = full_build(schedule.raw, tmp_path / "reload", third)
    assert differences_beside_cluster_ids(schedule.db, full.db_path) == {}
