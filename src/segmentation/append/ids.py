"""New ids continue the existing ones: PREFIX + zero-padded number, after the largest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation.generate import _ids

_ID = re.compile(r"^(\D*)(\d+)$")


@dataclass
class IdSeq:
    """Continues ids of the form PREFIX + zero-padded number."""

    prefix: str
    width: int
    last: int

    @classmethod
    def after(cls, max_id: str | None, prefix: str, width: int, what: str) -> IdSeq:
        if max_id is None:
            return cls(prefix, width, 0)
        m = _ID.match(max_id)
        if not m:
            raise ValueError(f"cannot continue the {what} ids: {max_id!r} is not PREFIX + number")
        return cls(m[1], len(m[2]), int(m[2]))

    def numbers(self, k: int) -> np.ndarray:
        out = self.last + 1 + np.arange(k, dtype=np.int64)
        self.last += k
        return out

    def ids(self, numbers: np.ndarray) -> pa.Array:
        return _ids(self.prefix, numbers, self.width)


def _max_string(files: list[Path], column: str) -> tuple[bool, str | None]:
    """Max of a string column from the Parquet statistics: (known, value)."""
    best: str | None = None
    for f in files:
        md = pq.ParquetFile(f).metadata
        names = md.schema.to_arrow_schema().names
        if column not in names:
            continue
        j = names.index(column)
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            st = rg.column(j).statistics
            if st is None or not st.has_min_max:
                if st is not None and st.null_count == rg.num_rows:
                    continue
                return False, None
            v = st.max.decode() if isinstance(st.max, bytes) else st.max
            best = v if best is None else max(best, v)
    return True, best


def _max_id(
    con: duckdb.DuckDBPyConnection, files: list[Path], table: str, column: str, prefix: str
) -> str | None:
    """Largest id; from the Parquet statistics when it has the generator's form (no table
    scan), else the largest id of the most common PREFIX + number form (hand-made rows
    aside)."""
    known, value = _max_string(files, column)
    if known and (value is None or re.fullmatch(re.escape(prefix) + r"[0-9]+", value)):
        return value
    rows = con.execute(
        rf"""select trim(max(lpad(id, 64, ' '))) as top, count(*) as n from (
               select {column} as id, regexp_extract({column}, '^(\D*)[0-9]+$', 1) as p
               from {table} where regexp_full_match({column}, '\D*[0-9]+'))
             group by p order by n desc, p limit 1"""
    ).fetchall()
    return rows[0][0] if rows else None


# sequence name: (table, id column, generator's prefix, width, what for error messages)
_SEQUENCES = {
    "customer": ("customers", "customer_id", "C", 7, "customer"),
    "order": ("orders", "order_id", "ORD", 9, "order"),
    "web": ("web_events", "event_id", "WE", 10, "web event"),
    "email": ("email_events", "event_id", "EE", 10, "e-mail event"),
    "campaign": ("email_campaigns", "campaign_id", "CMP", 5, "campaign"),
}


def id_sequences(
    con: duckdb.DuckDBPyConnection, files: dict[str, list[Path]], truth_dir: Path
) -> dict[str, IdSeq]:
    """One sequence per id kind; person ids (truth only) continue the truth's largest."""
    seq = {
        name: IdSeq.after(_max_id(con, files[table], table, column, prefix), prefix, width, what)
        for name, (table, column, prefix, width, what) in _SEQUENCES.items()
    }
    truth_customers = truth_dir / "customers_truth.parquet"
    max_person = None
    if truth_customers.is_file():
        max_person = pc.max(pq.read_table(truth_customers, columns=["person_id"])["person_id"])
        max_person = max_person.as_py()
    seq["person"] = IdSeq.after(max_person, "PSN", 7, "person")
    return seq
