"""End to end: generated raw data -> dbt build -> checks against independent computations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from segmentation.contract import TABLES

from conftest import Build, build, run_dbt
from independent import orders_with_net

KEY_COLUMNS = {
    "customers": ["customer_id"],
    "products": ["product_id"],
    "orders": ["order_id"],
    "order_items": ["order_id", "line_number"],
    "web_events": ["event_id"],
    "email_events": ["event_id"],
    "email_campaigns": ["campaign_id"],
    "consents": ["customer_id", "channel", "changed_at"],
}


def _raw(build_: Build, table: str) -> pd.DataFrame:
    return pd.read_parquet(build_.raw_dir / f"{table}.parquet")


def test_every_raw_row_is_staged_rejected_or_a_counted_duplicate(generated_build: Build) -> None:
    audit = generated_build.query("select * from audit.audit_raw_rows").set_index("source_table")
    assert set(audit.index) == set(TABLES)
    for table in TABLES:
        raw_rows = pq.ParquetFile(generated_build.raw_dir / f"{table}.parquet").metadata.num_rows
        staged = generated_build.scalar(f"select count(*) from staging.stg_raw__{table}")
        rejected = generated_build.scalar(
            f"select count(*) from audit.audit_rejected_rows where source_table = '{table}'"
        )
        row = audit.loc[table]
        assert row.raw_rows == raw_rows, table
        assert row.staged_rows == staged, table
        assert row.rejected_rows == rejected, table
        assert staged + rejected + row.duplicate_rows == raw_rows, table


def test_staged_keys_are_unique_and_cover_every_valid_raw_key(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    broken = truth["broken_rows"]
    for table, keys in KEY_COLUMNS.items():
        raw = _raw(generated_build, table)
        staged = generated_build.query(f"select * from staging.stg_raw__{table}")
        assert not staged.duplicated(keys).any(), table
        bad_keys = set(broken.loc[broken.table_name == table, "record_key"].dropna())
        raw = raw.dropna(subset=keys)
        if table == "order_items":
            raw_key = raw.order_id + "-" + raw.line_number.astype(str)
        elif table == "consents":
            raw_key = (
                raw.customer_id
                + "-"
                + raw.channel
                + "-"
                + raw.changed_at.dt.strftime("%Y-%m-%dT%H:%M:%S")
            )
        else:
            raw_key = raw[keys[0]]
        expected = raw[~raw_key.isin(bad_keys)].drop_duplicates(keys)
        assert len(staged) == len(expected), table


def test_planted_duplicates_are_collapsed_and_counted(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    planted = truth["planted_duplicates"].groupby("table_name")["extra_copies"].sum()
    audit = generated_build.query("select * from audit.audit_raw_rows").set_index("source_table")
    assert planted.sum() > 0
    for table in TABLES:
        assert audit.loc[table, "duplicate_rows"] == planted.get(table, 0), table


def test_latest_version_of_a_record_wins(generated_build: Build) -> None:
    raw = _raw(generated_build, "customers").dropna(subset=["customer_id"])
    latest = raw.groupby("customer_id")["updated_at"].max()
    staged = generated_build.query(
        "select customer_id, updated_at from staging.stg_raw__customers"
    ).set_index("customer_id")["updated_at"]
    repeated = raw.customer_id[raw.customer_id.duplicated()].unique()
    assert len(repeated) > 0, "the generator should plant profile updates"
    pd.testing.assert_series_equal(
        staged.loc[repeated].sort_index(), latest.loc[repeated].sort_index(), check_names=False
    )
    raw_orders = _raw(generated_build, "orders").dropna(subset=["order_id"])
    changed = raw_orders[raw_orders.order_id.duplicated(keep=False)]
    assert len(changed) > 0, "the generator should plant order status changes"
    expected = changed.sort_values("updated_at").drop_duplicates("order_id", keep="last")
    staged_orders = generated_build.query(
        "select order_id, status from staging.stg_raw__orders"
    ).set_index("order_id")["status"]
    for order_id, status in zip(expected.order_id, expected.status, strict=True):
        assert staged_orders.get(order_id) == status


def test_emails_are_trimmed_and_lower_cased(generated_build: Build) -> None:
    emails = generated_build.query(
        "select email from staging.stg_raw__customers where email is not null"
    )["email"]
    assert (emails == emails.str.strip().str.lower()).all()
    raw = _raw(generated_build, "customers")["email"].dropna()
    assert (raw != raw.str.strip().str.lower()).any(), "the generator should plant messy e-mails"


def test_each_planted_bad_row_is_quarantined_with_its_reason(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    broken = truth["broken_rows"]
    assert set(broken.reason_code) >= {
        "null_key",
        "unknown_event_type",
        "negative_price",
        "future_timestamp",
    }
    quarantined = generated_build.query(
        "select source_table, record_key, reject_reason from audit.audit_rejected_rows"
    )
    expected_counts = broken.groupby(["table_name", "reason_code"]).size()
    actual_counts = quarantined.groupby(["source_table", "reject_reason"]).size()
    actual_counts.index.names = expected_counts.index.names
    pd.testing.assert_series_equal(
        actual_counts.sort_index(), expected_counts.sort_index(), check_names=False
    )
    keyed = broken.dropna(subset=["record_key"])
    expected = set(zip(keyed.table_name, keyed.record_key, keyed.reason_code, strict=True))
    actual = set(
        zip(
            quarantined.source_table,
            quarantined.record_key,
            quarantined.reject_reason,
            strict=True,
        )
    )
    assert expected <= actual
    assert (
        generated_build.scalar(
            "select count(*) from audit.audit_rejected_rows where raw_record is null"
        )
        == 0
    )


def _independent_net_revenue(raw_dir: Path, broken: pd.DataFrame) -> pd.Series:
    """Net revenue per customer_id straight from the raw files, in pandas."""
    return orders_with_net(raw_dir, broken).groupby("customer_id")["net"].sum()


def test_net_revenue_per_customer_matches_pandas(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    expected = _independent_net_revenue(generated_build.raw_dir, truth["broken_rows"])
    per_customer = generated_build.query(
        "select customer_id, sum(cast(net_revenue as double)) as net_revenue "
        "from core.fct_orders group by customer_id"
    ).set_index("customer_id")["net_revenue"]
    assert (per_customer > 0).sum() > 100
    diff = (per_customer - expected.reindex(per_customer.index).fillna(0.0)).abs()
    assert diff.max() < 0.05, diff.sort_values().tail()
    assert set(expected.index) == set(per_customer.index)

    # dim_customers (one row per person) holds the sum over the person's source records
    mapping = generated_build.query(
        "select customer_id, person_id from intermediate.int_customers_merged"
    ).set_index("customer_id")["person_id"]
    per_person = expected.groupby(mapping.reindex(expected.index)).sum()
    dim = generated_build.query(
        "select person_id, cast(net_revenue as double) as net_revenue from core.dim_customers"
    ).set_index("person_id")["net_revenue"]
    diff = (dim - per_person.reindex(dim.index).fillna(0.0)).abs()
    assert diff.max() < 0.05, diff.sort_values().tail()


def test_email_engagement_grain_and_counts(generated_build: Build) -> None:
    raw = _raw(generated_build, "email_events")
    staged = generated_build.query("select * from staging.stg_raw__email_events")
    opens = staged[staged.event_type == "open"].groupby(["customer_id", "campaign_id"]).size()
    fct = generated_build.query(
        "select customer_id, campaign_id, open_count, is_opened, is_clicked "
        "from core.fct_email_engagement"
    ).set_index(["customer_id", "campaign_id"])
    assert len(raw) > 0 and len(fct) > 0
    assert (fct.open_count.reindex(opens.index) == opens).all()
    assert not (fct.is_clicked & ~fct.is_opened).any()


def test_built_numbers_fit_64_bits(generated_build: Build) -> None:
    """DuckDB widens sums to 128 bits (HUGEINT, DECIMAL(38)); Spark has no HUGEINT, most BI
    drivers read neither, and they are slower to aggregate and store: models cast back."""
    wide = generated_build.query(
        """
        select database_name, schema_name, table_name, column_name, data_type
        from duckdb_columns()
        where schema_name <> 'raw' and not internal
          and (data_type in ('HUGEINT', 'UHUGEINT')
               or try_cast(regexp_extract(data_type, '^DECIMAL\\((\\d+),', 1) as integer) > 18)
        """
    )
    assert wide.empty, wide.to_string()


def _restructure(src: Path, dst: Path) -> None:
    """Copy src as a variant: web_events split into one file per day in nested folders,
    e-mail and consent tables missing entirely."""
    dst.mkdir(parents=True)
    for table in ("customers", "products", "orders", "order_items"):
        shutil.copy(src / f"{table}.parquet", dst / f"{table}.parquet")
    web = pd.read_parquet(src / "web_events.parquet")
    day = web.occurred_at.dt.strftime("%Y-%m-%d").fillna("unknown")
    for value, part in web.groupby(day):
        folder = dst / "web_events" / f"month={value[:7]}"
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / f"{value}.parquet", index=False)


@pytest.mark.slow
def test_partitioned_folders_and_missing_optional_tables(
    generated_build: Build, tmp_path: Path
) -> None:
    _restructure(generated_build.raw_dir, tmp_path / "raw")
    variant = build(tmp_path / "raw", tmp_path / "work")
    assert variant.returncode == 0, variant.output[-5000:]
    assert variant.scalar("select count(*) from staging.stg_raw__web_events") == (
        generated_build.scalar("select count(*) from staging.stg_raw__web_events")
    )
    assert variant.scalar("select count(*) from staging.stg_raw__email_events") == 0
    assert variant.scalar("select count(*) from core.fct_email_engagement") == 0
    assert (
        variant.scalar(
            "select count(*) from core.dim_customers where email_consent_status <> 'unknown'"
        )
        == 0
    )


def test_missing_required_table_fails_with_a_clear_message(
    generated_build: Build, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(generated_build.raw_dir / "orders.parquet", raw / "orders.parquet")
    result = build(raw, tmp_path / "work")
    assert result.returncode != 0
    assert "Raw table 'customers' is required but not found" in result.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("3.7 GiB", "3.7 GiB")),
        ({"SEGMENTATION_MEMORY_LIMIT": "1GB"}, ("953.6 MiB", "953.6 MiB")),
        (
            {"SEGMENTATION_MEMORY_LIMIT": "1GB", "SEGMENTATION_BLOCK_ALLOCATOR_MEMORY": "512MB"},
            ("953.6 MiB", "488.2 MiB"),
        ),
    ],
)
def test_duckdb_memory_settings_follow_the_environment(
    generated: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: tuple[str, str],
) -> None:
    # the block allocator keeps what DuckDB touched, so it follows the memory limit unless set
    monkeypatch.delenv("SEGMENTATION_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("SEGMENTATION_BLOCK_ALLOCATOR_MEMORY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sql = (
        "select current_setting('memory_limit') as memory_limit, "
        "current_setting('block_allocator_memory') as block_allocator_memory"
    )
    result = run_dbt(
        ["show", "--inline", sql, "--output", "json", "--quiet"],
        generated[0],
        tmp_path / "warehouse.duckdb",
        tmp_path,
        None,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (row,) = json.loads(result.stdout)["show"]
    assert (row["memory_limit"], row["block_allocator_memory"]) == expected
