"""The project builds green on the real UCI Online Retail data (transactions only)."""

from __future__ import annotations

import duckdb
import pandas as pd

from conftest import ONLINE_RETAIL, Build


def _with_customer() -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute(
            f"""
            select
                cast(cast("CustomerID" as bigint) as varchar) as customer_id,
                "InvoiceNo" as invoice,
                "Quantity" * "UnitPrice" as line_value
            from read_parquet('{ONLINE_RETAIL}')
            where "CustomerID" is not null
            """
        ).df()
    finally:
        con.close()


def test_every_customer_and_invoice_arrives(online_retail_build: Build) -> None:
    lines = _with_customer()
    assert online_retail_build.scalar("select count(*) from core.dim_customers") == (
        lines.customer_id.nunique()
    )
    assert online_retail_build.scalar("select count(*) from core.fct_orders") == (
        lines.invoice.nunique()
    )
    cancelled = online_retail_build.scalar(
        "select count(*) from core.fct_orders where status = 'cancelled'"
    )
    assert cancelled == lines.loc[lines.invoice.str.startswith("C"), "invoice"].nunique()


def test_net_revenue_equals_the_sum_of_invoice_lines(online_retail_build: Build) -> None:
    # Sales count, credit-note ('C') lines are refunds: net = sum(quantity * price).
    expected = _with_customer().groupby("customer_id")["line_value"].sum()
    actual = online_retail_build.query(
        "select person_id, cast(net_revenue as double) as net_revenue from core.dim_customers"
    ).set_index("person_id")["net_revenue"]
    diff = (actual - expected.reindex(actual.index)).abs()
    assert diff.max() < 0.05, diff.sort_values().tail()


def test_nothing_is_quarantined_and_optional_tables_are_empty(online_retail_build: Build) -> None:
    assert online_retail_build.scalar("select count(*) from audit.audit_rejected_rows") == 0
    assert online_retail_build.scalar("select count(*) from core.fct_email_engagement") == 0
    assert online_retail_build.scalar("select count(*) from staging.stg_raw__web_events") == 0
