"""`segmentation generate --append`: new days continue an existing raw directory (no dbt)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentation import cli, contract, raw_store
from segmentation.append import append_days, part_name
from segmentation.generate import GENERATION_FILE, STATE_DIR, TRUTH_TABLES, generate

END = datetime(2024, 11, 26, 18, 0, 0)  # a Tuesday: the 3 new days hold Friday's sale mailing
CUSTOMERS, DAYS, SEED = 1_500, 60, 5
NEW_DAYS, APPEND_SEED = 3, 1
NEW_END = END + timedelta(days=NEW_DAYS)
PART = part_name(NEW_END)
GROWING = ("customers", "orders", "order_items", "web_events", "email_events", "consents")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated data set before any append (never modified)."""
    root = tmp_path_factory.mktemp("base")
    generate(CUSTOMERS, DAYS, SEED, END, root / "raw", progress=False)
    return root


def _appended(base: Path, root: Path) -> tuple[Path, dict[str, int]]:
    shutil.copytree(base, root)
    rows = append_days(root / "raw", NEW_DAYS, seed=APPEND_SEED, progress=False)
    return root, rows


@pytest.fixture(scope="module")
def run_a(base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return _appended(base, tmp_path_factory.mktemp("a") / "data")


@pytest.fixture(scope="module")
def con(base: Path, run_a: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    """Views: old_<t> (before), <t> (after, all parts), new_<t> (the appended part only)."""
    root, _ = run_a
    c = duckdb.connect()
    for t in contract.TABLES:
        c.execute(f"create view old_{t} as select * from read_parquet('{base}/raw/{t}.parquet')")
        files = [str(p) for p in raw_store.table_files(root / "raw", t)]
        c.execute(f"create view {t} as select * from read_parquet({files})")
        new = root / "raw" / t / f"{PART}.parquet"
        if new.exists():
            c.execute(f"create view new_{t} as select * from read_parquet('{new}')")
    for t in TRUTH_TABLES:
        c.execute(f"create view {t} as select * from read_parquet('{root}/truth/{t}.parquet')")
        c.execute(f"create view old_{t} as select * from read_parquet('{base}/truth/{t}.parquet')")
    return c


def _one(c: duckdb.DuckDBPyConnection, sql: str):
    return c.execute(sql).fetchall()[0][0]


def _ts(value: datetime) -> str:
    return f"timestamp '{value.isoformat(sep=' ')}'"


def test_layout_becomes_folders(run_a) -> None:
    root, rows = run_a
    raw = root / "raw"
    assert set(rows) == set(contract.TABLES)
    for t in GROWING:
        assert rows[t] > 0, t
    for t in contract.TABLES:
        if rows[t]:
            assert not (raw / f"{t}.parquet").exists(), t
            assert sorted(p.name for p in (raw / t).iterdir()) == sorted(
                ["part-00000.parquet", f"{PART}.parquet"]
            ), t
            f = pq.ParquetFile(raw / t / f"{PART}.parquet")
            assert f.schema_arrow.equals(contract.SCHEMAS[t]) and f.metadata.num_rows == rows[t]
        else:
            assert (raw / f"{t}.parquet").is_file() and not (raw / t).exists(), t
    assert rows["products"] == 0  # the catalogue does not change


def test_generation_json(base, run_a) -> None:
    root, rows = run_a
    before = json.loads((base / "truth" / GENERATION_FILE).read_text())
    assert before == {"customers": CUSTOMERS, "days": DAYS, "seed": SEED, "end": END.isoformat()}
    after = json.loads((root / "truth" / GENERATION_FILE).read_text())
    assert after["end"] == NEW_END.isoformat() and after["customers"] == CUSTOMERS
    (entry,) = after["appends"]
    assert entry["from"] == END.isoformat() and entry["end"] == NEW_END.isoformat()
    assert entry["days"] == NEW_DAYS and entry["seed"] == APPEND_SEED and entry["part"] == PART
    assert entry["rows"] == rows


def test_new_rows_are_inside_the_window(con) -> None:
    o, e = _ts(END), _ts(NEW_END)
    for table, col in (
        ("web_events", "received_at"),
        ("email_events", "received_at"),
        ("orders", "updated_at"),
        ("customers", "updated_at"),
        ("consents", "changed_at"),
        ("email_campaigns", "sent_at"),
    ):
        outside = _one(
            con, f"select count(*) from new_{table} where not ({col} > {o} and {col} <= {e})"
        )
        assert outside == 0, (table, col)
    for table in ("web_events", "email_events"):
        assert _one(con, f"select count(*) from new_{table} where occurred_at > received_at") == 0
    assert _one(con, "select count(*) from new_orders where ordered_at > updated_at") == 0
    assert _one(con, "select count(*) from new_customers where signup_at > updated_at") == 0
    # the newest arrival is within the last hour, as in the generator
    newest = _one(con, "select max(received_at) from new_web_events")
    assert NEW_END - newest <= timedelta(hours=1)


def test_ids_continue_and_do_not_collide(con) -> None:
    for table, key in (
        ("web_events", "event_id"),
        ("email_events", "event_id"),
        ("orders", "order_id"),
        ("customers", "customer_id"),
        ("email_campaigns", "campaign_id"),
    ):
        old_max = _one(con, f"select max({key}) from old_{table}")
        fresh = (
            f"select {key} from new_{table} where {key} not in "
            f"(select {key} from old_{table} where {key} is not null)"
        )
        assert _one(con, f"select count(*) from ({fresh}) where {key} <= '{old_max}'") == 0, table
        assert _one(con, f"select count(*) from ({fresh})") > 0, table
        assert (
            _one(con, f"select min(length({key})) = max(length({key})) from {table}")
            and _one(con, f"select count(distinct regexp_extract({key}, '^\\D*')) from {table}")
            == 1
        ), table
    # the only old keys in new rows are planted duplicates (re-deliveries, new versions)
    for table, key in (
        ("web_events", "event_id"),
        ("email_events", "event_id"),
        ("orders", "order_id"),
        ("customers", "customer_id"),
    ):
        reused = _one(
            con,
            f"""select count(distinct {key}) from new_{table}
                where {key} in (select {key} from old_{table})
                  and {key} not in (select record_key from planted_duplicates
                                    where table_name = '{table}')""",
        )
        assert reused == 0, table
    # new customers continue the person ids in the truth
    new_people = con.execute(
        """select person_id, persona from customers_truth
           where person_id not in (select person_id from old_customers_truth)"""
    ).fetchall()
    assert new_people and {p for _, p in new_people} == {"new_customer"}
    assert min(p for p, _ in new_people) > _one(
        con, "select max(person_id) from old_customers_truth"
    )


def test_new_activity_belongs_to_known_people(con) -> None:
    for table in ("web_events", "email_events", "orders", "consents"):
        unknown = _one(
            con,
            f"""select count(*) from new_{table} where customer_id is not null
                and customer_id not in
                    (select customer_id from customers where customer_id is not null)""",
        )
        assert unknown == 0, table
    # most new web events come from visitors seen before, the rest from new anonymous_ids
    old_visitors = "(select distinct anonymous_id from old_web_events)"
    share_known = _one(
        con,
        f"select avg((anonymous_id in {old_visitors})::int) from new_web_events",
    )
    assert 0.5 < share_known < 1.0
    # an identified returning visitor shows up as (one of) the customer(s) it was before
    mismatched = _one(
        con,
        f"""select count(*) from (select distinct anonymous_id, customer_id from new_web_events
               where customer_id in (select customer_id from old_customers)
                 and anonymous_id in {old_visitors}) n
            where not exists (select 1 from old_web_events o
                              where o.anonymous_id = n.anonymous_id
                                and o.customer_id = n.customer_id)""",
    )
    assert mismatched == 0
    # anonymous-only sessions and all funnel steps are there
    assert _one(con, "select count(*) from new_web_events where customer_id is null") > 0
    types = {r[0] for r in con.execute("select distinct event_type from new_web_events").fetchall()}
    assert set(contract.WEB_EVENT_TYPES) <= types
    mail = {
        r[0] for r in con.execute("select distinct event_type from new_email_events").fetchall()
    }
    assert {"sent", "delivered", "open", "click"} <= mail
    # every purchase session ends at an order of the same customer
    purchases = _one(con, "select count(*) from new_web_events where event_type = 'purchase'")
    assert purchases > 0
    # new orders have lines, status versions of old orders have none
    assert (
        _one(
            con,
            f"""select count(*) from new_orders o
                where status in ('completed', 'cancelled', 'returned')
                  and ordered_at > {_ts(END)} and order_id not in
                      (select order_id from new_order_items where order_id is not null)""",
        )
        == 0
    )
    versions = _one(
        con,
        f"""select count(*) from new_orders where ordered_at <= {_ts(END)}
            and order_id in (select order_id from old_orders)""",
    )
    assert versions > 0


def test_late_events(con) -> None:
    o = _ts(END)
    late = _one(
        con,
        "select count(*) from new_web_events where received_at - occurred_at > interval 1 hour",
    )
    total = _one(con, "select count(*) from new_web_events")
    assert 0.005 < late / total < 0.08
    before_old_end = _one(
        con,
        f"""select count(*) from (select occurred_at from new_web_events
                                  union all select occurred_at from new_email_events)
            where occurred_at <= {o}""",
    )
    assert before_old_end > 0


def test_opens_of_old_deliveries(con) -> None:
    """E-mails delivered before the old end are opened (and clicked) in the new days."""
    late_opens = _one(
        con,
        f"""select count(*) from new_email_events n join old_email_campaigns c using (campaign_id)
            where n.event_type in ('open', 'click') and c.sent_at <= {_ts(END)}
              and n.occurred_at > {_ts(END)}""",
    )
    assert late_opens > 0


def test_duplicates_match_truth(con) -> None:
    for table in ("web_events", "email_events", "orders", "customers"):
        key = {"orders": "order_id", "customers": "customer_id"}.get(table, "event_id")
        extra = _one(
            con,
            "select coalesce(sum(extra_copies), 0) from planted_duplicates "
            f"where table_name = '{table}'",
        )
        assert _one(con, f"select count({key}) - count(distinct {key}) from {table}") == extra, (
            table
        )
    assert _one(con, "select count(*) from planted_duplicates") == _one(
        con, "select count(distinct (table_name, record_key)) from planted_duplicates"
    )
    # duplicates of new events and re-deliveries of events that were already there
    new_dups = _one(
        con,
        """select count(*) from (select event_id from new_web_events where event_id is not null
            group by 1 having count(*) > 1)""",
    )
    assert new_dups > 0
    redelivered = con.execute(
        """select n.event_id, n.received_at, o.received_at,
                   (n.anonymous_id, n.customer_id, n.event_type, n.product_id, n.page_url,
                    n.occurred_at) is not distinct from
                   (o.anonymous_id, o.customer_id, o.event_type, o.product_id, o.page_url,
                    o.occurred_at)
            from new_web_events n join old_web_events o using (event_id)
            union all
            select n.event_id, n.received_at, o.received_at,
                   (n.customer_id, n.campaign_id, n.event_type, n.occurred_at) is not distinct from
                   (o.customer_id, o.campaign_id, o.event_type, o.occurred_at)
            from new_email_events n join old_email_events o using (event_id)"""
    ).fetchall()
    assert redelivered
    for event_id, new_received, old_received, same in redelivered:
        assert same and new_received > old_received > END - timedelta(days=2), event_id


def test_broken_rows_match_truth(con) -> None:
    n_new = _one(
        con,
        "select count(*) from broken_rows b where not exists (select 1 from old_broken_rows o "
        "where o.table_name = b.table_name and o.record_key is not distinct from b.record_key)",
    )
    assert n_new > 0
    web_types = ", ".join(f"'{t}'" for t in contract.WEB_EVENT_TYPES)
    mail_types = ", ".join(f"'{t}'" for t in contract.EMAIL_EVENT_TYPES)
    statuses = ", ".join(f"'{t}'" for t in contract.ORDER_STATUSES)
    checks = {
        ("customers", "null_key"): "customers where customer_id is null",
        ("orders", "null_key"): "orders where order_id is null",
        ("orders", "unknown_event_type"): f"orders where status not in ({statuses})",
        ("order_items", "null_key"): "order_items where order_id is null",
        ("order_items", "negative_price"): "order_items where unit_price < 0",
        ("web_events", "null_key"): "web_events where event_id is null",
        ("web_events", "unknown_event_type"): f"web_events where event_type not in ({web_types})",
        ("email_events", "null_key"): "email_events where event_id is null",
        ("email_events", "unknown_event_type"): (
            f"email_events where event_type not in ({mail_types})"
        ),
    }
    for (table, reason), sql in checks.items():
        planted = _one(
            con,
            f"select count(*) from broken_rows where table_name = '{table}' "
            f"and reason_code = '{reason}'",
        )
        assert _one(con, f"select count(*) from {sql}") == planted, (table, reason)
    # generator-planted future rows that are inside the new window are ordinary rows now
    e = _ts(NEW_END)
    for table, ts, key in (
        ("web_events", "occurred_at", "event_id"),
        ("email_events", "occurred_at", "event_id"),
        ("orders", "ordered_at", "order_id"),
    ):
        listed = (
            f"(select record_key from broken_rows where table_name = '{table}' "
            "and reason_code = 'future_timestamp')"
        )
        assert _one(con, f"select count(*) from {table} where {ts} > {e}") == _one(
            con, f"select count(*) from {table} where {key} in {listed}"
        ), table


def test_customers_truth_covers_every_customer(con) -> None:
    assert (
        _one(
            con,
            """select count(*) from (select distinct customer_id from customers
               where customer_id is not null) c full join customers_truth t using (customer_id)
               where t.person_id is null or c.customer_id is null""",
        )
        == 0
    )


def test_deterministic(base, run_a, tmp_path) -> None:
    root_a, _ = run_a
    root_b, _ = _appended(base, tmp_path / "b")
    files_a = sorted(p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(root_b) for p in root_b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (root_a / rel).read_bytes() == (root_b / rel).read_bytes(), rel


def test_cli_appends_again_and_without_generation_json(run_a, tmp_path, capsys) -> None:
    root_a, _ = run_a
    again = tmp_path / "again"
    shutil.copytree(root_a, again)
    # a hand-made row with an id of another form does not derail the id sequence
    hand_made = pq.read_table(again / "raw" / "web_events" / f"{PART}.parquet").slice(0, 1)
    hand_made = hand_made.set_column(0, "event_id", pa.array(["test-row-1"]))
    raw_store.append_part(again / "raw", "web_events", hand_made, "hand-made")
    code = cli.main(["generate", "--append", "--days", "1", "--out", str(again / "raw"), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "web_events" in printed and "rows" in printed
    second = part_name(NEW_END + timedelta(days=1))
    ids = pq.read_table(again / "raw" / "web_events" / f"{second}.parquet")["event_id"]
    assert {i[:2] for i in ids.drop_null().to_pylist()} == {"WE"}
    before = pq.read_table(root_a / "raw" / "web_events")["event_id"].drop_null().to_pylist()
    fresh = set(ids.drop_null().to_pylist()) - set(before)
    assert fresh and min(fresh) > max(i for i in before if i.startswith("WE"))
    spec = json.loads((again / "truth" / GENERATION_FILE).read_text())
    assert [a["end"] for a in spec["appends"]] == [
        NEW_END.isoformat(),
        (NEW_END + timedelta(days=1)).isoformat(),
    ]
    # without generation.json the old end is the end of the stored population state
    bare = tmp_path / "bare"
    shutil.copytree(root_a, bare)
    (bare / "truth" / GENERATION_FILE).unlink()
    append_days(bare / "raw", 1, progress=False)
    spec = json.loads((bare / "truth" / GENERATION_FILE).read_text())
    started = datetime.fromisoformat(spec["appends"][0]["from"])
    assert NEW_END - timedelta(hours=1) <= started <= NEW_END
    assert spec["customers"] is None
    # without the stored population state there is nothing to continue: a clear error
    # that names what is missing
    blind = tmp_path / "blind"
    shutil.copytree(root_a / "raw", blind / "raw")
    with pytest.raises(ValueError, match=r"no simulator state in .*missing shop\.json"):
        append_days(blind / "raw", 1, progress=False)
    partial = tmp_path / "partial"
    shutil.copytree(root_a, partial)
    (partial / "truth" / STATE_DIR / "persons.parquet").unlink()
    with pytest.raises(ValueError, match=r"missing persons\.parquet\)"):
        append_days(partial / "raw", 1, progress=False)


def test_raw_store_append_part(tmp_path) -> None:
    raw = tmp_path / "raw"
    first = pa.table(
        {
            "event_id": ["WE0000000001"],
            "anonymous_id": ["a1"],
            "customer_id": ["C0000001"],
            "event_type": ["page_view"],
            "product_id": [None],
            "page_url": ["/"],
            "occurred_at": [datetime(2024, 1, 1, 12)],
            "received_at": [datetime(2024, 1, 1, 12, 0, 2)],
        }
    )
    contract.write_table("web_events", first, raw)
    assert raw_store.table_files(raw, "web_events") == [raw / "web_events.parquet"]
    assert raw_store.table_files(raw, "consents") == []
    session = first.set_column(0, "event_id", pa.array(["WE0000000002"]))
    path = raw_store.append_part(
        raw, "web_events", session.select(list(reversed(first.column_names))), "extra"
    )
    assert path == raw / "web_events" / "extra.parquet"
    assert raw_store.table_files(raw, "web_events") == [
        raw / "web_events" / "extra.parquet",
        raw / "web_events" / "part-00000.parquet",
    ]
    assert pq.read_schema(path).equals(contract.SCHEMAS["web_events"])
    with pytest.raises(ValueError, match="exists"):
        raw_store.append_part(raw, "web_events", session, "extra")
    with pytest.raises(ValueError, match="unknown raw table"):
        raw_store.append_part(raw, "clicks", session, "x")
    with pytest.raises(ValueError, match="part name"):
        raw_store.append_part(raw, "web_events", session, "../x")
    contract.write_table("web_events", first, raw)  # now both a file and a folder
    with pytest.raises(ValueError, match="both"):
        raw_store.table_files(raw, "web_events")
    c = duckdb.connect()
    n = c.execute(f"select count(*) from read_parquet('{raw}/web_events/**/*.parquet')").fetchall()
    assert n[0][0] == 2
