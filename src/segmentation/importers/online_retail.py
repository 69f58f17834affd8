"""Import the UCI Online Retail data set into the raw data contract.

Input: one Parquet file with the UCI columns ``InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country`` (one row per invoice line,
times in UK local time, prices in GBP). Output: the eight contract tables as
``<out>/<table>.parquet`` (see :mod:`segmentation.contract`). The shop has
transactions only, so ``web_events``, ``email_events``, ``email_campaigns`` and
``consents`` are written empty.

Mapping rules
-------------
* Times: ``InvoiceDate`` is Europe/London wall-clock time (GMT in winter, BST =
  UTC+1 from the last Sunday of March to the last Sunday of October). It is
  converted to UTC and stored naive. A wall-clock time that occurs twice (the
  autumn hour) is read as the first occurrence (BST); one that does not exist (the
  spring hour) is moved to the transition instant. The real file has neither.
* Lines without a ``CustomerID`` are not imported and no customer is invented;
  they, and the invoices they form, are only counted in the report.
* ``orders``: one row per ``InvoiceNo`` with imported lines. ``customer_id`` is
  ``str(int(CustomerID))``; an invoice whose lines name several customers (none in
  the real file) takes the customer of its first line and is counted. ``ordered_at``
  is the earliest line time of the invoice (a few invoices straddle a minute
  boundary; they are counted). Invoices starting with ``C`` are ``cancelled``, all
  others ``completed``; currency ``GBP``; ``updated_at = ordered_at``.
* ``order_items``: every imported line, numbered 1..n within its invoice in file
  order; ``product_id`` is the stripped ``StockCode`` (null when blank); negative
  quantities are kept (return lines), zero prices are kept, discount is 0.
* ``customers``: one row per customer; no PII in this data set (null e-mail, names,
  birth date, gender, city). ``country`` is the country of most of the customer's
  invoices (ties: the one of the latest invoice); ``signup_at``/``updated_at`` are
  the first/last invoice times.
* ``products``: one row per stock code on an imported line. ``product_name`` is
  the most frequent non-blank description (ties: latest seen, then alphabetical),
  trimmed. ``category`` is ``non_product`` when the code does not start with a
  digit -- this catches postage, fees and adjustments (POST, DOT, M, BANK CHARGES,
  C2, D, CRUK, PADS, AMAZONFEE, S, B), gift vouchers (``gift_0001_*``) and the
  ``DCGS*`` web-shop codes -- and ``product`` otherwise (regular codes are five
  digits plus an optional letter). ``price`` is the median positive unit price,
  ``updated_at`` the last time the code was seen. Codes are not case-folded:
  ``85049a`` and ``85049A`` stay two products, as in the source.
* ``as_of``: the start of the UTC day after the last imported invoice, the value
  to pass to ``dbt build --vars '{as_of: "..."}'``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation.contract import empty_table, write_table

SOURCE_TZ = "Europe/London"
CURRENCY = "GBP"
REQUIRED_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
EMPTY_TABLES = ("web_events", "email_events", "email_campaigns", "consents")


@dataclass
class ImportReport:
    """What the import read, wrote and left out. Line counts below ``lines_imported``
    (``non_product_lines``, ``zero_price_lines``, ``return_lines``, ...) count imported
    lines only."""

    source: Path
    out_dir: Path
    lines_read: int = 0
    lines_imported: int = 0
    lines_without_customer: int = 0
    invoices_without_customer: int = 0  # distinct invoices formed by those lines
    invoices: int = 0  # = orders written
    cancelled_invoices: int = 0
    mixed_customer_invoices: int = 0  # invoices whose lines name more than one customer
    multi_time_invoices: int = 0  # invoices whose lines carry more than one time
    customers: int = 0
    products: int = 0
    non_product_lines: int = 0
    zero_price_lines: int = 0
    negative_price_lines: int = 0  # the contract's staging quarantines these
    return_lines: int = 0
    blank_stock_code_lines: int = 0  # imported with a null product_id
    dst_ambiguous_lines: int = 0  # local times that fall in a DST switch hour (all lines)
    as_of: datetime | None = None  # None only when nothing was imported
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def as_of_text(self) -> str | None:
        return None if self.as_of is None else self.as_of.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def dbt_vars(self) -> str | None:
        """The ``--vars`` argument for ``dbt build``, ready to paste."""
        return None if self.as_of is None else f"'{{as_of: \"{self.as_of_text}\"}}'"

    def summary(self) -> str:
        r = self
        lines = [
            f"Imported UCI Online Retail from {r.source} into {r.out_dir} in {r.seconds:.1f} s",
            f"  lines read            {r.lines_read:>9,}",
            f"  lines imported        {r.lines_imported:>9,}",
            f"  lines w/o customer    {r.lines_without_customer:>9,}  (not imported; "
            f"{r.invoices_without_customer:,} invoices)",
            f"  orders (invoices)     {r.invoices:>9,}  ({r.cancelled_invoices:,} cancelled)",
            f"  customers             {r.customers:>9,}",
            f"  products              {r.products:>9,}",
            f"  return lines          {r.return_lines:>9,}  (negative quantity, kept)",
            f"  zero-price lines      {r.zero_price_lines:>9,}  (kept)",
            f"  non-product lines     {r.non_product_lines:>9,}  "
            "(postage, fees, vouchers: category 'non_product')",
        ]
        notes = [
            (r.negative_price_lines, "lines with a negative price (staging will reject them)"),
            (r.blank_stock_code_lines, "lines with a blank stock code (product_id null)"),
            (r.mixed_customer_invoices, "invoices mixing customers (first line's customer)"),
            (r.multi_time_invoices, "invoices with several line times (earliest used)"),
            (r.dst_ambiguous_lines, "lines in a DST switch hour (read as BST / shifted)"),
        ]
        lines += [f"  note: {n:,} {text}" for n, text in notes if n]
        if r.as_of is None:
            lines.append("No invoice with a customer: nothing to build segments from.")
        else:
            lines.append(f"Data ends before {r.as_of_text} UTC. Build the segments as of then:")
            lines.append(f"  dbt build --vars {r.dbt_vars}")
        return "\n".join(lines)


def _read_lines(path: Path) -> pa.Table:
    """Read the source file and normalise it into the columns the SQL below uses."""
    table = pq.read_table(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: not the UCI Online Retail layout, missing columns {missing}")

    def text(name: str) -> pa.Array:
        col = pc.utf8_trim_whitespace(table[name].combine_chunks().cast(pa.string()))
        return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)

    def number(name: str) -> pa.Array:
        col = table[name].combine_chunks()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), None, col)
        col = col.cast(pa.float64())
        return pc.if_else(pc.is_nan(col), pa.scalar(None, pa.float64()), col)

    local = table["InvoiceDate"].combine_chunks()
    if pa.types.is_timestamp(local.type) and local.type.tz is not None:
        utc = local.cast(pa.timestamp("us", "UTC"))  # already zoned: trust it
        dst_ambiguous = 0
    else:
        local = local.cast(pa.timestamp("us"))
        # ambiguous (autumn) -> first occurrence (BST); nonexistent (spring) -> transition.
        utc = pc.assume_timezone(local, SOURCE_TZ, ambiguous="earliest", nonexistent="latest")
        other = pc.assume_timezone(local, SOURCE_TZ, ambiguous="latest", nonexistent="earliest")
        dst_ambiguous = pc.sum(pc.not_equal(utc, other).cast(pa.int64())).as_py() or 0
    utc = utc.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))

    lines = pa.table(
        {
            "row_no": pa.array(range(table.num_rows), pa.int64()),
            "invoice_no": text("InvoiceNo"),
            "stock_code": text("StockCode"),
            "description": text("Description"),
            "quantity": number("Quantity"),
            "ordered_at": utc,
            "unit_price": number("UnitPrice"),
            "customer_no": number("CustomerID"),
            "country": text("Country"),
        }
    )
    return lines.replace_schema_metadata({"dst_ambiguous": str(dst_ambiguous)})


_SQL_LINES = """
create temp table lines as
select
    row_no,
    invoice_no,
    stock_code as product_id,
    description,
    quantity,
    ordered_at,
    unit_price,
    cast(try_cast(trunc(customer_no) as bigint) as varchar) as customer_id,
    country
from src
"""

_SQL_ITEMS = """
create temp table items as
select
    *,
    row_number() over (partition by invoice_no order by row_no) as line_number
from lines
where customer_id is not null and invoice_no is not null
"""

_SQL_ORDERS = """
create temp table orders as
select
    invoice_no as order_id,
    arg_min(customer_id, row_no) as customer_id,
    min(ordered_at) as ordered_at,
    case when upper(invoice_no) like 'C%' then 'cancelled' else 'completed' end as status,
    '{currency}' as currency,
    min(ordered_at) as updated_at,
    count(distinct customer_id) > 1 as is_mixed_customer,
    count(distinct ordered_at) > 1 as is_multi_time
from items
group by invoice_no
"""

# Country: count the customer's invoices per country; ties go to the latest invoice.
_SQL_CUSTOMERS = """
create temp table customers as
with invoice_country as (
    select customer_id, invoice_no, country, min(ordered_at) as invoiced_at
    from items
    group by customer_id, invoice_no, country
),

country_rank as (
    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by count(*) desc, max(invoiced_at) desc, country
        ) as rn
    from invoice_country
    where country is not null
    group by customer_id, country
),

dates as (
    select customer_id, min(ordered_at) as signup_at, max(ordered_at) as updated_at
    from items
    group by customer_id
)

select
    d.customer_id,
    cast(null as varchar) as email,
    cast(null as varchar) as first_name,
    cast(null as varchar) as last_name,
    cast(null as date) as birth_date,
    cast(null as varchar) as gender,
    cast(null as varchar) as city,
    c.country,
    d.signup_at,
    d.updated_at
from dates as d
left join country_rank as c on c.customer_id = d.customer_id and c.rn = 1
order by d.customer_id
"""

_SQL_PRODUCTS = """
create temp table products as
with names as (
    select
        product_id,
        description,
        row_number() over (
            partition by product_id
            order by count(*) desc, max(ordered_at) desc, description
        ) as rn
    from items
    where product_id is not null and description is not null
    group by product_id, description
),

stats as (
    select
        product_id,
        median(unit_price) filter (where unit_price > 0) as price,
        max(ordered_at) as updated_at
    from items
    where product_id is not null
    group by product_id
)

select
    s.product_id,
    n.description as product_name,
    case
        when regexp_matches(s.product_id, '^[0-9]') then 'product' else 'non_product'
    end as category,
    cast(null as varchar) as brand,
    cast(round(s.price, 4) as decimal(18, 4)) as price,
    s.updated_at
from stats as s
left join names as n on n.product_id = s.product_id and n.rn = 1
order by s.product_id
"""

_SQL_REPORT = """
select
    (select count(*) from lines) as lines_read,
    (select count(*) from items) as lines_imported,
    (select count(*) from lines where customer_id is null) as lines_without_customer,
    (select count(distinct invoice_no) from lines where customer_id is null)
        as invoices_without_customer,
    (select count(*) from orders) as invoices,
    (select count(*) from orders where status = 'cancelled') as cancelled_invoices,
    (select count(*) from orders where is_mixed_customer) as mixed_customer_invoices,
    (select count(*) from orders where is_multi_time) as multi_time_invoices,
    (select count(*) from customers) as customers,
    (select count(*) from products) as products,
    (select count(*) from items where not regexp_matches(product_id, '^[0-9]'))
        as non_product_lines,
    (select count(*) from items where unit_price = 0) as zero_price_lines,
    (select count(*) from items where unit_price < 0) as negative_price_lines,
    (select count(*) from items where quantity < 0) as return_lines,
    (select count(*) from items where product_id is null) as blank_stock_code_lines,
    (select date_trunc('day', max(ordered_at)) + interval 1 day from orders) as as_of
"""


def import_online_retail(path: Path, out: Path) -> ImportReport:
    """Map the UCI Online Retail file at ``path`` onto the raw contract under ``out``."""
    started = time.perf_counter()
    path, out = Path(path), Path(out)
    src = _read_lines(path)
    dst_ambiguous = int(src.schema.metadata[b"dst_ambiguous"])

    con = duckdb.connect()
    try:
        con.register("src", src)
        con.execute(_SQL_LINES)
        con.execute(_SQL_ITEMS)
        con.execute(_SQL_ORDERS.format(currency=CURRENCY))
        con.execute(_SQL_CUSTOMERS)
        con.execute(_SQL_PRODUCTS)

        def fetch(sql: str) -> pa.Table:
            return con.sql(sql).to_arrow_table()

        tables = {
            "customers": fetch("select * from customers"),
            "products": fetch("select * from products"),
            "orders": fetch(
                "select order_id, customer_id, ordered_at, status, currency, updated_at "
                "from orders order by ordered_at, order_id"
            ),
            "order_items": fetch(
                "select invoice_no as order_id, cast(line_number as integer) as line_number, "
                "product_id, cast(quantity as integer) as quantity, "
                "cast(round(unit_price, 4) as decimal(18, 4)) as unit_price, "
                "cast(0 as decimal(18, 4)) as discount "
                "from items order by row_no"
            ),
        }
        cursor = con.execute(_SQL_REPORT)
        names = [d[0] for d in cursor.description]
        counts = dict(zip(names, cursor.fetchone(), strict=True))
    finally:
        con.close()

    report = ImportReport(source=path, out_dir=out, dst_ambiguous_lines=dst_ambiguous)
    for name, value in counts.items():
        setattr(report, name, value if name == "as_of" else int(value))
    for table, data in tables.items():
        report.files[table] = write_table(table, data, out)
    for table in EMPTY_TABLES:
        report.files[table] = write_table(table, empty_table(table), out)
    report.seconds = time.perf_counter() - started
    return report
