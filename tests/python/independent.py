"""Independent pandas re-computations from the raw files, shared by the end-to-end tests.

They use the generator's ground truth to drop planted bad rows and plain pandas for the
rest, so they share no code with the dbt models they check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def valid_rows(
    raw_dir: Path, table: str, key: list[str], broken: pd.DataFrame, order: str | None
) -> pd.DataFrame:
    """Rows of a raw table minus planted bad rows; with ``order``, the latest per key."""
    frame = pd.read_parquet(raw_dir / f"{table}.parquet").dropna(subset=key)
    bad = set(broken.loc[broken.table_name == table, "record_key"].dropna())
    record_key = (
        frame[key[0]] if len(key) == 1 else frame.order_id + "-" + frame.line_number.astype(str)
    )
    frame = frame[~record_key.isin(bad)]
    if order:
        return frame.sort_values(order).drop_duplicates(key, keep="last")
    return frame.drop_duplicates(key)


def orders_with_net(raw_dir: Path, broken: pd.DataFrame) -> pd.DataFrame:
    """Latest valid orders with sold, refund and net revenue: sold lines count for completed
    orders only, refund (negative) lines always."""
    orders = valid_rows(raw_dir, "orders", ["order_id"], broken, "updated_at")
    items = valid_rows(raw_dir, "order_items", ["order_id", "line_number"], broken, None)
    value = items.quantity.astype(float) * items.unit_price.astype(float)
    discount = items.discount.fillna(0).astype(float)
    items = items.assign(
        sold=(value - discount).where(items.quantity > 0, 0.0),
        refund=(-value - discount).where(items.quantity < 0, 0.0),
    )
    orders = orders.join(items.groupby("order_id")[["sold", "refund"]].sum(), on="order_id")
    orders = orders.fillna({"sold": 0.0, "refund": 0.0})
    orders["completed"] = orders.status == "completed"
    orders["net"] = orders.sold.where(orders.completed, 0.0) - orders.refund
    return orders


def people(raw_dir: Path, broken: pd.DataFrame) -> pd.Series:
    """customer_id -> person_id by normalised e-mail (a null e-mail never merges)."""
    customers = valid_rows(raw_dir, "customers", ["customer_id"], broken, "updated_at")
    email = customers.email.str.strip().str.lower().replace("", np.nan)
    anchor = customers.customer_id.groupby(email).transform("min")
    return pd.Series(anchor.fillna(customers.customer_id).values, index=customers.customer_id)
