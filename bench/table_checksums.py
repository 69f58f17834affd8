"""Checksums of every table of a built warehouse, to prove a refactor changed no row.

    python bench/table_checksums.py data/customer_segmentation.duckdb > after.json
    python bench/table_checksums.py data/customer_segmentation.duckdb --compare before.json

One line per table: its row count and an order-independent hash of its rows. Columns that
record when a run happened (loaded_at, observed_at, ...) differ between any two runs and
are left out; so are the raw source views. ``--rename old=new`` maps a table that was
renamed between the two builds (schema.table on both sides).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segmentation import warehouse

# stamps of the run itself, not of the data
RUN_COLUMNS = {
    "loaded_at",
    "observed_at",
    "recorded_at",
    "built_at",
    "fitted_at",
    "run_started_at",
    "checked_at",
    "assigned_at",
    "computed_at",
}


def checksums(db_path: Path) -> dict[str, dict[str, object]]:
    """{schema.table: {rows, hash}} of every table in the warehouse at ``db_path``."""
    con = warehouse.connect(db_path)
    try:
        result: dict[str, dict[str, object]] = {}
        for schema, table in warehouse.tables(con):
            described = con.execute(f'describe "{schema}"."{table}"').fetchall()
            columns = [name for name, *_ in described if name not in RUN_COLUMNS]
            row = ", ".join(f'"{c}"' for c in columns)
            rows, digest = con.execute(
                f"select count(*), coalesce(sum(hash(row({row})))::hugeint, 0)::varchar "
                f'from "{schema}"."{table}"'
            ).fetchone()
            result[f"{schema}.{table}"] = {"rows": rows, "hash": digest, "columns": columns}
        return result
    finally:
        con.close()


def compare(before: dict, after: dict, renames: dict[str, str]) -> list[str]:
    """Differences between two checksum sets, one line each (empty when equal)."""
    before = {renames.get(name, name): value for name, value in before.items()}
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            lines.append(f"{name}: only {'after' if old is None else 'before'}")
        elif old["columns"] != new["columns"]:
            lines.append(f"{name}: columns {old['columns']} -> {new['columns']}")
        elif (old["rows"], old["hash"]) != (new["rows"], new["hash"]):
            lines.append(f"{name}: rows {old['rows']} -> {new['rows']}, hash differs")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_path", type=Path)
    parser.add_argument("--compare", type=Path, help="checksums JSON of the build before")
    parser.add_argument("--rename", action="append", default=[], help="old=new table name")
    args = parser.parse_args()
    now = checksums(args.db_path)
    if args.compare is None:
        json.dump(now, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    renames = dict(item.split("=", 1) for item in args.rename)
    lines = compare(json.loads(args.compare.read_text()), now, renames)
    for line in lines:
        print(line)
    print(f"{len(now)} tables, {len(lines)} differ")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
