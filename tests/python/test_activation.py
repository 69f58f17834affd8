"""The activation marts on real builds: suppressions (each reason planted and proven kept out
of every audience, and recomputed independently for every generated person), audiences by
priority, stable hash-bucket holdouts, and the PII boundary."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from esp_server import serve
from segmentation import raw_store
from segmentation.activation.published import MERGE_FIELDS
from segmentation.activation.state import read_state
from segmentation.cli import main
from segmentation.contract import SCHEMAS
from segmentation.pii import pii_violations
from segmentation.refresh import publish

from conftest import TEST_AS_OF, Build, run_dbt

pytestmark = pytest.mark.slow

SALT = "customer_segmentation"
GLOBAL_CONTROL_SHARE = 0.05
# an audience every planted person (no orders: lifecycle prospect) would be in, unsuppressed
PLANTED_AUDIENCE = {
    "name": "Planted Prospects",
    "destination": "klaviyo",
    "segment": "Prospect",
    "priority": 1,
    "holdout_share": 0.0,
}
# planted person -> the reasons they must be suppressed for (empty: must reach the audience)
PLANTED = {
    "P900001": {"opted_out"},
    "P900002": {"unsubscribed"},
    "P900003": set(),  # unsubscribed, then opted in again
    "P900004": {"hard_bounced"},
    "P900005": set(),  # bounced once, delivered after it: a soft bounce
    "P900006": {"spam_complaint"},
    "P900007": {"no_email"},
    "P900008": {"invalid_email"},
    "P900009": {"never_opted_in"},  # no consent on record
    "P900010": set(),
}


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _plant(raw: Path) -> None:
    """Ten people without orders, one per suppression reason and controls, as new raw parts."""
    signup = _t("2025-12-01 10:00:00")
    customers = [
        {
            "customer_id": pid,
            "email": None
            if pid == "P900007"
            else "not-an-email"
            if pid == "P900008"
            else f"planted.{pid.lower()}@example.com",
            "first_name": "Planted",
            "last_name": pid,
            "signup_at": signup,
            "updated_at": signup,
            "country": "DE",
        }
        for pid in PLANTED
    ]
    consents = [
        {
            "customer_id": pid,
            "channel": "email",
            "status": "opted_in",
            "changed_at": _t("2026-01-01 09:00:00"),
            "source": "planted",
        }
        for pid in PLANTED
        if pid != "P900009"
    ]
    consents += [
        {
            "customer_id": "P900001",
            "channel": "email",
            "status": "opted_out",
            "changed_at": _t("2026-06-01 09:00:00"),
            "source": "planted",
        },
        {
            "customer_id": "P900003",
            "channel": "email",
            "status": "opted_in",
            "changed_at": _t("2026-07-01 09:00:00"),
            "source": "planted",
        },
    ]
    events = [
        ("P900002", "delivered", "2026-05-01 08:00:00"),
        ("P900002", "unsubscribe", "2026-05-02 08:00:00"),
        ("P900003", "delivered", "2026-05-01 08:00:00"),
        ("P900003", "unsubscribe", "2026-05-02 08:00:00"),
        ("P900004", "delivered", "2026-04-01 08:00:00"),
        ("P900004", "bounce", "2026-05-01 08:00:00"),
        ("P900005", "bounce", "2026-05-01 08:00:00"),
        ("P900005", "delivered", "2026-06-01 08:00:00"),
        ("P900006", "delivered", "2026-05-01 08:00:00"),
        ("P900006", "spam_complaint", "2026-05-03 08:00:00"),
        ("P900010", "delivered", "2026-05-01 08:00:00"),
        ("P900010", "open", "2026-05-01 09:00:00"),
    ]
    email_events = [
        {
            "event_id": f"EEPLANT{i:04d}",
            "customer_id": pid,
            "campaign_id": None,
            "event_type": kind,
            "occurred_at": _t(at),
            "received_at": _t(at),
        }
        for i, (pid, kind, at) in enumerate(events)
    ]
    for table, rows in (
        ("customers", customers),
        ("consents", consents),
        ("email_events", email_events),
    ):
        raw_store.append_part(
            raw, table, pa.Table.from_pylist(rows, schema=SCHEMAS[table]), "planted"
        )


def _build(raw: Path, work: Path, **vars_: object) -> Build:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "warehouse.duckdb"
    result = run_dbt(
        ["build", "--vars", json.dumps({"as_of": TEST_AS_OF, **vars_})], raw, db, work, None
    )
    build = Build(raw, db, result.returncode, result.stdout + result.stderr)
    assert build.returncode == 0, build.output[-5000:]
    return build


@pytest.fixture(scope="module")
def planted_raw(generated: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("activation") / "raw"
    shutil.copytree(generated[0], raw)
    _plant(raw)
    return raw


@pytest.fixture(scope="module")
def planted(planted_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return _build(
        planted_raw,
        tmp_path_factory.mktemp("opt_in"),
        extra_audience_definitions=[PLANTED_AUDIENCE],
    )


def _reasons(build: Build, people: list[str]) -> dict[str, set[str]]:
    rows = build.query(
        "select person_id, suppression_reason from activation.activation_suppressions "
        f"where person_id in ({', '.join(repr(p) for p in people)})"
    )
    found: dict[str, set[str]] = {p: set() for p in people}
    for person, reason in rows.itertuples(index=False):
        found[person].add(reason)
    return found


def _person_ids(build: Build, customer_ids: list[str]) -> dict[str, str]:
    rows = build.query(
        "select customer_id, person_id from intermediate.int_customers_merged "
        f"where customer_id in ({', '.join(repr(c) for c in customer_ids)})"
    )
    return dict(rows.itertuples(index=False))


def test_each_planted_reason_is_suppressed_and_kept_out(planted: Build) -> None:
    persons = _person_ids(planted, list(PLANTED))
    reasons = _reasons(planted, list(persons.values()))
    assert {c: reasons[persons[c]] for c in PLANTED} == PLANTED
    members = set(
        planted.query(
            "select person_id from activation.audience_members where audience = 'Planted Prospects'"
        ).person_id
    )
    for customer, expected in PLANTED.items():
        assert (persons[customer] in members) == (not expected), customer
    caused = dict(
        planted.query(
            "select suppression_reason, caused_at from activation.activation_suppressions "
            f"where person_id in ({', '.join(repr(p) for p in persons.values())})"
        ).itertuples(index=False)
    )
    assert caused["opted_out"] == pd.Timestamp("2026-06-01 09:00:00")
    assert caused["unsubscribed"] == pd.Timestamp("2026-05-02 08:00:00")
    assert caused["hard_bounced"] == pd.Timestamp("2026-05-01 08:00:00")
    assert caused["spam_complaint"] == pd.Timestamp("2026-05-03 08:00:00")


def test_opt_out_policy_mails_people_without_a_consent_record(
    planted_raw: Path, tmp_path: Path
) -> None:
    build = _build(
        planted_raw,
        tmp_path,
        consent_policy="opt_out",
        extra_audience_definitions=[PLANTED_AUDIENCE],
    )
    persons = _person_ids(build, list(PLANTED))
    expected = {c: r - {"never_opted_in"} for c, r in PLANTED.items()}
    reasons = _reasons(build, list(persons.values()))
    assert {c: reasons[persons[c]] for c in PLANTED} == expected
    assert (
        build.scalar(
            "select count(*) from activation.audience_members where audience = 'Planted Prospects' "
            f"and person_id = '{persons['P900009']}'"
        )
        == 1
    )


def _bucket(salt: str, person_id: str) -> int:
    return int(hashlib.md5(f"{salt}:{person_id}".encode()).hexdigest()[:8], 16) % 10_000


def _independent_suppressions(build: Build) -> set[tuple[str, str]]:
    """The suppression rules recomputed in pandas from the staged rows."""
    merged = build.query("select customer_id, person_id from intermediate.int_customers_merged")
    person = dict(merged.itertuples(index=False))
    people = build.query("select person_id, email from core.dim_customers")
    consents = build.query("select * from staging.stg_raw__consents where channel = 'email'")
    consents["person_id"] = consents.customer_id.map(person)
    latest = (
        consents.sort_values(
            ["changed_at", "status", "customer_id"], ascending=[False, False, True]
        )
        .drop_duplicates("person_id")
        .set_index("person_id")
    )
    events = build.query(
        "select customer_id, event_type, occurred_at from staging.stg_raw__email_events"
    )
    events["person_id"] = events.customer_id.map(person)
    found: set[tuple[str, str]] = set()
    for pid, email in people.itertuples(index=False):
        status = latest.status.get(pid)
        changed = latest.changed_at.get(pid)
        mine = events[events.person_id == pid] if pid in set(events.person_id) else events.iloc[:0]
        unsub = mine[mine.event_type == "unsubscribe"].occurred_at.max()
        bounce = mine[mine.event_type == "bounce"].occurred_at.max()
        reached = mine[mine.event_type.isin(["delivered", "open", "click"])].occurred_at
        if status == "opted_out":
            found.add((pid, "opted_out"))
        if pd.notna(unsub) and not (status == "opted_in" and changed > unsub):
            found.add((pid, "unsubscribed"))
        if pd.notna(bounce) and not (reached > bounce).any():
            found.add((pid, "hard_bounced"))
        if (mine.event_type == "spam_complaint").any():
            found.add((pid, "spam_complaint"))
        if email is None or pd.isna(email):
            found.add((pid, "no_email"))
        elif "@" not in email or "." not in email.split("@")[-1]:
            found.add((pid, "invalid_email"))
        if status is None:
            found.add((pid, "never_opted_in"))
    return found


def test_suppressions_and_audiences_match_an_independent_computation(
    generated_build: Build,
) -> None:
    """For every generated person: the suppression reasons, the audience the person goes
    to in each destination (highest priority), the hash buckets and the split group."""
    build = generated_build
    got = set(
        build.query(
            "select person_id, suppression_reason from activation.activation_suppressions"
        ).itertuples(index=False, name=None)
    )
    assert got == _independent_suppressions(build)
    assert {r for _, r in got} >= {
        "opted_out",
        "unsubscribed",
        "hard_bounced",
        "spam_complaint",
        "no_email",
        "never_opted_in",
    }
    suppressed = {p for p, _ in got}
    audiences = build.query("select * from activation.audience_definitions")
    segments = build.query(
        "select person_id, segment, is_primary from segmentation.customer_segments"
    )
    expected = {}
    for row in audiences.sort_values(["priority", "audience"]).itertuples(index=False):
        rows = segments[segments.segment == row.segment]
        if row.segment_scope == "primary":
            rows = rows[rows.is_primary]
        for pid in rows.person_id:
            if pid not in suppressed:
                expected.setdefault((row.destination, pid), (row.audience, row.holdout_buckets))
    members = build.query("select * from activation.audience_members")
    assert set(members.person_id) & suppressed == set()
    assert {(m.destination, m.person_id): m.audience for m in members.itertuples()} == {
        key: audience for key, (audience, _) in expected.items()
    }
    for m in members.itertuples():
        global_bucket = _bucket(f"{SALT}:global", m.person_id)
        holdout_bucket = _bucket(f"{SALT}:{m.audience}", m.person_id)
        group = (
            "global_control"
            if global_bucket < GLOBAL_CONTROL_SHARE * 10_000
            else "holdout"
            if holdout_bucket < expected[(m.destination, m.person_id)][1]
            else "treatment"
        )
        assert (m.global_bucket, m.holdout_bucket, m.split_group) == (
            global_bucket,
            holdout_bucket,
            group,
        )
        assert m.is_exported == (group == "treatment")
    assert set(members.split_group) == {"treatment", "holdout", "global_control"}


def test_hash_buckets_realise_the_share_at_10k_people() -> None:
    """The bucket formula the models use (checked against them above), over 10,000 ids:
    every share within 1 percentage point, and independent of who else is in the audience."""
    ids = [f"P{i:07d}" for i in range(10_000)]
    for salt, share in (
        (f"{SALT}:global", 0.05),
        (f"{SALT}:VIP", 0.10),
        (f"{SALT}:Cart Recovery", 0.25),
    ):
        held = sum(_bucket(salt, pid) < share * 10_000 for pid in ids)
        assert abs(held / len(ids) - share) <= 0.01, (salt, held)
    # a bigger audience changes no one's bucket: each depends on the person alone
    assert [_bucket(SALT, p) for p in ids[:100]] == [_bucket(SALT, p) for p in (ids * 2)[:100]]


def test_changing_a_holdout_share_moves_only_people_crossing_the_line(
    generated_build: Build, tmp_path: Path
) -> None:
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    before = copy.query(
        "select person_id, split_group, holdout_bucket from activation.audience_members "
        "where audience = 'VIP'"
    )
    result = run_dbt(
        [
            "build",
            "-s",
            "audience_definitions",
            "audience_members",
            "--vars",
            json.dumps({"as_of": TEST_AS_OF, "audience_holdout_overrides": {"VIP": 0.2}}),
        ],
        copy.raw_dir,
        copy.db_path,
        tmp_path,
        None,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    after = copy.query(
        "select person_id, split_group from activation.audience_members where audience = 'VIP'"
    )
    joined = before.merge(after, on="person_id", suffixes=("_before", "_after"))
    assert len(joined) == len(before) == len(after)
    moved = joined[joined.split_group_before != joined.split_group_after]
    assert len(moved) > 0
    assert (moved.split_group_before == "treatment").all() and (
        moved.split_group_after == "holdout"
    ).all()
    assert moved.holdout_bucket.between(500, 1999).all()
    crossing = joined[
        joined.holdout_bucket.between(500, 1999) & (joined.split_group_before == "treatment")
    ]
    assert set(crossing.person_id) == set(moved.person_id)


def test_a_suppressed_person_in_an_audience_fails_the_build_test(
    generated_build: Build, tmp_path: Path
) -> None:
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(copy.db_path))
    try:
        con.execute(
            "insert into activation.audience_members "
            "(destination, audience, person_id, split_group, is_exported) "
            "select 'klaviyo', 'VIP', person_id, 'treatment', true "
            "from activation.activation_suppressions limit 1"
        )
    finally:
        con.close()
    result = run_dbt(
        ["test", "-s", "audience_members"], copy.raw_dir, copy.db_path, tmp_path, TEST_AS_OF
    )
    assert result.returncode != 0
    assert "excludes_people_in" in result.stdout and "FAIL 1" in result.stdout


def test_no_pii_outside_activation_and_core(generated_build: Build) -> None:
    """pii-tagged columns only in core, activation and the unpublished work layers; no
    published table elsewhere has a column of the people's names or e-mail."""
    manifest = json.loads((generated_build.db_path.parent / "target" / "manifest.json").read_text())
    assert pii_violations(manifest) == []
    tagged = {
        name
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for name, column in node["columns"].items()
        if "pii" in column.get("tags", [])
    }
    assert {"email", "first_name"} <= tagged
    published = generated_build.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('segmentation')"
    )
    assert set(published.column_name) & tagged == set()
    # the check can fail: a pii column in a segmentation mart is reported
    node = next(n for n in manifest["nodes"].values() if n["name"] == "customer_primary_segment")
    node["columns"]["email"] = {"name": "email", "tags": ["pii"]}
    assert pii_violations(manifest) == ["customer_primary_segment.email"]


TOKEN = "e2e-token-5f1d"


def _store_of_members(build: Build, destination: str) -> dict[tuple[str, str], dict]:
    rows = build.query(
        f"select audience, person_id, email, {', '.join(MERGE_FIELDS)} "
        f"from activation.audience_members where destination = '{destination}' and is_exported"
    )
    return {
        (r.audience, r.person_id): {
            "email": r.email,
            **{field: getattr(r, field) for field in MERGE_FIELDS},
        }
        for r in rows.astype(object).where(rows.notna(), None).itertuples(index=False)
    }


def test_sync_round_trip_an_unsubscribe_after_a_sync_is_removed(
    generated_build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build -> publish -> sync to a local HTTP server; then a synced member unsubscribes and
    another one's first name changes: the next build's change set holds exactly a remove and
    an update against the confirmed sync, and the next sync makes the platform equal to the
    audiences again, every change applied once."""
    raw = tmp_path / "raw"
    shutil.copytree(generated_build.raw_dir, raw)
    monkeypatch.setenv("SEGMENTATION_ACTIVATION_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SEGMENTATION_SYNC_BACKOFF_SECONDS", "0.01")
    # the session's build, with a copy of its raw data to change (its state dir was empty)
    (tmp_path / "work").mkdir()
    build = generated_build.copy(tmp_path / "work" / "warehouse.duckdb")
    published = tmp_path / "published.duckdb"
    with serve(TOKEN) as server:
        monkeypatch.setenv("SEGMENTATION_SYNC_KLAVIYO_URL", server.url)
        monkeypatch.setenv("SEGMENTATION_SYNC_KLAVIYO_TOKEN", TOKEN)
        publish(build.db_path, published)
        assert main(["sync", "--destination", "klaviyo", "--db", str(published)]) == 0
        assert server.store == _store_of_members(build, "klaviyo") != {}
        first_sync = build.scalar(
            "select count(*) from activation.audience_changes where destination = 'klaviyo'"
        )
        assert sum(server.effects.values()) == first_sync

        leaver, renamed = build.query(
            "select members.person_id, customers.profile_customer_id "
            "from activation.audience_members as members "
            "inner join core.dim_customers as customers using (person_id) "
            "where members.destination = 'klaviyo' and members.is_exported "
            "order by members.person_id limit 2"
        ).itertuples(index=False)
        moment = datetime.fromisoformat(TEST_AS_OF) - timedelta(hours=1)
        event = {
            "event_id": "EEUNSUB0001",
            "customer_id": leaver.profile_customer_id,
            "campaign_id": None,
            "event_type": "unsubscribe",
            "occurred_at": moment,
            "received_at": moment,
        }
        raw_store.append_part(
            raw,
            "email_events",
            pa.Table.from_pylist([event], schema=SCHEMAS["email_events"]),
            "unsubscribe",
        )
        profile = build.query(
            "select * from staging.stg_raw__customers where customer_id = "
            f"'{renamed.profile_customer_id}'"
        ).to_dict("records")[0]
        profile.update(first_name="Renamed", updated_at=moment)
        raw_store.append_part(
            raw,
            "customers",
            pa.Table.from_pylist(
                [{k: profile.get(k) for k in SCHEMAS["customers"].names}],
                schema=SCHEMAS["customers"],
            ),
            "renamed",
        )

        build = _build(raw, tmp_path / "work")
        changes = build.query(
            "select person_id, change_type, base_sync_id from activation.audience_changes "
            "where destination = 'klaviyo'"
        )
        (sync_id,) = {
            r["sync_id"] for r in read_state(tmp_path / "state" / "klaviyo.parquet").to_pylist()
        }
        assert set(changes.base_sync_id) == {sync_id}
        assert dict(zip(changes.person_id, changes.change_type, strict=True)) == {
            leaver.person_id: "remove",
            renamed.person_id: "update",
        }
        assert (
            build.scalar(
                "select count(*) from activation.activation_suppressions "
                f"where person_id = '{leaver.person_id}' and suppression_reason = 'unsubscribed'"
            )
            == 1
        )
        publish(build.db_path, published)
        assert main(["sync", "--destination", "klaviyo", "--db", str(published)]) == 0
        assert server.store == _store_of_members(build, "klaviyo")
        assert all(r[0] != leaver.person_id for r in server.store)
        assert set(server.effects.values()) == {1}
        # nothing left to deliver: a second sync sends nothing
        requests = len(server.requests)
        assert main(["sync", "--destination", "klaviyo", "--db", str(published)]) == 0
        assert len(server.requests) == requests


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"destination": "klaviyo", "segment": "No Such Segment", "priority": 99},
            "unknown segment 'No Such Segment'",
        ),
        (
            {"destination": "braze", "segment": "Champions", "priority": 99},
            "unknown destination 'braze'",
        ),
        (
            {"destination": "klaviyo", "segment": "Champions", "priority": 40},
            "priority must be a number not taken",
        ),
        (
            {
                "destination": "klaviyo",
                "segment": "Champions",
                "priority": 99,
                "holdout_share": 1.5,
            },
            "holdout_share must be a number in [0, 1)",
        ),
    ],
)
def test_a_bad_audience_definition_stops_the_run_before_any_table(
    generated_build: Build, tmp_path: Path, extra: dict, message: str
) -> None:
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    before = copy.scalar("select count(*) from activation.audience_members")
    audience = {"name": "Bad One", **extra}
    result = run_dbt(
        [
            "build",
            "-s",
            "audience_members",
            "--vars",
            json.dumps({"as_of": TEST_AS_OF, "extra_audience_definitions": [audience]}),
        ],
        copy.raw_dir,
        copy.db_path,
        tmp_path,
        None,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Audience definition 'Bad One'" in output and message in output, output[-2000:]
    assert copy.scalar("select count(*) from activation.audience_members") == before
