"""The working warehouse on DuckDB is two files. The main one (``SEGMENTATION_DB_PATH``)
holds the marts, the schemas readers use (core, segmentation); the staging, intermediate
and seed tables live beside it in ``<db without .duckdb>_work.duckdb``, which profiles.yml
attaches as ``work`` (macros/generate_database_name.sql). So the scheduled refresh
publishes by copying the main file (refresh.py) instead of copying every row."""

from __future__ import annotations

from pathlib import Path

import duckdb

WORK_ALIAS = "work"


def work_db_path(db_file: Path) -> Path:
    """The file of the staging, intermediate and seed tables (profiles.yml derives the same)."""
    return Path(str(db_file).replace(".duckdb", "") + "_work.duckdb")


def connect(db_file: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that sees both files as one warehouse: every table by its
    schema.table name (``audit.audit_raw_arrivals``, ``segmentation.customer_segments``)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{sql_path(db_file)}' as marts (read_only)")
        catalogs = ["marts"]
        work = work_db_path(db_file)
        if work.exists():
            con.execute(f"attach '{sql_path(work)}' as {WORK_ALIAS} (read_only)")
            catalogs.append(WORK_ALIAS)
        placeholders = ", ".join("?" for _ in catalogs)
        # tables only: the base views refer to the raw source views by the main file's
        # catalog name, which a copy of the file does not have
        relations = con.execute(
            "select database_name, schema_name, table_name from duckdb_tables() "
            f"where database_name in ({placeholders}) and schema_name <> 'main'",
            catalogs,
        ).fetchall()
        for database, schema, name in relations:
            con.execute(f'create schema if not exists "{schema}"')
            con.execute(
                f'create view "{schema}"."{name}" as select * from "{database}"."{schema}"."{name}"'
            )
    except BaseException:
        con.close()
        raise
    return con


def sql_path(path: Path) -> str:
    """``path`` for a single-quoted SQL string literal (attach, read_parquet)."""
    return str(path).replace("'", "''")


def wal_path(db_file: Path) -> Path:
    """The write-ahead log DuckDB keeps beside ``db_file`` (found by name on open)."""
    return db_file.with_name(db_file.name + ".wal")


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table of the warehouse on a ``connect`` connection, sorted."""
    return con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name not in ('memory', 'temp', 'system') and not temporary "
        "and schema_name not in ('main', 'raw') order by 1, 2"
    ).fetchall()
