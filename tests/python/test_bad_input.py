"""Bad input (issue 19): every case ends in a clear error naming what is wrong, or a
quarantine row with a reason, or is stored verbatim; never a silent loss, never a crash
deep inside dbt or DuckDB. The cases that build share one dirty raw directory (at a path
with spaces and quotes) and one build; each case that must stop the run gets its own raw
directory and stops at on-run-start, before any model. Outcome table: docs/bad_input.md.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from segmentation import contract
from segmentation.contract import SCHEMAS, TABLES

from conftest import PROJECT, TEST_AS_OF, TEST_END, Build, run_dbt

SQL_LIKE = "x'); drop table core.dim_customers; --"
SQL_LIKE_TEXT = "'; drop table x; --"
HUGE = "é" + "x" * (1 << 20)  # 1 MB and a bit, not ASCII-only
QUOTED_SEGMENT = 'O\'Brien "VIP" ; --'
BAD_TIMESTAMP = "yesterday at noon"


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segmentation.generate import generate

    base = tmp_path_factory.mktemp("bad_input_small")
    generate(
        customers=200,
        days=60,
        seed=3,
        end=TEST_END,
        out=base / "raw",
        truth_out=base / "truth",
        progress=False,
    )
    return base / "raw"


def _dbt(args: list[str], raw: Path, db: Path, work: Path, **vars_: object) -> Build:
    vars_ = {"as_of": TEST_AS_OF, "enable_clustering": False, **vars_}
    result = run_dbt([*args, "--vars", json.dumps(vars_)], raw, db, work, as_of=None)
    return Build(raw, db, result.returncode, result.stdout + result.stderr)


def _to_folder(raw: Path, table: str) -> Path:
    """Turn <raw>/<table>.parquet into the folder <raw>/<table>/ holding it as part-0."""
    folder = raw / table
    folder.mkdir()
    (raw / f"{table}.parquet").rename(folder / "part-0.parquet")
    return folder


def _rows(table: str, rows: list[dict], types: dict[str, pa.DataType] | None = None) -> pa.Table:
    """Rows of a raw table in the contract types, except the columns in ``types``."""
    fields = [pa.field(f.name, (types or {}).get(f.name, f.type)) for f in SCHEMAS[table]] + [
        pa.field(n, t) for n, t in (types or {}).items() if n not in SCHEMAS[table].names
    ]
    schema = pa.schema(fields)
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema)


def _customer(customer_id: str, **fields: object) -> dict:
    at = datetime(2026, 6, 1, 9, 0, 0)
    return {
        "customer_id": customer_id,
        "signup_at": at,
        "updated_at": at,
        "country": "DE",
        **fields,
    }


def _write_dirty_customers(raw: Path) -> None:
    folder = _to_folder(raw, "customers")
    placeholders = [_customer(f"NR{i:03}", email="noreply@example.com") for i in range(50)]
    placeholders += [_customer(f"EM{i:03}", email="") for i in range(50)]
    placeholders += [_customer(f"SP{i:03}", email="   ") for i in range(3)]
    people = [
        _customer("UNI1", email="  Jürgen.MÜLLER@Example.com ", first_name="Jürgen"),
        _customer("UNI2", email="jürgen.müller@example.com", first_name="Jürgen"),
        _customer("UP1", email="ANNA.ROSS@EXAMPLE.ORG"),
        _customer("UP2", email="anna.ross@example.org"),
        _customer(
            SQL_LIKE,
            email="sql@example.net",
            first_name=SQL_LIKE_TEXT,
            last_name=HUGE,
            city=SQL_LIKE_TEXT,
            gender=SQL_LIKE_TEXT,
        ),
        # two versions, same updated_at, different content, in either file order
        _customer("TIE1", email="tie1@example.net", first_name="Bert"),
        _customer("TIE2", email="tie2@example.net", first_name="Anna"),
    ]
    pq.write_table(_rows("customers", placeholders + people), folder / "part-1.parquet")
    later = [
        _customer("TIE1", email="tie1@example.net", first_name="Anna"),
        _customer("TIE2", email="tie2@example.net", first_name="Bert"),
    ]
    pq.write_table(_rows("customers", later), folder / "part-2.parquet")


def _write_dirty_orders(raw: Path) -> None:
    folder = _to_folder(raw, "orders")
    text = {"ordered_at": pa.string(), "updated_at": pa.string(), "coupon_code": pa.string()}

    def order(order_id: str, ordered_at: str) -> dict:
        return {
            "order_id": order_id,
            "customer_id": "UP1",
            "ordered_at": ordered_at,
            "status": "completed",
            "currency": "EUR",
            "updated_at": ordered_at,
            "coupon_code": SQL_LIKE_TEXT,
        }

    rows = [
        order("TXT-OK", "2026-10-01 12:00:00"),
        order("TXT-TZ", "2026-10-01T12:00:00+02:00"),
        order("TXT-BAD", BAD_TIMESTAMP),
        order("TXT-1900", "1900-01-01 00:00:00"),
        order("TXT-9999", "9999-12-31 23:59:59"),
    ]
    pq.write_table(_rows("orders", rows, text), folder / "part-1 text times.parquet")


def _write_dirty_order_items(raw: Path) -> None:
    folder = _to_folder(raw, "order_items")

    def line(order_id: str, number: int, quantity: object) -> dict:
        return {
            "order_id": order_id,
            "line_number": number,
            "product_id": None,
            "quantity": quantity,
            "unit_price": 10,
            "discount": 0,
        }

    floats = [line("TXT-OK", 1, 2.0), line("TXT-OK", 2, 2.5)]
    pq.write_table(
        _rows("order_items", floats, {"quantity": pa.float64()}), folder / "part-1 float.parquet"
    )
    texts = [line("TXT-TZ", 1, "3"), line("TXT-TZ", 2, "three"), line("TXT-TZ", 3, "")]
    pq.write_table(
        _rows("order_items", texts, {"quantity": pa.string()}), folder / "part-2 text.parquet"
    )


def _write_dirty_web_events(raw: Path) -> None:
    folder = _to_folder(raw, "web_events")
    berlin = pa.timestamp("us", tz="Europe/Berlin")
    at = datetime(2026, 11, 1, 12, 0, 0)  # naive values are UTC instants for pyarrow

    def event(event_id: str, occurred_at: datetime | None) -> dict:
        return {
            "event_id": event_id,
            "anonymous_id": "anon-tz",
            "event_type": "page_view",
            "page_url": SQL_LIKE_TEXT,
            "occurred_at": occurred_at,
            "received_at": at,
        }

    rows = [
        event("TZ-1", at),
        event("NULL-TIME", None),
        event("Y1900", datetime(1900, 1, 1)),
        event("Y9999", datetime(9999, 12, 31, 23, 59, 59)),
    ]
    pq.write_table(
        _rows("web_events", rows, {"occurred_at": berlin, "received_at": berlin}),
        folder / "part-1 berlin.parquet",
    )


def _write_dirty_products(raw: Path) -> None:
    folder = _to_folder(raw, "products")
    row = {
        "product_id": "P-HUGE",
        "product_name": HUGE,
        "category": SQL_LIKE_TEXT,
        "brand": SQL_LIKE,
        "price": 1,
        "updated_at": datetime(2026, 1, 1),
    }
    pq.write_table(_rows("products", [row]), folder / "part-1.parquet")


@pytest.fixture(scope="module")
def dirty_build(small_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    base = tmp_path_factory.mktemp("bad_input_dirty")
    raw = base / 'raw dir "with" o\'quotes'
    shutil.copytree(small_raw, raw)
    _write_dirty_customers(raw)
    _write_dirty_orders(raw)
    _write_dirty_order_items(raw)
    _write_dirty_web_events(raw)
    _write_dirty_products(raw)
    (raw / "consents.parquet").unlink()  # an optional table missing
    contract.write_table("email_campaigns", contract.empty_table("email_campaigns"), raw)
    segment = {"name": QUOTED_SEGMENT, "condition": "frequency >= 0", "priority": 900}
    db = base / "db dir" / "ware house.duckdb"
    db.parent.mkdir()
    result = _dbt(["build"], raw, db, base / "work", extra_segment_definitions=[segment])
    assert result.returncode == 0, result.output[-5000:]
    return result


def _raw_rows(raw: Path, table: str) -> int:
    path = raw / f"{table}.parquet"
    if not path.exists() and not (raw / table).exists():
        return 0
    return ds.dataset(path if path.exists() else raw / table, format="parquet").count_rows()


def test_row_audit_balances_on_dirty_input(dirty_build: Build) -> None:
    audit = dirty_build.query("select * from audit.audit_raw_rows").set_index("source_table")
    for table in TABLES:
        row = audit.loc[table]
        assert row.raw_rows == _raw_rows(dirty_build.raw_dir, table), table
        staged = dirty_build.scalar(f"select count(*) from staging.stg_raw__{table}")
        assert row.staged_rows == staged, table
        assert staged + row.rejected_rows + row.duplicate_rows == row.raw_rows, table


def _rejected(build_: Build, table: str) -> dict[str, str]:
    rows = build_.query(
        f"select record_key, reject_reason from audit.audit_rejected_rows "
        f"where source_table = '{table}'"
    )
    return dict(zip(rows.record_key, rows.reject_reason, strict=True))


def test_unparseable_values_are_quarantined_with_the_raw_record(dirty_build: Build) -> None:
    orders = _rejected(dirty_build, "orders")
    assert orders["TXT-9999"] == "future_timestamp"
    bad = dirty_build.query(
        "select reject_reason, raw_record, source_file from audit.audit_rejected_rows "
        "where source_table = 'orders' and raw_record like '%TXT-BAD%'"
    )
    assert list(bad.reject_reason) == ["invalid_timestamp"]
    record = json.loads(bad.raw_record[0])
    # the raw row as given, unknown column included
    assert record["ordered_at"] == BAD_TIMESTAMP and record["coupon_code"] == SQL_LIKE_TEXT
    assert bad.source_file[0].endswith("part-1 text times.parquet")
    assert "column(s) coupon_code not in the contract" in dirty_build.output

    items = _rejected(dirty_build, "order_items")
    assert items["TXT-OK-2"] == "invalid_number"  # 2.5 is not a quantity, and not 3
    assert items["TXT-TZ-2"] == "invalid_number"  # 'three'
    assert items["TXT-TZ-3"] == "invalid_number"  # ''
    staged = dirty_build.query(
        "select order_id || '-' || line_number as k, quantity from staging.stg_raw__order_items "
        "where order_id like 'TXT-%'"
    )
    assert dict(zip(staged.k, staged.quantity, strict=True)) == {"TXT-OK-1": 2, "TXT-TZ-1": 3}


def test_text_and_time_zone_timestamps_become_utc(dirty_build: Build) -> None:
    orders = (
        dirty_build.query(
            "select order_id, ordered_at from staging.stg_raw__orders where order_id like 'TXT-%'"
        )
        .set_index("order_id")
        .ordered_at
    )
    assert orders["TXT-OK"] == datetime(2026, 10, 1, 12)  # text without offset: UTC
    assert orders["TXT-TZ"] == datetime(2026, 10, 1, 10)  # +02:00 converted
    assert orders["TXT-1900"] == datetime(1900, 1, 1)  # old, but a valid time
    web = (
        dirty_build.query(
            "select event_id, occurred_at from staging.stg_raw__web_events "
            "where anonymous_id = 'anon-tz'"
        )
        .set_index("event_id")
        .occurred_at
    )
    # the Berlin column holds the instant 12:00 UTC, shown as 13:00 local: staged as UTC
    assert web.to_dict() == {"TZ-1": datetime(2026, 11, 1, 12), "Y1900": datetime(1900, 1, 1)}
    events = _rejected(dirty_build, "web_events")
    assert events["NULL-TIME"] == "null_key" and events["Y9999"] == "future_timestamp"


def test_optional_tables_missing_or_empty_build_empty(dirty_build: Build) -> None:
    assert "raw.consents: no data under" in dirty_build.output
    for table in ("consents", "email_campaigns"):
        assert dirty_build.scalar(f"select count(*) from staging.stg_raw__{table}") == 0


def test_placeholder_emails_do_not_merge_people(dirty_build: Build) -> None:
    merged = (
        dirty_build.query("select customer_id, person_id from intermediate.int_customers_merged")
        .set_index("customer_id")
        .person_id
    )
    for prefix in ("NR", "EM", "SP"):
        group = merged[merged.index.str.startswith(prefix)]
        assert len(group) == (3 if prefix == "SP" else 50)
        assert group.nunique() == len(group), prefix  # every record stays its own person
    assert merged["UNI1"] == merged["UNI2"]  # unicode, case and spaces: one person
    assert merged["UP1"] == merged["UP2"]
    emails = (
        dirty_build.query(
            "select customer_id, email from staging.stg_raw__customers "
            "where customer_id in ('UNI1', 'EM000', 'SP000')"
        )
        .set_index("customer_id")
        .email
    )
    assert emails["UNI1"] == "jürgen.müller@example.com"
    assert emails[["EM000", "SP000"]].isna().all()


def test_shared_email_cap_keeps_true_duplicates(small_raw: Path, dirty_build: Build) -> None:
    """The cap is the only guard for a placeholder not on the denylist; the generated
    duplicates (at most two records) still merge under the default cap."""
    cap = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"][
        "identity_email_max_records"
    ]
    merged = dirty_build.query(
        "select email, count(*) as n, count(distinct person_id) as people "
        "from intermediate.int_customers_merged inner join staging.stg_raw__customers "
        "using (customer_id) where email is not null group by email"
    )
    shared = merged[merged.n > 1]
    assert (shared[shared.n <= cap].people == 1).all()
    assert (shared[shared.n > cap].people == shared[shared.n > cap].n).all()
    assert len(shared[shared.n <= cap]) >= 3  # generated duplicates, UNI, UP


def test_tied_versions_have_a_deterministic_winner(dirty_build: Build) -> None:
    names = (
        dirty_build.query(
            "select customer_id, first_name from staging.stg_raw__customers "
            "where customer_id in ('TIE1', 'TIE2')"
        )
        .set_index("customer_id")
        .first_name
    )
    # same updated_at: the documented tie-break (smallest first name) in either file order
    assert names.to_dict() == {"TIE1": "Anna", "TIE2": "Anna"}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_huge_and_sql_like_strings_are_stored_verbatim(dirty_build: Build) -> None:
    staged = dirty_build.query(
        f"select * from staging.stg_raw__customers where customer_id = {_literal(SQL_LIKE)}"
    )
    assert len(staged) == 1
    row = staged.iloc[0]
    assert (row.first_name, row.city, row.last_name) == (SQL_LIKE_TEXT, SQL_LIKE_TEXT, HUGE)
    assert row.gender == SQL_LIKE_TEXT  # lower(trim()) leaves it as it is
    person = dirty_build.query(
        "select person_id, last_name from core.dim_customers "
        f"where first_name = {_literal(SQL_LIKE_TEXT)}"
    )
    assert list(person.person_id) == [SQL_LIKE] and person.last_name[0] == HUGE
    product = dirty_build.query(
        "select product_name, category, brand from staging.stg_raw__products "
        "where product_id = 'P-HUGE'"
    ).iloc[0]
    assert tuple(product) == (HUGE, SQL_LIKE_TEXT, SQL_LIKE)
    urls = dirty_build.query(
        "select distinct page_url from staging.stg_raw__web_events where anonymous_id = 'anon-tz'"
    )
    assert list(urls.page_url) == [SQL_LIKE_TEXT]
    # and nothing ran: the tables the strings name are there
    assert dirty_build.scalar("select count(*) from core.dim_customers") > 200


def test_segment_name_with_quotes_builds(dirty_build: Build) -> None:
    quoted = _literal(QUOTED_SEGMENT)
    definitions = dirty_build.scalar(
        f"select count(*) from segmentation.segment_definitions where segment = {quoted}"
    )
    members = dirty_build.scalar(
        f"select count(*) from segmentation.customer_segments where segment = {quoted}"
    )
    people = dirty_build.scalar("select count(*) from segmentation.customer_features")
    assert definitions == 1 and members == people


def test_new_file_under_a_quoted_path_loads_incrementally(
    dirty_build: Build, tmp_path: Path
) -> None:
    """File paths become SQL literals in the load manifest: a quote in the path must not
    break the incremental run."""
    copy = dirty_build.copy(tmp_path / "copy.duckdb")
    order = {
        "order_id": "NEW-1",
        "customer_id": "UP1",
        "ordered_at": datetime(2026, 11, 2),
        "status": "completed",
        "currency": "EUR",
        "updated_at": datetime(2026, 11, 2),
    }
    new_file = dirty_build.raw_dir / "orders" / "part-3 it's new.parquet"
    pq.write_table(_rows("orders", [order]), new_file)
    try:
        result = _dbt(["build", "-s", "+stg_raw__orders"], copy.raw_dir, copy.db_path, tmp_path)
    finally:
        new_file.unlink()
    assert result.returncode == 0, result.output[-5000:]
    assert copy.scalar("select count(*) from staging.stg_raw__orders where order_id = 'NEW-1'") == 1
    added = copy.scalar(
        "select count(*) from audit.audit_raw_files where change_type = 'added' "
        "and file_path like '%it''s new.parquet'"
    )
    assert added == 1


# --- cases that stop the run at on-run-start, naming the table and file ------------------


def _write_without_quantity(folder: Path) -> str:
    rows = pq.read_table(folder / "part-0.parquet").drop(["quantity"]).slice(0, 5)
    pq.write_table(rows, folder / "no quantity.parquet")
    return "Raw table 'order_items': file {path} has no column quantity"


def _write_empty_file(folder: Path) -> str:
    (folder / "no quantity.parquet").write_bytes(b"")
    return "Raw table 'order_items': file {path} has 0 bytes, too small to be a Parquet file"


def _write_csv(folder: Path) -> str:
    text = pq.read_table(folder / "part-0.parquet").to_pandas().to_csv(index=False)
    (folder / "no quantity.parquet").write_text(text)
    return "No magic bytes found at end of file '{path}'"


def _write_truncated(folder: Path) -> str:
    data = (folder / "part-0.parquet").read_bytes()
    (folder / "no quantity.parquet").write_bytes(data[: len(data) // 2])
    return "No magic bytes found at end of file '{path}'"


FAILING_FILES = {
    "required column missing in one file": _write_without_quantity,
    "0-byte file": _write_empty_file,
    "CSV named .parquet": _write_csv,
    "truncated Parquet": _write_truncated,
}


@pytest.fixture(scope="module")
def parse_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One target path for the failing runs: dbt's partial parse carries over."""
    return tmp_path_factory.mktemp("bad_input_parse")


@pytest.mark.parametrize("case", sorted(FAILING_FILES))
def test_bad_raw_file_stops_the_run_naming_it(
    case: str, small_raw: Path, parse_dir: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    folder = _to_folder(raw, "order_items")
    message = FAILING_FILES[case](folder).format(path=folder / "no quantity.parquet")
    result = _dbt(["build"], raw, tmp_path / "w.duckdb", parse_dir)
    assert result.returncode != 0
    assert message in result.output, result.output[-3000:]
    assert "START sql" not in result.output  # nothing was built


def test_reject_reasons_are_one_list() -> None:
    """contract.REJECT_REASONS, the quarantine's accepted values and its descriptions agree."""
    models = yaml.safe_load((PROJECT / "models/audit/_audit__models.yml").read_text())
    quarantine = next(m for m in models["models"] if m["name"] == "audit_rejected_rows")
    column = next(c for c in quarantine["columns"] if c["name"] == "reject_reason")
    accepted = column["data_tests"][1]["accepted_values"]["arguments"]["values"]
    described = re.findall(
        r"when '(\w+)' then", (PROJECT / "models/audit/audit_rejected_rows.sql").read_text()
    )
    assert list(contract.REJECT_REASONS) == accepted == described
