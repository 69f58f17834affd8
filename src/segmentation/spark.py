"""The Spark target (profiles.yml `spark`, docs/spark.md): its environment, a local session
with the same settings, and the export of its tables to Parquet.

dbt-spark in session mode keeps its metastore in an embedded Derby database, which one JVM
at a time may open. So reading the tables a build wrote happens in a process of its own
(``python -m segmentation.spark export``) after dbt has exited; the comparison with a
DuckDB build (segmentation.engine_compare) then reads the exported Parquet."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

LOG_CONFIG = Path(__file__).resolve().parents[2] / "spark" / "log4j2.properties"
# the layers the SQL models write; `raw` holds only views over the files
SCHEMAS = (
    "seeds",
    "staging",
    "audit",
    "intermediate",
    "core",
    "segmentation",
    "activation",
    "content",
    "performance",
    "semantic",
)


def spark_env(work: Path, raw_dir: Path) -> dict[str, str]:
    """Environment for dbt's `spark` target and this module: the Spark warehouse and
    metastore under ``work``, the raw data in ``raw_dir``."""
    env = dict(os.environ)
    env.update(
        SEGMENTATION_TARGET="spark",
        SEGMENTATION_RAW_DIR=str(raw_dir),
        SEGMENTATION_SPARK_WAREHOUSE=str(work / "spark-warehouse"),
        SEGMENTATION_SPARK_METASTORE=str(work / "spark-metastore"),
    )
    return env


def session_conf() -> dict[str, str]:
    """The session settings of the `spark` target in profiles.yml, from the same variables."""
    env = os.environ.get
    metastore = env("SEGMENTATION_SPARK_METASTORE", "data/spark-metastore")
    java_options = f"-Dderby.stream.error.file={metastore}/derby.log"
    return {
        "spark.master": env("SEGMENTATION_SPARK_MASTER", "local[2]"),
        "spark.driver.memory": env("SEGMENTATION_SPARK_MEMORY", "4g"),
        "spark.sql.warehouse.dir": env("SEGMENTATION_SPARK_WAREHOUSE", "data/spark-warehouse"),
        "javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore}/metastore_db;create=true"
        ),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": f"{java_options} -Dlog4j2.configurationFile={LOG_CONFIG}",
    }


def session():  # noqa: ANN201 - pyspark is optional (make setup-spark)
    """A local Spark session on the target's warehouse and metastore."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def export_tables(out: Path, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    """Write every table of ``schemas`` to a folder ``out/<schema>.<table>/`` of Parquet files,
    written by Spark itself (timestamps as UTC instants); returns the names written."""
    spark = session()
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    try:
        for schema in schemas:
            if not spark.catalog.databaseExists(schema):
                continue
            for table in spark.catalog.listTables(schema):
                if table.tableType == "VIEW" or table.isTemporary:
                    continue
                name = f"{schema}.{table.name}"
                spark.table(name).write.parquet(str(out / name))
                written.append(name)
    finally:
        spark.stop()
    return written


CLUSTER_TABLES = ("cluster_centres", "customer_clusters", "cluster_profiles", "cluster_diagnostics")


def clustering_settings(project: Path) -> dict[str, object]:
    """The clustering vars of dbt_project.yml (clustering_<setting>), as the Python models
    get them through their meta (python_models/_python_models.yml)."""
    import yaml

    variables = yaml.safe_load((project / "dbt_project.yml").read_text())["vars"]
    prefix = "clustering_"
    return {k.removeprefix(prefix): v for k, v in variables.items() if k.startswith(prefix)}


def _table_or_none(spark, name: str):  # noqa: ANN001, ANN202 - pyspark is optional
    return spark.table(name).toPandas() if spark.catalog.tableExists(name) else None


def _decimals_as_doubles(frame):  # noqa: ANN001, ANN202 - a pyspark DataFrame
    """Decimal columns as doubles, as DuckDB hands them to pandas (not Decimal objects)."""
    from pyspark.sql.functions import col
    from pyspark.sql.types import DecimalType

    return frame.select(
        *(
            col(f.name).cast("double") if isinstance(f.dataType, DecimalType) else col(f.name)
            for f in frame.schema.fields
        )
    )


def _nan_as_null(frame: Any) -> Any:
    """pandas' missing value NaN as SQL null, as DuckDB stores a frame's NaN; Spark would
    keep NaN, a number, where the DuckDB build has null."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import DoubleType, FloatType

    columns = [
        F.when(F.isnan(F.col(f.name)), None).otherwise(F.col(f.name)).alias(f.name)
        if isinstance(f.dataType, DoubleType | FloatType)
        else F.col(f.name)
        for f in frame.schema.fields
    ]
    return frame.select(*columns)


def cluster(project: Path) -> dict[str, int]:
    """The clustering step of a Spark build (dbt-spark runs no Python models outside
    Databricks): the package's run on the Spark customer_features, as the Python models run
    it on DuckDB (refit or assign against the stored centres), written to the four cluster
    tables of the `segmentation` schema. Returns their row counts."""
    import duckdb

    from segmentation.clustering import dbt_bridge

    spark = session()
    try:
        features = _decimals_as_doubles(spark.table("segmentation.customer_features")).toPandas()
        previous = _table_or_none(spark, "segmentation.cluster_centres")
        previous_diagnostics = _table_or_none(spark, "segmentation.cluster_diagnostics")
        config = dbt_bridge.config_from_meta(clustering_settings(project))
        # through a DuckDB relation: the same column choice and id order as on DuckDB
        relation = duckdb.from_df(features)
        result = dbt_bridge.centres_run(relation, config, previous)
        frames = {
            "cluster_centres": result.centres,
            "customer_clusters": result.assignments,
            "cluster_profiles": result.profiles,
            "cluster_diagnostics": dbt_bridge.diagnostics(result, previous_diagnostics),
        }
        counts = {}
        for name, frame in frames.items():
            table = _nan_as_null(spark.createDataFrame(dbt_bridge.with_as_of(frame, result)))
            table.write.mode("overwrite").format("parquet").saveAsTable(f"segmentation.{name}")
            counts[name] = len(frame)
        return counts
    finally:
        spark.stop()


def summary_text() -> str:
    """The segment table `make run` prints, read from the Spark target's segment_summary
    (the same formatting as on DuckDB: segmentation.summary)."""
    import duckdb

    from segmentation.summary import segment_summary_table

    spark = session()
    try:
        if not spark.catalog.tableExists("segmentation.segment_summary"):
            return "No segment_summary yet."
        frame = spark.table("segmentation.segment_summary").toPandas()
    finally:
        spark.stop()
    con = duckdb.connect()
    try:
        con.execute("create schema segmentation")
        con.register("summary_frame", frame)
        con.execute("create table segmentation.segment_summary as select * from summary_frame")
        return segment_summary_table(con)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segmentation.spark")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="the Spark target's tables to Parquet files")
    export.add_argument("--out", type=Path, required=True)
    sub.add_parser("cluster", help="the clustering step: cluster tables from customer_features")
    args = parser.parse_args(argv)
    if args.command == "export":
        names = export_tables(args.out)
        print(f"exported {len(names)} tables to {args.out}", flush=True)
    elif args.command == "cluster":
        from segmentation.project import project_dir

        counts = cluster(project_dir())
        print("clustered: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
