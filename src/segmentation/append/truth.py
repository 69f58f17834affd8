"""The truth folder: what the append planted (broken rows, duplicates, new customers) and
``generation.json``, which records the new end so the next append continues from it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation.append.common import sql_ts


def _keyed(table: str, keys: pa.Array, column: str, values: pa.Array) -> pa.Table:
    return pa.table(
        {
            "table_name": pa.array([table] * len(keys), pa.string()),
            "record_key": keys.cast(pa.string()),
            column: values,
        }
    )


@dataclass
class Truth:
    """Truth rows added by this append, written by :func:`write_truth`."""

    broken: list[pa.Table] = field(default_factory=list)
    dups: list[pa.Table] = field(default_factory=list)
    customers: list[pa.Table] = field(default_factory=list)

    def broke(self, table: str, keys: pa.Array, reason: str) -> None:
        if len(keys):
            reasons = pa.array([reason] * len(keys), pa.string())
            self.broken.append(_keyed(table, keys, "reason_code", reasons))

    def dup(self, table: str, keys: pa.Array, copies: np.ndarray) -> None:
        if len(keys):
            extra = pa.array(np.asarray(copies, dtype=np.int32))
            self.dups.append(_keyed(table, keys, "extra_copies", extra))


def _key(table: pa.Table) -> pa.Array:
    """One string per (table_name, record_key), to match truth rows."""
    return pc.binary_join_element_wise(table["table_name"], table["record_key"], "\x00")


def future_keys(truth_dir: Path) -> pa.Table:
    """(table_name, record_key) of the rows the generator planted with a future timestamp."""
    path = truth_dir / "broken_rows.parquet"
    if not path.is_file():
        return pa.table(
            {"table_name": pa.array([], pa.string()), "record_key": pa.array([], pa.string())}
        )
    fut = pq.read_table(path).filter(pc.equal(pc.field("reason_code"), "future_timestamp"))
    return fut.select(["table_name", "record_key"])


def future_rows_now_valid(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, o: int, e: int
) -> pa.Table:
    """(table_name, record_key) of generator-planted future_timestamp rows whose timestamp
    is now inside the window: at the new end they are ordinary rows."""
    fut = future_keys(truth_dir)
    if fut.num_rows == 0:
        return fut
    con.register("_future_now", fut)
    parts = []
    for table, ts, key in (
        ("web_events", "occurred_at", "event_id"),
        ("email_events", "occurred_at", "event_id"),
        ("orders", "ordered_at", "order_id"),
    ):
        parts.append(
            f"""select distinct '{table}' as table_name, {key} as record_key from {table}
                where {ts} > {sql_ts(o)} and {ts} <= {sql_ts(e)} and {key} in
                  (select record_key from _future_now where table_name = '{table}')"""
        )
    return con.sql(" union all ".join(parts) + " order by 1, 2").to_arrow_table()


def merge_duplicates(old: pa.Table | None, new: list[pa.Table]) -> pa.Table | None:
    """Add the new extra copies to existing keys, append new keys in order of appearance."""
    if not new:
        return old
    add = pa.concat_tables(new)
    uniq, first, inv = np.unique(
        np.asarray(_key(add).to_numpy(zero_copy_only=False), dtype=object),
        return_index=True,
        return_inverse=True,
    )
    copies = np.zeros(len(uniq), np.int64)
    np.add.at(copies, inv, add["extra_copies"].to_numpy())
    order = np.argsort(first)
    add = add.take(pa.array(first[order])).set_column(
        2, "extra_copies", pa.array(copies[order].astype(np.int32))
    )
    if old is None or old.num_rows == 0:
        return add
    pos = pc.index_in(_key(add), value_set=_key(old)).to_numpy(zero_copy_only=False)
    found = ~np.isnan(pos.astype(np.float64))
    counts = old["extra_copies"].to_numpy().astype(np.int64)
    np.add.at(counts, pos[found].astype(np.int64), add["extra_copies"].to_numpy()[found])
    old = old.set_column(
        old.schema.get_field_index("extra_copies"),
        "extra_copies",
        pa.array(counts.astype(np.int32)),
    )
    return pa.concat_tables([old, add.filter(pa.array(~found)).cast(old.schema)])


def write_truth(truth_dir: Path, truth: Truth, now_valid: pa.Table) -> dict[str, int]:
    """Rewrite the three truth files with this append's rows; returns what was added."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    path = truth_dir / "broken_rows.parquet"
    old = pq.read_table(path) if path.is_file() else None
    parts = [old] if old is not None else []
    if old is not None and now_valid.num_rows:
        hit = pc.and_(
            pc.is_in(_key(old), value_set=_key(now_valid)),
            pc.equal(old["reason_code"], "future_timestamp"),
        )
        parts = [old.filter(pc.invert(pc.fill_null(hit, False)))]
    if truth.broken or old is not None:
        table = pa.concat_tables([*parts, *truth.broken], promote_options="default")
        pq.write_table(table, path)
    counts["broken_rows"] = sum(t.num_rows for t in truth.broken)
    counts["future_rows_now_valid"] = now_valid.num_rows

    path = truth_dir / "planted_duplicates.parquet"
    old = pq.read_table(path) if path.is_file() else None
    merged = merge_duplicates(old, truth.dups)
    if merged is not None:
        pq.write_table(merged, path)
    counts["duplicated_keys"] = sum(t.num_rows for t in truth.dups)

    path = truth_dir / "customers_truth.parquet"
    if truth.customers and path.is_file():
        old = pq.read_table(path)
        new = pa.concat_tables([t.cast(old.schema) for t in truth.customers])
        pq.write_table(pa.concat_tables([old, new]), path)
    counts["new_customers"] = sum(t.num_rows for t in truth.customers)
    return counts


def write_generation(path: Path, gen: dict | None, entry: dict, new_end: str) -> None:
    """Add ``entry`` to ``appends`` in generation.json and move ``end`` to ``new_end``
    (a folder without the file gets one, with the old end as ``end`` until now)."""
    gen = dict(gen) if gen else {"customers": None, "days": None, "seed": None}
    gen.setdefault("end", entry["from"])
    gen.setdefault("appends", [])
    gen["appends"].append(entry)
    gen["end"] = new_end
    path.write_text(json.dumps(gen, indent=2) + "\n")
