"""Helpers shared by the append modules: time conversions, SQL snippets, random rounding."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from segmentation import contract
from segmentation.generate import BROKEN_RATE, EPOCH, HOUR

WEB_TYPES = contract.WEB_EVENT_TYPES
EMAIL_TYPES = contract.EMAIL_EVENT_TYPES


def dt(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=int(seconds))


def sec(value: datetime | str) -> int:
    """Epoch seconds of a naive (UTC) or aware datetime, or of its ISO string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None) - (value.utcoffset() or timedelta(0))
    return int((value - EPOCH).total_seconds())


def sql_ts(seconds: int) -> str:
    return f"timestamp '{dt(seconds).isoformat(sep=' ')}'"


def in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def round_random(rng: np.random.Generator, x: float) -> int:
    """x rounded down or up at random, so the expected value is x."""
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def n_bad(rng: np.random.Generator, n_rows: int, n_reasons: int) -> int:
    """Contract-breaking rows per reason: the generator's rate, rounded at random so short
    appends still plant some on average."""
    return round_random(rng, n_rows * BROKEN_RATE / n_reasons) if n_rows else 0


def shrink(k: np.ndarray, n: np.ndarray, prior: float, weight: float) -> np.ndarray:
    """Rate k / n pulled towards ``prior`` (worth ``weight`` observations): customers with
    little history get sensible values."""
    return (k + prior * weight) / (n + weight)


def arrive_late(rng: np.random.Generator, m: int, o: int, e: int) -> np.ndarray:
    """received_at for events that occurred before the old end: minutes to hours into the
    new window."""
    delay = np.minimum(rng.lognormal(np.log(HOUR), 1.2, m).astype(np.int64), e - o - 1)
    return o + 1 + np.maximum(delay, 0)


def cat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(p) for p in parts])


def replace_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the contract's columns and types of raw table ``name``."""
    schema = contract.SCHEMAS[name]
    return table.select(schema.names).cast(schema)


def sort_by(table: pa.Table, times: np.ndarray) -> pa.Table:
    """Rows in the order of ``times`` (ties keep their order, for byte-stable output)."""
    return table.take(pa.array(np.argsort(times, kind="stable")))
