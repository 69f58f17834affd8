"""DuckDB over the raw folder: one view per table, and where the existing data ends."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np

from segmentation import contract
from segmentation.append.common import sec
from segmentation.append.truth import future_keys
from segmentation.generate import GENERATION_FILE


def connect(files: dict[str, list[Path]]) -> duckdb.DuckDBPyConnection:
    """A connection with one view per raw table (empty tables get the contract's schema)."""
    con = duckdb.connect()
    limit = os.environ.get("SEGMENTATION_MEMORY_LIMIT")
    if limit:
        con.execute(f"set memory_limit = '{limit}'")
    for t, paths in files.items():
        if paths:
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
            con.execute(
                f"create view {t} as select * from read_parquet([{listed}], "
                "union_by_name = true, hive_partitioning = false)"
            )
        else:
            con.register(f"_empty_{t}", contract.empty_table(t))
            con.execute(f"create view {t} as select * from _empty_{t}")
    return con


def query_np(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    tbl = con.sql(sql).to_arrow_table()
    return {c: tbl[c].to_numpy() for c in tbl.column_names}


def scatter(n: int, idx: np.ndarray, values: np.ndarray, fill: float | int = 0) -> np.ndarray:
    """Per-customer array from a query that returns only customers with rows."""
    out = np.full(n, fill, dtype=np.asarray(values).dtype)
    out[idx] = values
    return out


def ep(col: str) -> str:
    return f"epoch_us({col}) // 1000000"


def old_end(con: duckdb.DuckDBPyConnection, gen: dict | None, truth_dir: Path) -> tuple[int, str]:
    """Where the data ends: generation.json's ``end``, else the newest load timestamp
    (planted future rows left out). Returns (epoch seconds, where it came from)."""
    if gen and gen.get("end"):
        return sec(gen["end"]), GENERATION_FILE
    if not (truth_dir / "broken_rows.parquet").is_file():
        # the newest timestamp would be one of the rows planted in the future, and the new
        # days would start weeks after the data: refuse rather than append in the wrong place
        raise ValueError(
            f"no {GENERATION_FILE} or broken_rows.parquet in {truth_dir}: cannot tell where the "
            "generated data ends (the generator plants rows in the future). Pass the truth "
            "folder the data was generated with (--truth-out)."
        )
    con.register("_future_keys", future_keys(truth_dir))
    parts = [f"select max({ep('updated_at')}) from customers"]
    for table, ts, key in (
        ("web_events", "received_at", "event_id"),
        ("email_events", "received_at", "event_id"),
        ("orders", "updated_at", "order_id"),
    ):
        parts.append(
            f"select max({ep(ts)}) from {table} where {key} is null or {key} not in "
            f"(select record_key from _future_keys where table_name = '{table}')"
        )
    values = [con.execute(p).fetchall()[0][0] for p in parts]
    values = [v for v in values if v is not None]
    if not values:
        raise ValueError("no timestamps in the raw data: nothing to continue")
    return int(max(values)), "newest timestamp in the raw data"
