"""Activation delivery without dbt: `segmentation export` per layout and `segmentation sync`
against a real local HTTP server.

The test builds a small published database with the three activation tables itself, and
plays dbt's part between syncs: ``refresh_changes`` diffs the exported members against the
state files, as models/marts/activation does. The server (``FakeDestination``) behaves as
an ESP's idempotent API: it checks the bearer token, applies each change to an in-memory
store, answers a replayed Idempotency-Key with 200 without applying it again, and fails on
purpose when told to. Kills are real: `python -m segmentation sync` in a subprocess that
SIGKILLs itself at a kill point (src/segmentation/faults.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from esp_server import Fail, FakeDestination, serve
from segmentation.activation import state_schema
from segmentation.activation.paths import journal_file, state_file
from segmentation.activation.state import read_state
from segmentation.cli import main
from segmentation.faults import KILL_AT

PROJECT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 20, 12, 0, 0)
PEOPLE = 1_500
TOKEN = "tok-7c1e9a4b52d8f0e36a"  # must never show up in output or reports
AUDIENCES = ("at_risk", "champions", "new_customers")
# destination, layout, batch_size
DESTINATIONS = (("klaviyo_main", "klaviyo", 100), ("mailchimp_news", "mailchimp", 150))
DESTINATIONS += (("webhook", "generic", 250),)
HEADERS = {
    "klaviyo": ["Email", "First Name", "Audience", "Primary Segment", "Lifecycle Stage"]
    + ["Value Tier", "Purchase Likelihood", "Churn Risk", "Predicted Value"]
    + ["Favourite Category", "Person ID"],
    "mailchimp": ["Email Address", "First Name", "Tags", "PRIMARYSEG", "LIFECYCLE", "VALUETIER"]
    + ["BUYSOON", "CHURNRISK", "PREDVALUE", "FAVCATEGORY", "PERSONID"],
    "generic": ["audience", "person_id", "email", "first_name", "primary_segment"]
    + ["lifecycle_stage", "value_tier", "purchase_likelihood", "churn_risk", "predicted_value"]
    + ["favourite_category", "member_fingerprint"],
}
# the e-mail, person and audience columns of each layout
KEY_HEADERS = {
    "klaviyo": ("Email", "Person ID", "Audience"),
    "mailchimp": ("Email Address", "PERSONID", "Tags"),
    "generic": ("email", "person_id", "audience"),
}
MERGE = ("first_name", "primary_segment", "lifecycle_stage", "value_tier")
MERGE += ("purchase_likelihood", "churn_risk", "predicted_value", "favourite_category")
KLAVIYO = "klaviyo_main"  # the destination most sync tests use (batches of 100)


def url_env(name: str) -> str:
    return f"ACT_{name.upper()}_URL"


def token_env(name: str) -> str:
    return f"ACT_{name.upper()}_TOKEN"


def fingerprint(email: str, fields: dict[str, str]) -> str:
    values = [email, *(fields[f] or "" for f in MERGE)]  # coalesce(field, '') in the SQL
    return hashlib.md5("|".join(values).encode()).hexdigest()


def _member_rows() -> list[dict]:
    rng = random.Random(11)
    rows = []
    for i in range(PEOPLE):
        person = {
            "person_id": f"p{i:05d}",
            "email": f"person{i}@example.com",
            "first_name": rng.choice(["Ana", "Ben", "Chloé", "Dmitri", "Eve, Jr.", 'Li "Lee"']),
            "primary_segment": rng.choice(["Champions", "At Risk", "New Customers"]),
            "lifecycle_stage": rng.choice(["active", "lapsing", "new"]),
            "value_tier": rng.choice(["high", "mid", "low"]),
            "purchase_likelihood": rng.choice(["high", "medium", "low", None]),
            "churn_risk": rng.choice(["high", "medium", "low"]),
            "predicted_value": rng.choice(["top_10", "next_40", "rest"]),
            "favourite_category": rng.choice(["fashion", "sports_outdoors", None]),
        }
        for name, _, _ in DESTINATIONS:
            if rng.random() < 0.15:  # in no audience of this destination
                continue
            bucket = int(hashlib.md5(f"{name}:{person['person_id']}".encode()).hexdigest(), 16)
            bucket %= 10_000
            group = "global_control" if bucket < 500 else "holdout" if bucket < 1500 else ""
            group = group or "treatment"
            fields = {f: person[f] for f in MERGE}
            rows.append(
                {
                    "destination": name,
                    "audience": rng.choice(AUDIENCES),
                    **person,
                    "split_group": group,
                    "is_exported": group == "treatment",
                    "holdout_bucket": bucket,
                    "member_fingerprint": fingerprint(person["email"], fields),
                    "as_of": AS_OF,
                }
            )
    return rows


MEMBER_COLUMNS = (
    "destination, audience, person_id, split_group, is_exported, holdout_bucket::integer "
    "as holdout_bucket, email, first_name, primary_segment, lifecycle_stage, value_tier, "
    "purchase_likelihood, churn_risk, predicted_value, favourite_category, member_fingerprint, "
    "as_of"
)

# what models/marts/activation computes: exported members against the confirmed state
CHANGES_SQL = """
create or replace table activation.audience_changes as
with m as (select * from activation.audience_members where is_exported),
s as (select * from state_rows),
base as (
    select d.destination, coalesce(max(s.sync_id), 'none') as base_sync_id
    from activation.activation_destinations as d left join s using (destination)
    group by d.destination
),
diff as (
    select
        coalesce(m.destination, s.destination) as destination,
        coalesce(m.audience, s.audience) as audience,
        coalesce(m.person_id, s.person_id) as person_id,
        case when s.person_id is null then 'add' when m.person_id is null then 'remove'
            else 'update' end as change_type,
        m.person_id is null as gone,
        m.email as m_email, s.email as s_email,
        m.first_name as m_fn, s.first_name as s_fn,
        m.primary_segment as m_ps, s.primary_segment as s_ps,
        m.lifecycle_stage as m_ls, s.lifecycle_stage as s_ls,
        m.value_tier as m_vt, s.value_tier as s_vt,
        m.purchase_likelihood as m_pl, s.purchase_likelihood as s_pl,
        m.churn_risk as m_cr, s.churn_risk as s_cr,
        m.predicted_value as m_pv, s.predicted_value as s_pv,
        m.favourite_category as m_fc, s.favourite_category as s_fc,
        m.member_fingerprint as m_fp, s.member_fingerprint as s_fp
    from m full outer join s
        on m.destination = s.destination and m.audience = s.audience
        and m.person_id = s.person_id
    where s.person_id is null or m.person_id is null
        or m.member_fingerprint is distinct from s.member_fingerprint
)
select destination, audience, person_id, change_type,
    if(gone, s_email, m_email) as email, if(gone, s_fn, m_fn) as first_name,
    if(gone, s_ps, m_ps) as primary_segment, if(gone, s_ls, m_ls) as lifecycle_stage,
    if(gone, s_vt, m_vt) as value_tier, if(gone, s_pl, m_pl) as purchase_likelihood,
    if(gone, s_cr, m_cr) as churn_risk, if(gone, s_pv, m_pv) as predicted_value,
    if(gone, s_fc, m_fc) as favourite_category,
    if(gone, s_fp, m_fp) as member_fingerprint,
    base.base_sync_id, ?::timestamp as as_of
from diff join base using (destination)
"""


def refresh_changes(db: Path, state_dir: Path, as_of: datetime = AS_OF) -> None:
    """Play the refresh: the change set of every destination against its state file."""
    states = [read_state(state_file(state_dir, name)) for name, _, _ in DESTINATIONS]
    state_rows = pa.concat_tables(states)  # noqa: F841 - read by the SQL (replacement scan)
    con = duckdb.connect(str(db))
    try:
        con.execute("update activation.audience_members set as_of = ?", [as_of])
        con.execute(CHANGES_SQL, [as_of])
    finally:
        con.close()


def build_published(db: Path) -> None:
    members = pa.Table.from_pylist(_member_rows())  # noqa: F841 - read by the SQL
    destinations = [
        (name, layout, url_env(name), token_env(name), size, f"{layout} test destination")
        for name, layout, size in DESTINATIONS
    ]
    con = duckdb.connect(str(db))
    try:
        con.execute("create schema activation")
        con.execute(
            "create table activation.activation_destinations (destination varchar, layout "
            "varchar, endpoint_env varchar, token_env varchar, batch_size bigint, "
            "description varchar)"
        )
        con.executemany(
            "insert into activation.activation_destinations values (?, ?, ?, ?, ?, ?)", destinations
        )
        con.execute(
            f"create table activation.audience_members as select {MEMBER_COLUMNS} from members"
        )
    finally:
        con.close()
    refresh_changes(db, db.parent / "no-state")


def run_sql(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def expected_store(db: Path, name: str) -> dict[tuple[str, str], dict]:
    """What the destination must hold: its exported members, by (audience, person_id)."""
    rows = run_sql(
        db,
        f"select audience, person_id, email, {', '.join(MERGE)} "
        "from activation.audience_members where destination = ? and is_exported",
        [name],
    )
    return {(r[0], r[1]): {"email": r[2], **dict(zip(MERGE, r[3:], strict=True))} for r in rows}


def state_as_store(state_dir: Path, name: str) -> dict[tuple[str, str], dict]:
    rows = read_state(state_file(state_dir, name)).to_pylist()
    return {
        (r["audience"], r["person_id"]): {"email": r["email"]} | {f: r[f] for f in MERGE}
        for r in rows
    }


# --- the destination -------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("activation") / "published.duckdb"
    build_published(db)
    return db


@dataclass
class Setup:
    db: Path
    state_dir: Path
    out: Path
    server: FakeDestination
    env: dict[str, str]

    def sync(self, name: str = KLAVIYO) -> int:
        return main(["sync", "--destination", name, "--db", str(self.db)])

    def sync_process(self, kill_at: str, name: str = KLAVIYO) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "segmentation",
                "sync",
                "--destination",
                name,
                "--db",
                str(self.db),
            ],
            cwd=PROJECT,
            env={**os.environ, **self.env, KILL_AT: kill_at},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def reports(self) -> list[dict]:
        files = sorted((self.state_dir / "reports").glob("*.json"))
        return [json.loads(f.read_text()) for f in files]


@pytest.fixture
def setup(base_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    db = tmp_path / "published.duckdb"
    shutil.copy(base_db, db)
    with serve(TOKEN) as server:
        yield from _setup(db, tmp_path, server, monkeypatch)


def _setup(
    db: Path, tmp_path: Path, server: FakeDestination, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    env = {
        "SEGMENTATION_ACTIVATION_STATE_DIR": str(tmp_path / "state"),
        "SEGMENTATION_SYNC_BACKOFF_SECONDS": "0.01",
        "SEGMENTATION_SYNC_MAX_ATTEMPTS": "5",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    for name, _, _ in DESTINATIONS:
        env[url_env(name)] = server.url
        env[token_env(name)] = TOKEN
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(KILL_AT, raising=False)
    yield Setup(db, tmp_path / "state", tmp_path / "out", server, env)


# --- export ----------------------------------------------------------------------------


def _read(path: Path, fmt: str) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        return rows[0], rows[1:]
    objects = [json.loads(line) for line in text.splitlines()]
    return list(objects[0]), [list(o.values()) for o in objects]


def _export(setup: Setup, name: str, fmt: str, full: bool) -> tuple[Path, dict]:
    args = ["export", "--destination", name, "--format", fmt, "--out", str(setup.out)]
    args += ["--db", str(setup.db)] + (["--full"] if full else [])
    assert main(args) == 0
    kind = "full" if full else "changes"
    path = setup.out / f"{name}-{kind}-{AS_OF:%Y%m%dT%H%M%S}.{fmt}"
    return path, json.loads(path.with_name(path.name + ".manifest.json").read_text())


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("name,layout,_size", DESTINATIONS)
def test_export_layouts(setup: Setup, name: str, layout: str, _size: int, fmt: str) -> None:
    members = expected_store(setup.db, name)
    for full in (True, False):
        path, manifest = _export(setup, name, fmt, full)
        header, rows = _read(path, fmt)
        change_column = [] if full else ["change_type" if layout == "generic" else "Change"]
        assert header == HEADERS[layout] + change_column
        assert len(rows) == manifest["rows"] == len(members)
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["kind"] == ("full" if full else "changes")
        assert (manifest["layout"], manifest["format"], manifest["file"]) == (
            layout,
            fmt,
            path.name,
        )
        assert manifest.get("base_sync_id") == (None if full else "none")
        email, person, audience = (header.index(h) for h in KEY_HEADERS[layout])
        keys = [(row[audience], row[person]) for row in rows]
        assert keys == sorted(members)  # every exported member once, in (audience, person_id)
        assert all(row[email] == members[k]["email"] for row, k in zip(rows, keys, strict=True))
        if not full:
            assert {row[-1] for row in rows} == {"add"}  # never synced: everyone is new
        first = path.read_bytes()
        _export(setup, name, fmt, full)
        assert path.read_bytes() == first  # deterministic bytes
    assert not setup.state_dir.exists()  # an export never advances the sync state


def test_export_errors(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["export", "--destination", "nope", "--db", str(setup.db)]) == 2
    err = capsys.readouterr().err
    assert "unknown destination 'nope'" in err and "klaviyo_main, mailchimp_news, webhook" in err
    missing = setup.db.with_name("missing.duckdb")
    assert main(["export", "--destination", KLAVIYO, "--db", str(missing)]) == 2
    assert "no published database" in capsys.readouterr().err
    assert main(["sync", "--destination", "nope", "--db", str(setup.db)]) == 2
    monkeypatch.delenv(token_env(KLAVIYO))
    assert setup.sync() == 2
    assert token_env(KLAVIYO) in capsys.readouterr().err
    assert setup.server.requests == []


# --- sync ------------------------------------------------------------------------------


def assert_exact(setup: Setup, name: str = KLAVIYO) -> None:
    """Destination and state hold exactly the exported members; each effect applied once."""
    expected = expected_store(setup.db, name)
    assert setup.server.store == expected
    assert state_as_store(setup.state_dir, name) == expected
    assert all(n == 1 for n in setup.server.effects.values()), setup.server.effects.most_common(3)
    assert not journal_file(setup.state_dir, name).exists()


def test_clean_sync(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    members = len(expected_store(setup.db, KLAVIYO))
    batches = -(-members // 100)
    assert setup.sync() == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"sync ok destination={KLAVIYO} changes={members} adds={members} ")
    assert f"batches={batches}/{batches} retries=0" in out.out
    assert_exact(setup)
    assert setup.server.sent_batches() == list(range(1, batches + 1))
    state = read_state(state_file(setup.state_dir, KLAVIYO))
    assert state.schema == state_schema()
    assert state.column_names == [f.name for f in state_schema()]
    assert len(set(state.column("sync_id").to_pylist())) == 1
    (report,) = setup.reports()
    assert (report["status"], report["changes"], report["adds"]) == ("ok", members, members)
    assert (report["updates"], report["removes"], report["requests"]) == (0, 0, batches)
    assert report["sync_id"] == state.column("sync_id")[0].as_py()
    reports_text = "".join(p.read_text() for p in (setup.state_dir / "reports").glob("*"))
    assert TOKEN not in out.out + out.err + reports_text
    assert setup.server.url not in reports_text  # the endpoint is named by its env var only

    # same published change set again: it was delivered, nothing is sent
    state_bytes = state_file(setup.state_dir, KLAVIYO).read_bytes()
    assert setup.sync() == 0
    out = capsys.readouterr().out
    assert out.startswith("sync skipped") and "already delivered" in out, out
    assert len(setup.server.requests) == batches
    assert state_file(setup.state_dir, KLAVIYO).read_bytes() == state_bytes


def test_transient_failures_are_retried(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.server.failures = [
        Fail(batch=2, status=500, times=2),
        Fail(batch=3, status=429, times=1, retry_after="1"),
        Fail(batch=4, status=0, times=1),  # connection dropped without an answer
        Fail(batch=5, status=503, times=1),
    ]
    assert setup.sync() == 0
    assert "retries=5" in capsys.readouterr().out
    assert_exact(setup)
    (report,) = setup.reports()
    assert report["retries"] == 5 and report["requests"] == report["batches_total"] + 5
    assert report["waited_seconds"] >= 1.0  # Retry-After: 1 was honoured
    assert setup.server.suppressed == 0


def simulate_mass_update(setup: Setup, people: int) -> None:
    """The next refresh: ``people`` exported members moved to another value tier."""
    run_sql(
        setup.db,
        "update activation.audience_members set value_tier = 'vip', member_fingerprint = "
        "md5(member_fingerprint) where destination = ? and is_exported and person_id in "
        "(select person_id from activation.audience_members where destination = ? and "
        "is_exported order by person_id limit ?)",
        [KLAVIYO, KLAVIYO, people],
    )
    refresh_changes(setup.db, setup.state_dir, AS_OF + timedelta(days=1))


def test_permanent_failure_keeps_state_and_resumes(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert setup.sync() == 0
    simulate_mass_update(setup, 350)  # 350 updates: 4 batches of 100
    state_path = state_file(setup.state_dir, KLAVIYO)
    before = state_path.read_bytes()
    server = setup.server
    first_round = len(server.requests)
    capsys.readouterr()

    monkeypatch.setenv("SEGMENTATION_SYNC_MAX_ATTEMPTS", "3")
    server.failures = [Fail(batch=3, status=503, times=-1)]  # retries exhausted
    assert setup.sync() == 1
    assert capsys.readouterr().out.startswith("sync failed")
    assert server.sent_batches()[first_round:] == [1, 2]
    assert [r["batch"] for r in server.requests[first_round:]].count(3) == 3
    server.failures = [Fail(batch=3, status=400, times=-1)]  # a 4xx is not retried
    assert setup.sync() == 1
    assert [r["batch"] for r in server.requests[first_round:]].count(3) == 4
    assert state_path.read_bytes() == before
    journal = json.loads(journal_file(setup.state_dir, KLAVIYO).read_text())
    assert (journal["confirmed"], journal["batch_count"]) == ([1, 2], 4)

    server.failures = []  # the destination recovers
    assert setup.sync() == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert "changes=350" in line and "updates=350" in line and "resumed=2" in line, line
    assert server.sent_batches()[first_round:] == [1, 2, 3, 4]  # 1 and 2 not resent
    assert server.suppressed == 0
    expected = expected_store(setup.db, KLAVIYO)
    assert server.store == expected == state_as_store(setup.state_dir, KLAVIYO)
    assert sum(1 for *_, op in server.effects if op == "update") == 350
    assert all(n == 1 for n in server.effects.values())
    assert [r["status"] for r in setup.reports()] == ["ok", "failed", "failed", "ok"]


@pytest.mark.parametrize(
    "kill_at,journaled,suppressed",
    [
        ("sync:batch_sent:2", [1], 1),  # 2 delivered, not journaled: resent, deduped by key
        ("sync:batch_confirmed", [1], 0),  # after the first confirmed batch
        ("sync:batch_confirmed:2", [1, 2], 0),
        ("sync:state_written", None, 0),  # every batch in, state replaced, journal left
    ],
)
def test_killed_sync_resumes_exactly_once(
    setup: Setup, kill_at: str, journaled: list[int] | None, suppressed: int
) -> None:
    server = setup.server
    killed = setup.sync_process(kill_at)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert journal_file(setup.state_dir, KLAVIYO).exists()
    first = server.keys()
    journal = json.loads(journal_file(setup.state_dir, KLAVIYO).read_text())
    total = journal["batch_count"]
    assert journal["confirmed"] == (journaled or list(range(1, total + 1)))
    assert state_file(setup.state_dir, KLAVIYO).exists() == (kill_at == "sync:state_written")

    done = len(server.requests)
    assert setup.sync() == 0
    again = [r["batch"] for r in server.requests[done:]]
    # only the batches the journal had not confirmed; none at all once the state was written
    assert again == [n for n in range(1, total + 1) if n not in journal["confirmed"]]
    for batch in set(again) & set(first):
        assert server.keys()[batch] == first[batch]  # the same key for the same batch
    assert server.suppressed == suppressed
    assert_exact(setup)
    state = read_state(state_file(setup.state_dir, KLAVIYO))
    assert set(state.column("sync_id").to_pylist()) == {journal["sync_id"]}
    print(
        f"{kill_at}: requests={len(server.requests)} batches={total} "
        f"effects={sum(server.effects.values())} members={len(server.store)} "
        f"duplicates_suppressed={server.suppressed}"
    )


def test_second_round_delta(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.sync("mailchimp_news") == 0
    first_sync = read_state(state_file(setup.state_dir, "mailchimp_news"))
    sync_id = first_sync.column("sync_id")[0].as_py()
    gone, changed = sorted(expected_store(setup.db, "mailchimp_news"))[:2]
    fields = {"first_name": "Zoë", "primary_segment": "Champions", "lifecycle_stage": "active"}
    fields |= {"value_tier": "high", "purchase_likelihood": "high", "churn_risk": "low"}
    fields |= {"predicted_value": "top_10", "favourite_category": "grocery"}
    run_sql(
        setup.db,
        "update activation.audience_members set is_exported = false, split_group "
        "= 'holdout' where destination = 'mailchimp_news' and person_id = ?",
        [gone[1]],
    )
    run_sql(
        setup.db,
        "update activation.audience_members set "
        + ", ".join(f"{field} = ?" for field in MERGE)
        + ", member_fingerprint = ? where destination = 'mailchimp_news' and person_id = ?",
        [
            *fields.values(),
            fingerprint(f"person{int(changed[1][1:])}@example.com", fields),
            changed[1],
        ],
    )
    newcomer = {"person_id": "p99999", "email": "new@example.com", **fields}
    run_sql(
        setup.db,
        "insert into activation.audience_members values ('mailchimp_news', 'champions', ?, "
        "'treatment', true, 4242, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*newcomer.values(), fingerprint(newcomer["email"], fields), AS_OF],
    )
    refresh_changes(setup.db, setup.state_dir, AS_OF + timedelta(days=1))
    assert run_sql(
        setup.db,
        "select distinct base_sync_id from activation.audience_changes "
        "where destination = 'mailchimp_news'",
    ) == [(sync_id,)]

    args = ["export", "--destination", "mailchimp_news", "--out", str(setup.out)]
    assert main([*args, "--db", str(setup.db)]) == 0
    path = setup.out / f"mailchimp_news-changes-{AS_OF + timedelta(days=1):%Y%m%dT%H%M%S}.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    assert sorted((r["PERSONID"], r["Change"]) for r in rows) == sorted(
        [(gone[1], "remove"), (changed[1], "update"), ("p99999", "add")]
    )
    capsys.readouterr()
    assert setup.sync("mailchimp_news") == 0
    line = capsys.readouterr().out
    assert "changes=3 adds=1 updates=1 removes=1 batches=1/1" in line, line
    assert_exact(setup, "mailchimp_news")
    assert gone not in setup.server.store and setup.server.store[changed]["first_name"] == "Zoë"
    assert setup.server.store[("champions", "p99999")]["email"] == "new@example.com"
    assert setup.sync("mailchimp_news") == 0
    assert "already delivered" in capsys.readouterr().out


def test_stale_journal_is_discarded(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.server.failures = [Fail(batch=3, status=400, times=-1)]
    assert setup.sync("webhook") == 1  # batches 1 and 2 of 250 delivered, then a 400
    # a refresh before the re-run: one more person leaves (the state is still at 'none',
    # so the new change set is again against 'none', but a different one)
    leaver = max(expected_store(setup.db, "webhook"))
    run_sql(
        setup.db,
        "update activation.audience_members set is_exported = false "
        "where destination = 'webhook' and person_id = ?",
        [leaver[1]],
    )
    refresh_changes(setup.db, setup.state_dir)
    setup.server.failures = []
    capsys.readouterr()
    assert setup.sync("webhook") == 0
    assert "discarding stale journal webhook.pending.json" in capsys.readouterr().err
    # the batches before the leaver's are byte-identical, so their keys are replays
    assert setup.server.suppressed == 2
    expected = expected_store(setup.db, "webhook")
    assert setup.server.store == expected == state_as_store(setup.state_dir, "webhook")
    assert all(n == 1 for n in setup.server.effects.values())
