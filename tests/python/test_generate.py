"""Fast unit tests of the demo data generator (small populations, a few seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from segmentation import contract
from segmentation.generate import PERSONA_NAMES, STATE_DIR, TRUTH_TABLES, generate

END = datetime(2024, 11, 30, 18, 30, 0)
CUSTOMERS, DAYS, SEED = 400, 120, 12

EXPECTED_REASONS = {
    ("customers", "null_key"),
    ("products", "negative_price"),
    ("orders", "null_key"),
    ("orders", "unknown_event_type"),
    ("orders", "future_timestamp"),
    ("order_items", "null_key"),
    ("order_items", "negative_price"),
    ("web_events", "null_key"),
    ("web_events", "unknown_event_type"),
    ("web_events", "future_timestamp"),
    ("email_events", "null_key"),
    ("email_events", "unknown_event_type"),
    ("email_events", "future_timestamp"),
}


def _run(base: Path, seed: int = SEED, **kw) -> tuple[Path, dict[str, int]]:
    rows = generate(CUSTOMERS, DAYS, seed, END, base / "raw", progress=False, **kw)
    return base, rows


@pytest.fixture(scope="module")
def run_a(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    return _run(tmp_path_factory.mktemp("a"))


@pytest.fixture(scope="module")
def con(run_a) -> duckdb.DuckDBPyConnection:
    base, _ = run_a
    c = duckdb.connect()
    for t in contract.TABLES:
        c.execute(f"create view {t} as select * from read_parquet('{base}/raw/{t}.parquet')")
    for t in TRUTH_TABLES:
        c.execute(f"create view {t} as select * from read_parquet('{base}/truth/{t}.parquet')")
    return c


def _one(c: duckdb.DuckDBPyConnection, sql: str):
    return c.execute(sql).fetchone()[0]


def _end() -> str:
    return f"timestamp '{END.isoformat(sep=' ')}'"


def test_files_match_contract(run_a) -> None:
    base, rows = run_a
    assert set(rows) == set(contract.TABLES)
    for t, schema in contract.SCHEMAS.items():
        f = pq.ParquetFile(base / "raw" / f"{t}.parquet")
        assert f.schema_arrow.equals(schema), t
        assert f.metadata.num_rows == rows[t] > 0, t
    assert sorted(p.name for p in (base / "raw").iterdir()) == sorted(
        f"{t}.parquet" for t in contract.TABLES
    )
    # the population state that appends continue from is kept next to the truth
    assert sorted(p.name for p in (base / "truth").iterdir()) == sorted(
        [*(f"{t}.parquet" for t in TRUTH_TABLES), "generation.json", STATE_DIR]
    )


def test_deterministic(run_a, tmp_path) -> None:
    base, _ = run_a
    again, _ = _run(tmp_path / "same")
    other, _ = _run(tmp_path / "other", seed=SEED + 1)
    for sub, names in (("raw", contract.TABLES), ("truth", TRUTH_TABLES)):
        for t in names:
            a = (base / sub / f"{t}.parquet").read_bytes()
            assert a == (again / sub / f"{t}.parquet").read_bytes(), t
    for t in ("customers", "orders", "web_events", "email_events"):
        assert (base / "raw" / f"{t}.parquet").read_bytes() != (
            other / "raw" / f"{t}.parquet"
        ).read_bytes(), t


def test_chunked_output(tmp_path) -> None:
    """Several chunks go through one ParquetWriter per table; ids stay unique."""
    rows = generate(
        CUSTOMERS, 60, 3, END, tmp_path / "raw", tmp_path / "gt", progress=False, chunk_size=150
    )
    again = tmp_path / "again"
    generate(CUSTOMERS, 60, 3, END, again / "raw", again / "gt", progress=False, chunk_size=150)
    for t in contract.TABLES:
        a = (tmp_path / "raw" / f"{t}.parquet").read_bytes()
        assert a == (again / "raw" / f"{t}.parquet").read_bytes(), t
    n_chunks = -(-CUSTOMERS // 150)
    assert pq.ParquetFile(tmp_path / "raw" / "web_events.parquet").num_row_groups == n_chunks
    c = duckdb.connect()
    for t, schema in contract.SCHEMAS.items():
        f = pq.ParquetFile(tmp_path / "raw" / f"{t}.parquet")
        assert f.schema_arrow.equals(schema) and f.metadata.num_rows == rows[t], t
    truth = f"read_parquet('{tmp_path}/gt/customers_truth.parquet')"
    persons = _one(c, f"select count(distinct person_id) from {truth}")
    assert persons == CUSTOMERS
    assert _one(c, f"select count(*) - count(distinct customer_id) from {truth}") == 0
    web = f"read_parquet('{tmp_path}/raw/web_events.parquet')"
    dups = f"read_parquet('{tmp_path}/gt/planted_duplicates.parquet')"
    extra = _one(c, f"select sum(extra_copies) from {dups} where table_name = 'web_events'")
    assert _one(c, f"select count(event_id) - count(distinct event_id) from {web}") == extra


def test_personas_present(con) -> None:
    got = {r[0] for r in con.execute("select distinct persona from customers_truth").fetchall()}
    assert got == set(PERSONA_NAMES) and len(got) >= 6
    # one truth row per distinct customer_id written
    assert _one(con, "select count(*) - count(distinct customer_id) from customers_truth") == 0
    assert (
        _one(
            con,
            """select count(*) from (select distinct customer_id from customers
           where customer_id is not null) full join customers_truth using (customer_id)
           where customers_truth.person_id is null""",
        )
        == 0
    )
    assert _one(con, "select count(distinct customer_id) from customers_truth") == _one(
        con, "select count(distinct customer_id) from customers"
    )


def test_reason_codes_planted(con) -> None:
    planted = set(
        con.execute("select distinct table_name, reason_code from broken_rows").fetchall()
    )
    assert planted == EXPECTED_REASONS
    assert {r for _, r in planted} <= set(contract.REJECT_REASONS)

    def n_truth(table: str, reason: str) -> int:
        return _one(
            con,
            f"select count(*) from broken_rows where table_name = '{table}' "
            f"and reason_code = '{reason}'",
        )

    e = _end()
    web_types = ", ".join(f"'{t}'" for t in contract.WEB_EVENT_TYPES)
    mail_types = ", ".join(f"'{t}'" for t in contract.EMAIL_EVENT_TYPES)
    statuses = ", ".join(f"'{t}'" for t in contract.ORDER_STATUSES)
    checks = {
        ("customers", "null_key"): "customers where customer_id is null",
        ("products", "negative_price"): "products where price < 0",
        ("orders", "null_key"): "orders where order_id is null",
        ("orders", "unknown_event_type"): f"orders where status not in ({statuses})",
        ("orders", "future_timestamp"): f"orders where ordered_at > {e}",
        ("order_items", "null_key"): "order_items where order_id is null",
        ("order_items", "negative_price"): "order_items where unit_price < 0",
        ("web_events", "null_key"): "web_events where event_id is null",
        ("web_events", "unknown_event_type"): f"web_events where event_type not in ({web_types})",
        ("web_events", "future_timestamp"): f"web_events where occurred_at > {e}",
        ("email_events", "null_key"): "email_events where event_id is null",
        ("email_events", "unknown_event_type"): (
            f"email_events where event_type not in ({mail_types})"
        ),
        ("email_events", "future_timestamp"): f"email_events where occurred_at > {e}",
    }
    for (table, reason), sql in checks.items():
        n = n_truth(table, reason)
        assert n >= 1 and _one(con, f"select count(*) from {sql}") == n, (table, reason)
    # about 0.2-0.5 % of a table's rows are broken (at least one per reason)
    for table in ("web_events", "email_events", "order_items"):
        share = n_truth(table, "null_key") / _one(con, f"select count(*) from {table}")
        assert share < 0.01, table
    # keys of broken rows are null exactly for null_key and exist in the data otherwise
    assert (
        _one(
            con,
            "select count(*) from broken_rows "
            "where (record_key is null) != (reason_code = 'null_key')",
        )
        == 0
    )
    for table, key in (
        ("web_events", "event_id"),
        ("email_events", "event_id"),
        ("orders", "order_id"),
        ("products", "product_id"),
        ("order_items", "order_id || '-' || line_number"),
    ):
        missing = _one(
            con,
            f"select count(*) from broken_rows b where table_name = '{table}' "
            f"and record_key is not null and record_key not in (select {key} from {table} "
            f"where {key} is not null)",
        )
        assert missing == 0, table


def test_broken_rows_are_not_planted_duplicates(con) -> None:
    assert (
        _one(
            con,
            "select count(*) from broken_rows b "
            "join planted_duplicates d using (table_name, record_key)",
        )
        == 0
    )


def test_nothing_after_end_except_future_rows(con) -> None:
    e = _end()
    for table, col in (
        ("customers", "signup_at"),
        ("customers", "updated_at"),
        ("products", "updated_at"),
        ("email_campaigns", "sent_at"),
        ("consents", "changed_at"),
    ):
        assert _one(con, f"select count(*) from {table} where {col} > {e}") == 0, (table, col)
    for table, key, cols in (
        ("orders", "order_id", ("ordered_at", "updated_at")),
        ("web_events", "event_id", ("occurred_at", "received_at")),
        ("email_events", "event_id", ("occurred_at", "received_at")),
    ):
        for col in cols:
            late = _one(
                con,
                f"select count(*) from {table} where {col} > {e} and {key} not in "
                f"(select record_key from broken_rows where table_name = '{table}' "
                f"and reason_code = 'future_timestamp')",
            )
            assert late == 0, (table, col)
    # freshness: the newest load timestamps are within an hour of end
    for table, col in (
        ("web_events", "received_at"),
        ("email_events", "received_at"),
        ("orders", "updated_at"),
        ("customers", "updated_at"),
        ("products", "updated_at"),
    ):
        newest = _one(con, f"select max({col}) from {table} where {col} <= {e}")
        assert END - newest <= timedelta(hours=1), (table, col)


def test_received_after_occurred(con) -> None:
    for table in ("web_events", "email_events"):
        assert _one(con, f"select count(*) from {table} where received_at < occurred_at") == 0
        assert _one(con, f"select count(*) from {table} where received_at is null") == 0


def test_duplicate_persons_share_normalised_email(con) -> None:
    rows = con.execute(
        """select t.person_id, count(distinct t.customer_id), count(distinct lower(trim(c.email))),
                  count(distinct c.email), count(c.email) = count(*)
           from customers_truth t join customers c using (customer_id)
           where t.person_id in (select person_id from customers_truth where is_duplicate_record)
           group by 1"""
    ).fetchall()
    assert rows, "some persons must have a duplicate record"
    for person, n_ids, n_norm, n_raw, no_nulls in rows:
        assert n_ids == 2 and n_norm == 1 and n_raw == 2 and no_nulls, person
    # different persons never share a normalised e-mail
    assert (
        _one(
            con,
            """select count(*) from (select lower(trim(c.email)) e, count(distinct t.person_id) n
           from customers c join customers_truth t using (customer_id)
           where c.email is not null group by 1) where n > 1""",
        )
        == 0
    )
    # both records of a duplicate person have orders or events of their own
    active = _one(
        con,
        """select count(distinct t.customer_id) from customers_truth t
           where t.is_duplicate_record and (
             t.customer_id in (select customer_id from orders)
             or t.customer_id in (select customer_id from web_events))""",
    )
    assert active >= 1
    null_share = _one(con, "select avg((email is null)::int) from customers")
    assert 0.002 < null_share < 0.06


def test_planted_duplicates_match_data(con) -> None:
    def extra(table: str) -> int:
        return _one(
            con,
            f"select coalesce(sum(extra_copies), 0) from planted_duplicates "
            f"where table_name = '{table}'",
        )

    assert (
        _one(con, "select count(event_id) - count(distinct event_id) from web_events")
        == extra("web_events")
        > 0
    )
    assert (
        _one(con, "select count(event_id) - count(distinct event_id) from email_events")
        == extra("email_events")
        > 0
    )
    assert _one(con, "select count(order_id) - count(distinct order_id) from orders") == extra(
        "orders"
    )
    assert (
        _one(con, "select count(customer_id) - count(distinct customer_id) from customers")
        == extra("customers")
        > 0
    )
    # a later copy has a later received_at / updated_at
    assert (
        _one(
            con,
            """select count(*) from (select event_id, count(distinct received_at) n, count(*) c
           from web_events where event_id is not null group by 1 having c > 1) where n != c""",
        )
        == 0
    )


def test_activity_is_consistent(con) -> None:
    e = _end()
    clean_orders = f"""select * from orders where order_id is not null and ordered_at <= {e}
                       and status in ('completed', 'cancelled', 'returned')"""
    # a purchase event by the same customer at the time of every order
    assert (
        _one(
            con,
            f"""select count(*) from (select distinct order_id, customer_id, ordered_at
            from ({clean_orders})) o where not exists (select 1 from web_events w
            where w.event_type = 'purchase' and w.customer_id = o.customer_id
            and w.occurred_at = o.ordered_at)""",
        )
        == 0
    )
    # every order has lines, 1-5 positive ones, and purchases come after an add_to_cart
    lines = con.execute(
        f"""select min(n), max(n) from (select order_id,
            count(*) filter (where quantity > 0 and unit_price >= 0) n from order_items
            where order_id in (select order_id from ({clean_orders}))
            group by 1)"""
    ).fetchone()
    assert lines == (1, 5)
    no_lines = _one(
        con,
        f"""select count(*) from ({clean_orders}) where order_id not in
            (select order_id from order_items where order_id is not null)""",
    )
    assert no_lines == 0
    assert (
        _one(
            con,
            f"""select count(*) from web_events p where event_type = 'purchase'
           and p.occurred_at <= {e} and not exists (
           select 1 from web_events a where a.event_type = 'add_to_cart'
           and a.anonymous_id = p.anonymous_id and a.occurred_at < p.occurred_at
           and a.occurred_at >= p.occurred_at - interval 30 minute)""",
        )
        == 0
    )
    # signup before any identified activity of the record
    assert (
        _one(
            con,
            """with act as (
             select customer_id, occurred_at t from web_events where customer_id is not null
             union all select customer_id, ordered_at from orders
             union all select customer_id, occurred_at from email_events
             union all select customer_id, changed_at from consents)
           select count(*) from act join (select customer_id, min(signup_at) s from customers
             where customer_id is not null group by 1) c using (customer_id) where act.t < c.s""",
        )
        == 0
    )
    # e-mails only go to customers who had opted in before and not opted out since
    assert (
        _one(
            con,
            f"""select count(*) from email_events e where event_type = 'sent'
           and e.occurred_at <= {e} and coalesce((
             select arg_max(status, changed_at) from consents c
             where c.customer_id = e.customer_id and c.changed_at <= e.occurred_at),
           'none') != 'opted_in'""",
        )
        == 0
    )
    # click implies an open of the same e-mail
    assert (
        _one(
            con,
            f"""select count(*) from email_events c where event_type = 'click'
           and c.occurred_at <= {e} and not exists (
           select 1 from email_events o where o.event_type = 'open'
           and o.customer_id = c.customer_id and o.campaign_id = c.campaign_id
           and o.occurred_at <= c.occurred_at)""",
        )
        == 0
    )
    # anonymous events exist and most anonymous ids also appear on identified events
    anon = con.execute(
        """select avg((customer_id is null)::int),
           avg((anonymous_id in (select anonymous_id from web_events
                where customer_id is not null))::int) filter (where customer_id is null)
           from web_events"""
    ).fetchone()
    assert 0.1 < anon[0] < 0.35 and anon[1] > 0.5
    assert _one(con, "select count(*) from web_events where anonymous_id is null") == 0


def test_persona_behaviour(con) -> None:
    e = _end()
    stats = {
        r[0]: r[1:]
        for r in con.execute(
            f"""with pm as (select customer_id, person_id, persona from customers_truth),
                ord as (select distinct order_id, customer_id, ordered_at from orders
                  where order_id is not null and ordered_at <= {e}
                  and status in ('completed', 'cancelled', 'returned')),
                items as (
                  select pm.person_id, sum(i.quantity * i.unit_price - i.discount) revenue,
                         count(*) filter (where i.discount > 0) n_disc, count(*) n_lines
                  from order_items i join ord using (order_id) join pm using (customer_id)
                  where i.unit_price >= 0 and i.quantity > 0 group by 1),
                ords as (select pm.person_id, count(*) n, max(ordered_at) last
                  from ord join pm using (customer_id) group by 1),
                web as (select pm.person_id, count(*) n from web_events
                  join pm using (customer_id) group by 1),
                abandoned as (select pm.person_id, count(*) n from web_events a
                  join pm using (customer_id) where a.event_type = 'add_to_cart'
                  and not exists (select 1 from web_events p where p.event_type = 'purchase'
                    and p.anonymous_id = a.anonymous_id and p.occurred_at > a.occurred_at
                    and p.occurred_at <= a.occurred_at + interval 30 minute)
                  group by 1),
                mail as (select pm.person_id, count(*) filter (where event_type = 'open') opens
                  from email_events join pm using (customer_id) group by 1),
                cust as (select pm.person_id, min(signup_at) signup
                  from customers join pm using (customer_id) group by 1)
                select p.persona, avg(coalesce(ords.n, 0)), avg(coalesce(items.revenue, 0)),
                       sum(items.n_disc) / sum(items.n_lines), avg(coalesce(web.n, 0)),
                       avg(coalesce(abandoned.n, 0)),
                       avg(coalesce(mail.opens, 0)),
                       max(datediff('day', cust.signup, {e})),
                       min(datediff('day', ords.last, {e}))
                from (select distinct person_id, persona from pm) p
                left join ords using (person_id) left join items using (person_id)
                left join web using (person_id) left join mail using (person_id)
                left join cust using (person_id) left join abandoned using (person_id)
                group by 1"""
        ).fetchall()
    }
    orders, revenue, disc, web, abandon, opens, signup_age, recency = (
        {p: v[i] for p, v in stats.items()} for i in range(8)
    )
    assert max(orders, key=orders.get) == "loyal_high_spender"
    assert max(revenue, key=revenue.get) == "loyal_high_spender"
    # bargain hunters: most lines discounted; everybody else: few (pooled, small samples)
    pooled = con.execute(
        """select t.persona = 'bargain_hunter', avg((i.discount > 0)::int)
           from order_items i join (select distinct order_id, customer_id from orders) o
           using (order_id) join customers_truth t using (customer_id)
           where i.quantity > 0 and i.unit_price >= 0 group by 1"""
    ).fetchall()
    shares = dict(pooled)
    assert shares[True] > 0.6 and shares[False] < 0.15, shares
    assert disc["bargain_hunter"] == max(v for v in disc.values() if v is not None)
    assert max(abandon, key=abandon.get) == "window_shopper"
    assert web["window_shopper"] > 2 * web["email_reader"]
    assert orders["window_shopper"] < 0.5 and orders["email_reader"] < 0.5
    assert max(opens, key=opens.get) == "email_reader"
    assert signup_age["new_customer"] <= 30
    assert recency["lapsing"] >= min(90, 0.35 * DAYS) - 1
    assert orders["one_time_buyer"] == 1


def test_rejects_bad_arguments(tmp_path) -> None:
    with pytest.raises(ValueError):
        generate(0, 10, 1, END, tmp_path / "raw", progress=False)
    with pytest.raises(ValueError):
        generate(10, 10, 1, END, tmp_path / "raw", tmp_path / "raw", progress=False)
    with pytest.raises(ValueError):
        generate(10, 10, 1, END, tmp_path / "raw", tmp_path / "raw" / "truth", progress=False)
    with pytest.raises(ValueError):
        generate(10, 0, 1, END, tmp_path / "raw", progress=False)


def test_end_defaults_to_now(tmp_path, capsys) -> None:
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    rows = generate(30, 5, 1, None, tmp_path / "raw", progress=True)
    after = datetime.now(UTC).replace(tzinfo=None)
    assert rows["customers"] >= 30
    assert "[generate]" in capsys.readouterr().err
    c = duckdb.connect()
    newest = _one(
        c,
        f"select max(received_at) from read_parquet('{tmp_path}/raw/web_events.parquet') "
        f"where occurred_at <= timestamp '{after.isoformat(sep=' ')}'",
    )
    assert before - timedelta(hours=1) <= newest <= after


def test_tiny_run_without_browse_sessions(tmp_path) -> None:
    """30 customers over 5 days can draw no browse session at all (this end did): the
    generator must still write the data, not fail on an empty array."""
    rows = generate(30, 5, 1, datetime(2026, 11, 24, 13, 40, 17), tmp_path / "raw", progress=False)
    assert rows["customers"] >= 30
