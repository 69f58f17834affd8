"""Compaction of the working warehouse files (the marts file and the work file).

DuckDB reuses the blocks a run frees but never gives space back, and an incremental run
writes in small pieces (a delete+insert of a few thousand rows, a rebuilt table beside the
old one until it commits), which DuckDB stores less densely than a full build does. In 20
daily refreshes at 20k customers the work file grew 48 MB for 10 MB of data
(bench/RESULTS.md). ``COPY FROM DATABASE`` into a fresh file stores every table densely
again; the fresh file then replaces the old one with ``os.replace``.

The refresh compacts after it has published (readers never wait for it) and under its lock,
when the two files together have grown past ``SEGMENTATION_COMPACT_GROWTH`` (default 1.5)
times their size after the last compaction, recorded in ``<db>.compaction.json`` (the first
refresh only records). Not less: every refresh rebuilds the marts tables beside the old ones,
so one refresh after a compaction the files are already about 1.2 times as large (the free
blocks the next refresh reuses); compacting then would buy nothing for long. A compaction
killed half-way leaves ``<file>.compacting`` beside an intact file; the next one deletes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from segmentation import warehouse

DEFAULT_GROWTH = 1.5
GROWTH_ENV = "SEGMENTATION_COMPACT_GROWTH"


def _files(db_file: Path) -> dict[str, Path]:
    return {"marts": db_file, "work": warehouse.work_db_path(db_file)}


def _record(db_file: Path) -> Path:
    return db_file.with_name(db_file.name + ".compaction.json")


def compact_file(path: Path) -> None:
    """Rewrite one DuckDB file densely, in place (atomically: a fresh copy, then os.replace)."""
    fresh = path.with_name(path.name + ".compacting")
    for leftover in (fresh, warehouse.wal_path(fresh)):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        # opened read-write so that a WAL left by a killed run is replayed into the copy
        con.execute(f"attach '{warehouse.sql_path(path)}' as compact_old")
        con.execute(f"attach '{warehouse.sql_path(fresh)}' as compact_new")
        con.execute("copy from database compact_old to compact_new")
        con.execute("detach compact_new")
        con.execute("detach compact_old")
    finally:
        con.close()
    os.replace(fresh, path)
    warehouse.wal_path(path).unlink(missing_ok=True)  # folded into the copy


def compact_if_grown(db_file: Path) -> str:
    """Compact both files when together they have outgrown their last compacted size; ""
    when nothing was done, else what it did: ``marts:24.5>16.3MB,work:142.0>104.0MB``."""
    files = {name: path for name, path in _files(db_file).items() if path.exists()}
    sizes = {name: path.stat().st_size for name, path in files.items()}
    record = _record(db_file)
    try:
        last = sum(int(size) for size in json.loads(record.read_text()).values())
    except (OSError, ValueError, AttributeError):
        last = 0
    growth = float(os.environ.get(GROWTH_ENV, DEFAULT_GROWTH))
    if last and sum(sizes.values()) <= growth * last:
        return ""
    done = []
    if last:
        for name, path in files.items():
            compact_file(path)
            after = path.stat().st_size
            done.append(f"{name}:{sizes[name] / 2**20:.1f}>{after / 2**20:.1f}MB")
            sizes[name] = after
    record.write_text(json.dumps(sizes))
    return ",".join(done)
