"""The raw data contract (DESIGN.md section 2) as Arrow schemas.

The generator and every importer write exactly these tables and types; the dbt
sources in ``models/staging/raw/_raw__sources.yml`` describe the same columns.
Timestamps are naive UTC, money is decimal(18, 4).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MONEY = pa.decimal128(18, 4)  # unit prices can carry sub-penny values
TS = pa.timestamp("us")

SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("email", pa.string()),
            ("first_name", pa.string()),
            ("last_name", pa.string()),
            ("birth_date", pa.date32()),
            ("gender", pa.string()),
            ("city", pa.string()),
            ("country", pa.string()),
            ("signup_at", TS),
            ("updated_at", TS),
        ]
    ),
    "products": pa.schema(
        [
            ("product_id", pa.string()),
            ("product_name", pa.string()),
            ("category", pa.string()),
            ("brand", pa.string()),
            ("price", MONEY),
            ("updated_at", TS),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("ordered_at", TS),
            ("status", pa.string()),
            ("currency", pa.string()),
            ("updated_at", TS),
        ]
    ),
    "order_items": pa.schema(
        [
            ("order_id", pa.string()),
            ("line_number", pa.int32()),
            ("product_id", pa.string()),
            ("quantity", pa.int32()),
            ("unit_price", MONEY),
            ("discount", MONEY),
        ]
    ),
    "web_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("anonymous_id", pa.string()),
            ("customer_id", pa.string()),
            ("event_type", pa.string()),
            ("product_id", pa.string()),
            ("page_url", pa.string()),
            ("occurred_at", TS),
            ("received_at", TS),
        ]
    ),
    "email_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("customer_id", pa.string()),
            ("campaign_id", pa.string()),
            ("event_type", pa.string()),
            ("occurred_at", TS),
            ("received_at", TS),
        ]
    ),
    "email_campaigns": pa.schema(
        [
            ("campaign_id", pa.string()),
            ("campaign_name", pa.string()),
            ("subject", pa.string()),
            ("sent_at", TS),
        ]
    ),
    "consents": pa.schema(
        [
            ("customer_id", pa.string()),
            ("channel", pa.string()),
            ("status", pa.string()),
            ("changed_at", TS),
            ("source", pa.string()),
        ]
    ),
}

TABLES: tuple[str, ...] = tuple(SCHEMAS)
REQUIRED_TABLES: tuple[str, ...] = ("customers", "orders", "order_items")

ORDER_STATUSES = ("completed", "cancelled", "returned")
WEB_EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "purchase",
)
EMAIL_EVENT_TYPES = (
    "sent",
    "delivered",
    "open",
    "click",
    "bounce",
    "unsubscribe",
    "spam_complaint",
)

# Reason codes shared by the generator's ground truth and the quarantine model
# (stg_raw__rejected_rows). One reason per row, checked in this order.
REJECT_REASONS = (
    "null_key",  # primary/natural key or a required foreign key is null
    "unknown_event_type",  # event_type / status / channel outside the contract
    "negative_price",  # price or unit_price below zero
    "future_timestamp",  # event/order/signup time after as_of
)


def write_table(table: str, data: pa.Table, out_dir: Path | str) -> Path:
    """Write one raw table as ``<out_dir>/<table>.parquet``, cast to the contract."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{table}.parquet"
    pq.write_table(data.select(SCHEMAS[table].names).cast(SCHEMAS[table]), path)
    return path


def empty_table(table: str) -> pa.Table:
    """A zero-row table with the contract schema (optional tables may be empty)."""
    return SCHEMAS[table].empty_table()
