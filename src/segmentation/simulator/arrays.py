"""Vectorised numpy helpers and the Arrow builders every table writer shares."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation import contract


def within(counts: np.ndarray) -> np.ndarray:
    """0..n-1 inside each group of ``counts`` consecutive elements."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def ffill(mask: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the latest element at or before i with ``mask`` in the same group."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(idx, out=idx)
    ok = idx >= 0
    ok[ok] = group[idx[ok]] == group[ok]
    return idx, ok


def uniform_int(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray | int) -> np.ndarray:
    """Uniform integers in [lo, hi] (arrays, hi >= lo)."""
    lo = np.asarray(lo, dtype=np.int64)
    span = np.maximum(np.asarray(hi, dtype=np.int64) - lo, 0) + 1
    span = np.broadcast_to(span, lo.shape)
    return lo + np.floor(rng.random(len(span)) * span).astype(np.int64)


def largest_remainder(n: int, shares: np.ndarray) -> np.ndarray:
    raw = n * shares / shares.sum()
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def round_random(rng: np.random.Generator, x: float) -> int:
    """x rounded down or up at random, so the expected value is x."""
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def pick(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """k of range(n) without replacement, sorted (an empty array when k is 0)."""
    return np.sort(rng.choice(n, k, replace=False)) if k else np.empty(0, np.int64)


def ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, type=contract.TS)


def seconds(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Epoch seconds of a timestamp column."""
    return values.cast(pa.int64()).to_numpy() // 1_000_000


def money(cents: np.ndarray) -> pa.Array:
    """Exact decimal(18, 4) from integer cents."""
    v = np.asarray(cents, dtype=np.int64) * 100
    buf = np.empty((len(v), 2), dtype=np.int64)
    buf[:, 0] = v
    buf[:, 1] = v >> 63  # sign extension to 128 bits (little endian)
    return pa.Array.from_buffers(contract.MONEY, len(v), [None, pa.py_buffer(buf)])


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    s = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, s, "")


def hex_ids(numbers: np.ndarray, salt: int) -> pa.Array:
    """Random-looking but unique 16-hex-digit ids (splitmix64 is a bijection)."""
    x = np.asarray(numbers, dtype=np.uint64) ^ np.uint64(salt)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nib = ((x[:, None] >> shifts) & np.uint64(0xF)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nib]
    return pa.array(np.ascontiguousarray(chars).view("S16").ravel()).cast(pa.string())


def take(values: pa.Array, idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """values[idx] as an Arrow array; ``null`` (or idx < 0 when given as True) gives nulls."""
    idx = np.asarray(idx, dtype=np.int64)
    if null is None or not null.any():
        return values.take(pa.array(idx))
    return values.take(pa.array(np.where(null, 0, idx), mask=null))


def strings(n: int, value: str) -> pa.Array:
    """A constant string column (the currency, a channel)."""
    return pa.array(np.full(n, value), pa.string())


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the contract's columns and types of raw table ``name``."""
    schema = contract.SCHEMAS[name]
    return table.select(schema.names).cast(schema)


def sort_by(table: pa.Table, times: np.ndarray) -> pa.Table:
    """Rows in the order of ``times`` (ties keep their order, for byte-stable output)."""
    return table.take(pa.array(np.argsort(times, kind="stable")))
