"""Compare the tables of a DuckDB build with those a Spark build exported
(segmentation.spark export): row counts and rows that differ, table by table.

Values are compared after a normalisation both engines agree on (docs/spark.md):
- decimals and whole numbers exactly (decimals may carry other scales);
- doubles within a relative ``FLOAT_TOLERANCE``: Spark and DuckDB sum floats in other
  orders, and Spark divides decimals exactly where DuckDB divides doubles. The rows are
  paired by their other columns first (sorted the same way on both sides);
- timestamps as timestamps (Spark exports UTC instants, DuckDB holds UTC wall time);
- ``raw_record``, the input row as JSON, by its set of keys: the engines write the same
  row in another form (key order, timestamp and number formats);
- the run stamps (``RUN_STAMPS``: when a row was loaded or observed) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmentation import warehouse

FLOAT_TOLERANCE = 1e-9
FLOATS = ("DOUBLE", "FLOAT", "REAL")
RUN_STAMPS = frozenset(
    {"loaded_at", "observed_at", "recorded_at", "built_at", "published_at", "computed_at"}
)
# hashes of an engine's own forms (row_hash: DuckDB hash, Spark xxhash64; the quarantine id
# hashes raw_record) and the raw file a row came from, which only DuckDB reads
ENGINE_SPECIFIC = frozenset(
    {
        "version_hash",
        "rejected_row_id",
        "source_file",
        # fingerprints of the content fit's settings and the catalogue, hashed from the text
        # each engine's driver returns (docs/content.md)
        "fit_config",
        "catalogue_digest",
        # the affinity state's weight at its reference time: a Spark refresh rebuilds it at
        # this as_of, DuckDB keeps the untouched people's; compared through customer_affinities
        "weight_at_reference",
        "weight_reference_at",
    }
)
# the file ledger (audit_raw_files) lists files through DuckDB's read_blob; on Spark it is
# empty, and the tables loaded by file reload every run (docs/spark.md)
FILE_LEDGER_COLUMNS = frozenset({"added_files", "moved_files", "is_file_reload"})
NOT_COMPARED = frozenset({"audit.audit_raw_files"})


@dataclass(frozen=True)
class TableComparison:
    table: str
    duckdb_rows: int
    spark_rows: int
    differing_rows: int
    missing_columns: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return (
            self.duckdb_rows == self.spark_rows
            and self.differing_rows == 0
            and not self.missing_columns
        )


def _normalised(column: str, duck_type: str) -> str:
    quoted = f'"{column}"'
    if column == "raw_record":
        return f"list_filter(list_sort(json_keys(json({quoted}))), lambda k: k <> 'source_file')"
    if duck_type.startswith(FLOATS):
        return f"cast({quoted} as double)"
    if duck_type.startswith("DECIMAL"):
        return f"cast({quoted} as decimal(38, 6))"
    if duck_type.startswith("TIMESTAMP"):
        return f"cast({quoted} as timestamp)"
    if duck_type.startswith(("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT")):
        return f"cast({quoted} as bigint)"
    return f"cast({quoted} as varchar)"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"describe select * from {relation}").fetchall()
    return {name.lower(): str(data_type) for name, data_type, *_ in rows}


def export_relation(folder: Path) -> str:
    """The Parquet files of one exported table (segmentation.spark export) as a relation."""
    return f"read_parquet('{warehouse.sql_path(folder)}/*.parquet')"


def compare_table(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> TableComparison:
    """Compare DuckDB's ``table`` (schema.name) with its Spark export ``folder``."""
    spark_relation = export_relation(folder)
    duck_columns = _columns(con, table)
    spark_columns = _columns(con, spark_relation)
    missing = tuple(sorted(set(duck_columns) ^ set(spark_columns)))
    shared = [
        c
        for c in duck_columns
        if c in spark_columns and c not in RUN_STAMPS | ENGINE_SPECIFIC | FILE_LEDGER_COLUMNS
    ]
    exact = [c for c in shared if not duck_columns[c].startswith(FLOATS)]
    floats = [c for c in shared if duck_columns[c].startswith(FLOATS)]
    duck_rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    spark_rows = con.execute(f"select count(*) from {spark_relation}").fetchone()[0]
    differing = _rows_only_on_one_side(con, table, spark_relation, exact, duck_columns)
    if differing == 0 and floats:
        differing = _rows_with_distant_floats(
            con, table, spark_relation, exact, floats, duck_columns
        )
    return TableComparison(table, duck_rows, spark_rows, differing, missing)


def _rows_only_on_one_side(
    con: duckdb.DuckDBPyConnection, left: str, right: str, columns: list[str], types: dict
) -> int:
    """Rows of ``columns`` (normalised) in one relation and not the other, as multisets."""
    if not columns:
        return 0
    listed = ", ".join(_normalised(c, types[c]) for c in columns)
    return con.execute(
        f"""
        select count(*) from (
            (select {listed} from {left} except all select {listed} from {right})
            union all
            (select {listed} from {right} except all select {listed} from {left})
        )
        """
    ).fetchone()[0]


def _rows_with_distant_floats(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    exact: list[str],
    floats: list[str],
    types: dict,
) -> int:
    """Rows whose doubles differ beyond FLOAT_TOLERANCE, the two sides paired by their
    sort order (the exact columns equal as multisets already)."""
    order = ", ".join([_normalised(c, types[c]) for c in exact] + [f'"{c}"' for c in floats])
    listed = ", ".join(f'cast("{c}" as double) as "{c}"' for c in floats)
    far = " or ".join(
        f'(l."{c}" is null) <> (r."{c}" is null) or abs(l."{c}" - r."{c}") '
        f'> {FLOAT_TOLERANCE} * greatest(1, abs(l."{c}"))'
        for c in floats
    )
    return con.execute(
        f"""
        with
        l as (select {listed}, row_number() over (order by {order}) as pair from {left}),
        r as (select {listed}, row_number() over (order by {order}) as pair from {right})
        select count(*) from l full join r using (pair)
        where l.pair is null or r.pair is null or {far}
        """
    ).fetchone()[0]


def compare(
    db_path: Path, export_dir: Path, skip: frozenset[str] = NOT_COMPARED
) -> list[TableComparison]:
    """Every table Spark exported, compared with the same table of the DuckDB build at
    ``db_path``; a table DuckDB lacks is reported with -1 rows."""
    con = warehouse.connect(db_path)
    con.execute("set TimeZone = 'UTC'")  # Spark's instants read as UTC wall time
    try:
        results = []
        for folder in sorted(p for p in export_dir.iterdir() if p.is_dir()):
            table = folder.name
            if table in skip:
                continue
            schema, name = table.split(".", 1)
            exists = con.execute(
                "select count(*) from duckdb_views() where schema_name = ? and view_name = ?",
                [schema, name],
            ).fetchone()[0]
            if not exists:
                results.append(TableComparison(table, -1, 0, 0, ()))
                continue
            results.append(compare_table(con, table, folder))
        return results
    finally:
        con.close()


def format_table(results: list[TableComparison]) -> str:
    """The comparison as a Markdown table."""
    lines = [
        "| table | DuckDB rows | Spark rows | rows differing | equal |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        note = (
            "yes"
            if r.equal
            else "NO" + (f" (columns: {', '.join(r.missing_columns)})" if r.missing_columns else "")
        )
        lines.append(
            f"| {r.table} | {r.duckdb_rows} | {r.spark_rows} | {r.differing_rows} | {note} |"
        )
    return "\n".join(lines)
