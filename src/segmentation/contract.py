"""The raw data contract as Arrow schemas, read from its one definition: the dbt source
``raw`` in ``models/staging/raw/_raw__sources.yml`` (columns and types, required tables,
accepted values). The generator and every importer write exactly these tables and types.
Timestamps are naive UTC, money is decimal(18, 4).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

MONEY = pa.decimal128(18, 4)  # unit prices can carry sub-penny values
TS = pa.timestamp("us")

SOURCES_YML = Path(__file__).resolve().parents[2] / "models/staging/raw/_raw__sources.yml"

# the contract's SQL types as Arrow types
_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int32(),
    "date": pa.date32(),
    "timestamp": TS,
    "decimal(18, 4)": MONEY,
}


def _load_sources(path: Path = SOURCES_YML) -> list[dict]:
    """The tables of the dbt source `raw`: the one definition of the contract."""
    if not path.is_file():
        raise RuntimeError(f"the raw contract {path} is missing: run from a project checkout")
    sources = yaml.safe_load(path.read_text())["sources"]
    return next(source for source in sources if source["name"] == "raw")["tables"]


def _schema(table: dict) -> pa.Schema:
    try:
        return pa.schema([(c["name"], _ARROW_TYPES[c["data_type"]]) for c in table["columns"]])
    except KeyError as missing:
        raise RuntimeError(
            f"raw.{table['name']}: data_type {missing} has no Arrow type in contract._ARROW_TYPES"
        ) from None


def _accepted_values(tables: list[dict], table: str, column: str) -> tuple[str, ...]:
    spec = next(t for t in tables if t["name"] == table)
    col = next(c for c in spec["columns"] if c["name"] == column)
    return tuple(col["config"]["meta"]["accepted_values"])


_TABLES = _load_sources()
SCHEMAS: dict[str, pa.Schema] = {t["name"]: _schema(t) for t in _TABLES}
TABLES: tuple[str, ...] = tuple(SCHEMAS)
REQUIRED_TABLES: tuple[str, ...] = tuple(
    t["name"] for t in _TABLES if t.get("config", {}).get("meta", {}).get("required")
)

ORDER_STATUSES = _accepted_values(_TABLES, "orders", "status")
WEB_EVENT_TYPES = _accepted_values(_TABLES, "web_events", "event_type")
EMAIL_EVENT_TYPES = _accepted_values(_TABLES, "email_events", "event_type")
CONSENT_STATUSES = _accepted_values(_TABLES, "consents", "status")

# Reason codes of the quarantine model (audit_rejected_rows; the generator's ground truth
# plants some of them). One reason per row, checked in this order.
REJECT_REASONS = (
    "invalid_timestamp",  # a date or timestamp that does not convert (text, out of range)
    "invalid_number",  # a number that does not convert (text, a fraction for an integer)
    "null_key",  # primary/natural key or a required foreign key is null
    "unknown_event_type",  # event_type / status / channel outside the contract
    "negative_price",  # price or unit_price below zero
    "future_timestamp",  # event/order/signup time after as_of
    "invalid_quantity",  # order line quantity zero or null, or unit price null
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
