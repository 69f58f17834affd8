"""The ground truth next to the raw data (never read by dbt models):

* ``customers_truth``: customer_id, person_id, persona, is_duplicate_record (one row per
  distinct customer_id written, duplicate-person records included);
* ``broken_rows``: table_name, record_key, reason_code (one row per planted
  contract-breaking row; record_key is null when the key itself is the null one);
* ``planted_duplicates``: table_name, record_key, extra_copies (profile updates, order
  status versions and re-delivered events);
* ``generation.json``: the arguments (customers, days, seed, end as ISO) and one entry
  per append; ``end`` is where the next append continues.

Planted ``future_timestamp`` rows whose time an append reaches become ordinary rows and
leave ``broken_rows`` (their times are kept in the simulator state).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation.simulator.arrays import ts

TRUTH_TABLES = ("customers_truth", "broken_rows", "planted_duplicates")
GENERATION_FILE = "generation.json"  # in the truth folder: what generated the data, until when
FUTURE_FILE = "future_rows.parquet"  # in the state folder
FUTURE = pa.schema([("table_name", pa.string()), ("record_key", pa.string()), ("at", ts([]).type)])


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
    """Truth rows of one run (generate or append)."""

    customers: list[pa.Table] = field(default_factory=list)
    broken: list[pa.Table] = field(default_factory=list)
    dups: list[pa.Table] = field(default_factory=list)
    future: list[pa.Table] = field(default_factory=list)

    def broke(self, table: str, keys: pa.Array, reason: str) -> None:
        if len(keys):
            self.broken.append(_keyed(table, keys, "reason_code", pa.array([reason] * len(keys))))

    def nulls(self, table: str, n: int) -> None:
        self.broke(table, pa.nulls(n, pa.string()), "null_key")

    def dup(self, table: str, keys: pa.Array, copies: np.ndarray | None = None) -> None:
        if len(keys):
            c = np.ones(len(keys)) if copies is None else copies
            self.dups.append(_keyed(table, keys, "extra_copies", pa.array(c.astype(np.int32))))

    def planted_future(self, table: str, keys: pa.Array, at: np.ndarray) -> None:
        self.broke(table, keys, "future_timestamp")
        self.future.append(_keyed(table, keys, "at", ts(at)))


def _key(table: pa.Table) -> pa.Array:
    """One string per (table_name, record_key), to match truth rows."""
    return pc.binary_join_element_wise(table["table_name"], table["record_key"], "\x00")


def _concat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()


BROKEN = pa.schema(
    [("table_name", pa.string()), ("record_key", pa.string()), ("reason_code", pa.string())]
)
DUPS = pa.schema(
    [("table_name", pa.string()), ("record_key", pa.string()), ("extra_copies", pa.int32())]
)
CUSTOMERS = pa.schema(
    [("customer_id", pa.string()), ("person_id", pa.string()), ("persona", pa.string()),
     ("is_duplicate_record", pa.bool_())]
)  # fmt: skip


def merge_duplicates(old: pa.Table, new: list[pa.Table]) -> pa.Table:
    """Add the new extra copies to existing keys, append new keys in order of appearance."""
    if not new:
        return old
    add = pa.concat_tables(new).cast(DUPS)
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
    if old.num_rows == 0:
        return add
    pos = pc.index_in(_key(add), value_set=_key(old)).to_numpy(zero_copy_only=False)
    found = ~np.isnan(pos.astype(np.float64))
    counts = old["extra_copies"].to_numpy().astype(np.int64)
    np.add.at(counts, pos[found].astype(np.int64), add["extra_copies"].to_numpy()[found])
    old = old.set_column(2, "extra_copies", pa.array(counts.astype(np.int32)))
    return pa.concat_tables([old, add.filter(pa.array(~found))])


def write_truth(
    truth_dir: Path, state_dir: Path, truth: Truth, hi: int, fresh: bool
) -> dict[str, int]:
    """Add this run's truth rows to the truth files (``fresh``: start them empty, as a
    generate does) and drop the planted future rows that are no longer after ``hi``.
    Returns what was added."""

    def _read(path: Path, schema: pa.Schema) -> pa.Table:
        if fresh or not path.is_file():
            return schema.empty_table()
        return pq.read_table(path).cast(schema)

    truth_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    future = pa.concat_tables(
        [_read(state_dir / FUTURE_FILE, FUTURE), _concat(truth.future, FUTURE)]
    )
    due = pc.less_equal(future["at"], pa.scalar(hi * 1_000_000, FUTURE.field("at").type))
    now_valid = future.filter(due)
    pq.write_table(future.filter(pc.invert(due)), state_dir / FUTURE_FILE)

    broken = pa.concat_tables([_read(truth_dir / "broken_rows.parquet", BROKEN),
                               _concat(truth.broken, BROKEN)])  # fmt: skip
    if now_valid.num_rows:
        hit = pc.and_(
            pc.fill_null(pc.is_in(_key(broken), value_set=_key(now_valid)), False),
            pc.equal(broken["reason_code"], "future_timestamp"),
        )
        broken = broken.filter(pc.invert(hit))
    pq.write_table(broken, truth_dir / "broken_rows.parquet")
    dups = merge_duplicates(_read(truth_dir / "planted_duplicates.parquet", DUPS), truth.dups)
    pq.write_table(dups, truth_dir / "planted_duplicates.parquet")
    customers = pa.concat_tables([_read(truth_dir / "customers_truth.parquet", CUSTOMERS),
                                  _concat(truth.customers, CUSTOMERS)])  # fmt: skip
    pq.write_table(customers, truth_dir / "customers_truth.parquet")
    return {
        "broken_rows": sum(t.num_rows for t in truth.broken),
        "future_rows_now_valid": now_valid.num_rows,
        "duplicated_keys": sum(t.num_rows for t in truth.dups),
        "new_customers": sum(t.num_rows for t in truth.customers),
    }


def write_generation(path: Path, gen: dict | None, entry: dict, new_end: str) -> None:
    """Add ``entry`` to ``appends`` in generation.json and move ``end`` to ``new_end``
    (a folder without the file gets one, with the old end as ``end`` until now)."""
    gen = dict(gen) if gen else {"customers": None, "days": None, "seed": None}
    gen.setdefault("end", entry["from"])
    gen.setdefault("appends", [])
    gen["appends"].append(entry)
    gen["end"] = new_end
    path.write_text(json.dumps(gen, indent=2) + "\n")
