"""Tests for the UCI Online Retail importer (src/segmentation/importers/online_retail.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentation.contract import SCHEMAS, TABLES
from segmentation.importers.online_retail import ImportReport, import_online_retail

# the shared data sets sit beside the checkout: <work>/shared/datasets, the repo is <work>/main.
REAL_FILE = (
    Path(__file__).resolve().parents[3] / "shared/datasets/online_retail/online_retail.parquet"
)

NAN = float("nan")
COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
# One row per invoice line, in file order (UK local times).
ROWS = [
    (
        "100001",
        "85123A",
        "WHITE HANGING HEART ",
        6,
        "2011-01-10 10:00",
        2.55,
        17850.0,
        "United Kingdom",
    ),
    ("100003", "22111", "NO CUSTOMER", 1, "2011-01-10 11:00", 4.25, NAN, "United Kingdom"),
    ("100001", " 71053 ", None, 2, "2011-01-10 10:00", 3.39, 17850.0, "United Kingdom"),
    ("100001", "POST", "POSTAGE", 1, "2011-01-10 10:00", 18.0, 17850.0, "United Kingdom"),
    ("100001", "22112", "FREE GIFT", 1, "2011-01-10 10:00", 0.0, 17850.0, "United Kingdom"),
    (
        "C100002",
        "85123A",
        "WHITE HANGING HEART",
        -2,
        "2011-06-01 10:00",
        2.95,
        17850.0,
        "United Kingdom",
    ),
    ("100003", "22112", "NO CUSTOMER", 1, "2011-01-10 11:00", 1.0, NAN, "United Kingdom"),
    ("100004", "   ", None, 1, "2011-02-01 09:00", 1.0, 12347.0, "Iceland"),
    ("100005", "71053", "WHITE METAL LANTERN", 4, "2011-03-01 12:00", 3.75, 12347.0, "Norway"),
    (
        "100005",
        "85123A",
        "WHITE HANGING HEART",
        1,
        "2011-03-01 12:00",
        2.55,
        17850.0,
        "United Kingdom",
    ),
    ("100006", "71053", "white metal lantern", 1, "2011-10-30 01:30", 3.39, 12347.0, "Norway"),
    ("100007", "85123A", "NO CUSTOMER, LATEST", 1, "2011-12-20 09:00", 2.55, NAN, "United Kingdom"),
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportReport, Path]:
    tmp = tmp_path_factory.mktemp("online_retail")
    df = pd.DataFrame(ROWS, columns=COLUMNS)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df["Quantity"] = df["Quantity"].astype("int64")
    src = tmp / "online_retail.parquet"
    df.to_parquet(src, index=False)
    out = tmp / "raw"
    return import_online_retail(src, out), out


def read(out: Path, table: str) -> pd.DataFrame:
    return pq.read_table(out / f"{table}.parquet").to_pandas()


def test_every_table_follows_the_contract(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    for table in TABLES:
        schema = pq.read_schema(out / f"{table}.parquet")
        assert schema.equals(SCHEMAS[table], check_metadata=False), table
    for table in ("web_events", "email_events", "email_campaigns", "consents"):
        assert pq.read_metadata(out / f"{table}.parquet").num_rows == 0


def test_report_counts(small: tuple[ImportReport, Path]) -> None:
    report, _ = small
    assert report.lines_read == len(ROWS)
    assert report.lines_imported == 9
    assert report.lines_without_customer == 3
    assert report.invoices_without_customer == 2  # 100003 and 100007
    assert report.invoices == 5
    assert report.cancelled_invoices == 1
    assert report.mixed_customer_invoices == 1  # 100005
    assert report.customers == 2
    assert report.products == 4  # 85123A, 71053, POST, 22112 (blank code is not a product)
    assert report.non_product_lines == 1
    assert report.zero_price_lines == 1
    assert report.return_lines == 1
    assert report.blank_stock_code_lines == 1
    assert report.dst_ambiguous_lines == 1  # 2011-10-30 01:30 happens twice in London


def test_cancelled_invoice_and_return_line(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    orders = read(out, "orders").set_index("order_id")
    assert orders.loc["C100002", "status"] == "cancelled"
    assert set(orders.drop(index="C100002")["status"]) == {"completed"}
    assert set(orders["currency"]) == {"GBP"}
    assert (orders["updated_at"] == orders["ordered_at"]).all()
    items = read(out, "order_items")
    ret = items[items["order_id"] == "C100002"]
    assert ret["quantity"].tolist() == [-2]
    assert ret["unit_price"].tolist() == [Decimal("2.9500")]


def test_missing_customer_lines_are_not_imported(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    orders = read(out, "orders")
    assert not {"100003", "100007"} & set(orders["order_id"])
    assert set(read(out, "customers")["customer_id"]) == {"17850", "12347"}
    assert orders["customer_id"].notna().all()


def test_uk_time_is_converted_to_utc(small: tuple[ImportReport, Path]) -> None:
    report, out = small
    at = read(out, "orders").set_index("order_id")["ordered_at"]
    assert at["100001"] == pd.Timestamp("2011-01-10 10:00")  # GMT = UTC
    assert at["C100002"] == pd.Timestamp("2011-06-01 09:00")  # BST = UTC+1
    assert at["100006"] == pd.Timestamp("2011-10-30 00:30")  # ambiguous hour: read as BST
    # as_of follows the last *imported* invoice, not the customer-less one on 12-20.
    assert report.as_of == datetime(2011, 10, 31)


def test_order_items_lines(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    items = read(out, "order_items")
    first = items[items["order_id"] == "100001"].sort_values("line_number")
    assert first["line_number"].tolist() == [1, 2, 3, 4]
    assert first["product_id"].tolist() == ["85123A", "71053", "POST", "22112"]
    assert first["unit_price"].tolist()[-1] == Decimal("0")  # zero price kept
    assert (items["discount"] == Decimal("0")).all()
    blank = items[items["order_id"] == "100004"]
    assert blank["product_id"].isna().all()


def test_mixed_invoice_takes_the_first_lines_customer(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    orders = read(out, "orders").set_index("order_id")
    assert orders.loc["100005", "customer_id"] == "12347"
    items = read(out, "order_items")
    assert (items["order_id"] == "100005").sum() == 2


def test_customers(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    customers = read(out, "customers").set_index("customer_id")
    c = customers.loc["17850"]
    assert c["country"] == "United Kingdom"
    assert c["signup_at"] == pd.Timestamp("2011-01-10 10:00")
    assert c["updated_at"] == pd.Timestamp("2011-06-01 09:00")
    # 12347: Iceland once, Norway on two invoices -> Norway.
    assert customers.loc["12347", "country"] == "Norway"
    assert customers[["email", "first_name", "last_name", "gender", "city"]].isna().all().all()


def test_country_tie_goes_to_the_latest_invoice(tmp_path: Path) -> None:
    rows = [
        ("1", "10001", "A", 1, "2011-01-01 10:00", 1.0, 1.0, "Spain"),
        ("2", "10001", "A", 1, "2011-02-01 10:00", 1.0, 1.0, "France"),
        ("3", "10001", "A", 1, "2011-01-15 10:00", 1.0, 1.0, "Spain"),
        ("3", "10002", "B", 1, "2011-01-15 10:00", 1.0, 1.0, "Spain"),  # same invoice
        ("4", "10001", "A", 1, "2011-03-01 10:00", 1.0, 1.0, "France"),
    ]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df.to_parquet(tmp_path / "in.parquet", index=False)
    import_online_retail(tmp_path / "in.parquet", tmp_path / "raw")
    # two invoices each (lines do not count twice); France has the latest invoice.
    assert read(tmp_path / "raw", "customers")["country"].tolist() == ["France"]


def test_products(small: tuple[ImportReport, Path]) -> None:
    _, out = small
    products = read(out, "products").set_index("product_id")
    assert products.loc["POST", "category"] == "non_product"
    assert set(products.drop(index="POST")["category"]) == {"product"}
    heart = products.loc["85123A"]
    assert heart["product_name"] == "WHITE HANGING HEART"  # trimmed, most frequent
    # imported prices 2.55, 2.95 (the return line), 2.55 -> median 2.55
    assert heart["price"] == Decimal("2.5500")
    assert heart["updated_at"] == pd.Timestamp("2011-06-01 09:00")
    # 71053: one null and two different names once each -> the latest seen wins.
    assert products.loc["71053", "product_name"] == "white metal lantern"
    # 22112 has only a zero price among imported lines: no median price.
    assert pd.isna(products.loc["22112", "price"])


def test_summary_tells_the_dbt_command(small: tuple[ImportReport, Path]) -> None:
    report, _ = small
    text = report.summary()
    assert "dbt build --vars '{as_of: \"2011-10-31 00:00:00\"}'" in text
    assert "not imported" in text


def test_nan_customer_ids_and_messy_types(tmp_path: Path) -> None:
    """NaN (not null) customer ids and prices, null stock codes and descriptions, ns times."""
    table = pa.table(
        {
            "InvoiceNo": ["1", "1", "2", "3"],
            "StockCode": ["10001", None, "M", "10001"],
            "Description": [None, None, None, "X"],
            "Quantity": pa.array([1, 2, 3, 4], pa.int64()),
            "InvoiceDate": pa.array(
                [datetime(2011, 7, 1, 12), datetime(2011, 7, 1, 12)] * 2, pa.timestamp("ns")
            ),
            "UnitPrice": [1.0, 2.0, NAN, 0.5],
            "CustomerID": pa.array([17850.0, 17850.0, NAN, 12.0], pa.float64(), from_pandas=False),
            "Country": ["United Kingdom"] * 4,
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    report = import_online_retail(tmp_path / "in.parquet", tmp_path / "raw")
    assert report.lines_imported == 3
    assert report.lines_without_customer == 1
    products = read(tmp_path / "raw", "products").set_index("product_id")
    assert products.loc["10001", "product_name"] == "X"
    assert set(read(tmp_path / "raw", "customers")["customer_id"]) == {"17850", "12"}


def test_no_customer_at_all_writes_empty_tables(tmp_path: Path) -> None:
    df = pd.DataFrame([ROWS[1]], columns=COLUMNS)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df.to_parquet(tmp_path / "in.parquet", index=False)
    report = import_online_retail(tmp_path / "in.parquet", tmp_path / "raw")
    assert report.as_of is None
    assert report.invoices == 0
    assert pq.read_metadata(tmp_path / "raw" / "orders.parquet").num_rows == 0
    assert "nothing to build" in report.summary()


@pytest.mark.skipif(not REAL_FILE.exists(), reason="UCI Online Retail file not available")
def test_real_file(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    report = import_online_retail(REAL_FILE, out)

    assert report.lines_read == 541_909
    assert report.lines_imported + report.lines_without_customer == 541_909
    assert report.as_of == datetime(2011, 12, 10)
    assert "dbt build --vars '{as_of: \"2011-12-10 00:00:00\"}'" in report.summary()
    # Facts of this file, widely quoted for it.
    assert report.lines_imported == 406_829
    assert report.customers == 4_372
    assert report.invoices == 22_190
    assert report.products == 3_684
    assert 0 < report.cancelled_invoices < report.invoices
    assert report.return_lines > 0 and report.non_product_lines > 0

    for table in TABLES:
        assert pq.read_schema(out / f"{table}.parquet").equals(
            SCHEMAS[table], check_metadata=False
        ), table
    orders = pq.read_table(out / "orders.parquet").to_pandas()
    items = pq.read_table(out / "order_items.parquet", columns=["order_id", "line_number"])
    customers = pq.read_table(out / "customers.parquet").to_pandas()
    products = pq.read_table(out / "products.parquet").to_pandas()

    assert len(orders) == report.invoices and orders["order_id"].is_unique
    assert items.num_rows == report.lines_imported
    assert len(customers) == report.customers and customers["customer_id"].is_unique
    assert len(products) == report.products and products["product_id"].is_unique
    assert (orders["status"] == "cancelled").sum() == report.cancelled_invoices
    assert set(orders["customer_id"]) == set(customers["customer_id"])
    assert not items.to_pandas().duplicated().any()
    assert orders["ordered_at"].max() < pd.Timestamp(report.as_of)
    # BST: a summer invoice is one hour earlier in UTC (536365 is winter, unchanged).
    at = orders.set_index("order_id")["ordered_at"]
    assert at["536365"] == pd.Timestamp("2010-12-01 08:26")
    assert at["573153"] == pd.Timestamp("2011-10-28 06:39")
    assert report.seconds < 20
