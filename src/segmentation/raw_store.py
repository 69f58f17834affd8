"""Where the Parquet files of a raw table live, and adding a part to one.

A raw table is either one file ``<raw>/<table>.parquet`` or a folder ``<raw>/<table>/`` of
Parquet files at any depth (what ``macros/register_raw_sources.sql`` reads), never both.
``append_part`` turns the single-file layout into the folder layout the first time a
table grows: the file becomes ``<raw>/<table>/part-00000.parquet`` and every later part
is ``<raw>/<table>/<part_name>.parquet``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segmentation import contract

__all__ = ["FIRST_PART", "append_part", "table_files"]

FIRST_PART = "part-00000"
_PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$")


def _check_table(table: str) -> None:
    if table not in contract.SCHEMAS:
        raise ValueError(
            f"unknown raw table {table!r}; expected one of {', '.join(contract.TABLES)}"
        )


def table_files(raw_dir: Path, table: str) -> list[Path]:
    """The Parquet files of ``table``: ``[<raw>/<table>.parquet]``, or the files under the
    folder ``<raw>/<table>/`` in path order, or ``[]`` when the table has no data.

    Raises ValueError when both the file and a folder with Parquet files exist.
    """
    _check_table(table)
    raw_dir = Path(raw_dir)
    single = raw_dir / f"{table}.parquet"
    folder = raw_dir / table
    parts = sorted(p for p in folder.rglob("*.parquet") if p.is_file()) if folder.is_dir() else []
    if single.is_file() and parts:
        raise ValueError(
            f"raw table {table!r} is both a file ({single}) and a folder ({folder}/): keep one"
        )
    return [single] if single.is_file() else parts


def append_part(raw_dir: Path, table: str, data: pa.Table, part_name: str) -> Path:
    """Add ``data`` to raw table ``table`` as ``<raw>/<table>/<part_name>.parquet``.

    ``data`` is reduced to the contract's columns and cast to ``contract.SCHEMAS[table]``.
    A single-file table is first moved to ``<raw>/<table>/part-00000.parquet``. Refuses
    (ValueError) to overwrite an existing part or to write next to a table that is both a
    file and a folder. The part is written to a hidden temporary file and renamed, so a
    reader never sees half a file. Returns the path written.
    """
    _check_table(table)
    name = part_name.removesuffix(".parquet")
    if not _PART_NAME.match(name):
        raise ValueError(f"invalid part name {part_name!r} (letters, digits, '_', '-', '.', '=')")
    schema = contract.SCHEMAS[table]
    missing = [c for c in schema.names if c not in data.column_names]
    if missing:
        raise ValueError(f"{table}: data lacks contract columns {missing}")
    rows = data.select(schema.names).cast(schema)  # fails before anything is moved
    raw_dir = Path(raw_dir)
    folder = raw_dir / table
    target = folder / f"{name}.parquet"
    table_files(raw_dir, table)  # raises when the table is both a file and a folder
    if target.exists():
        raise ValueError(
            f"{target} exists already: pick a new part name (parts are never replaced)"
        )
    single = raw_dir / f"{table}.parquet"
    if single.is_file():
        first = folder / f"{FIRST_PART}.parquet"
        if target == first or first.exists():
            raise ValueError(f"{first} is where {single} moves to: pick another part name")
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(single, first)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.parquet.tmp"
    pq.write_table(rows, tmp)
    os.replace(tmp, target)
    return target
