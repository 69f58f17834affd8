"""BI readiness: the published marts read as Superset and Metabase-style tools read them
(SQLAlchemy + duckdb-engine, read-only), and the semantic layer (models/semantic/) that
MetricFlow queries: its manifest, and MetricFlow's SQL against hand-written SQL."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import Date, DateTime, NullType, Numeric, String

from segmentation.refresh import PUBLISHED_SCHEMAS, publish

from conftest import Build

# what a BI user browses first: orders, the segment overview, audiences, campaign and cohort results
BI_TABLES = (
    ("core", "fct_orders"),
    ("segmentation", "segment_summary"),
    ("activation", "audience_members"),
    ("performance", "fct_campaign_segment_performance"),
    ("performance", "fct_customer_cohorts"),
)
EXPECTED_METRICS = {
    "revenue",
    "gross_revenue",
    "orders",
    "completed_orders",
    "average_order_value",
    "customers",
    "audience_size",
    # _semantic__performance.yml
    "email_recipients",
    "email_conversions",
    "conversion_rate",
    "email_revenue",
    "campaign_conversion_rate",
    "campaign_email_revenue",
    "cohort_customers",
    "active_customers",
    "new_customers",
    "retention",
}
# ratio metrics: (numerator, denominator)
RATIOS = {
    "average_order_value": ("revenue", "completed_orders"),
    "conversion_rate": ("email_conversions", "email_recipients"),
    "campaign_conversion_rate": ("email_conversions", "email_recipients"),
    "retention": ("active_customers", "cohort_customers"),
}


@pytest.fixture(scope="module")
def published(generated_build: Build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's build published as a refresh publishes it (the file BI tools open)."""
    work = tmp_path_factory.mktemp("bi")
    build = generated_build.copy(work / "warehouse.duckdb")
    target = work / "published.duckdb"
    publish(build.db_path, target)
    return target


@pytest.fixture(scope="module")
def bi_engine(published: Path) -> Iterator[Engine]:
    """A SQLAlchemy engine configured as a BI tool's DuckDB connection is."""
    engine = create_engine(f"duckdb:///{published}", connect_args={"read_only": True})
    yield engine
    engine.dispose()


def _duckdb_df(db_file: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_bi_tool_lists_the_published_schemas_and_tables(
    bi_engine: Engine, published: Path, generated_build: Build
) -> None:
    inspector = inspect(bi_engine)
    # duckdb-engine names schemas <catalog>.<schema>; the catalog is the file's stem
    catalog = published.stem
    schemas = {
        name.split(".", 1)[1]
        for name in inspector.get_schema_names()
        if name.startswith(f"{catalog}.")
    }
    assert set(PUBLISHED_SCHEMAS) <= schemas
    assert not schemas & {"staging", "intermediate", "audit", "raw", "seeds"}
    for schema in PUBLISHED_SCHEMAS:
        tables = set(inspector.get_table_names(schema=schema))
        # the build's marts file (attached as marts by Build.query): DuckDB's own list
        expected = generated_build.query(
            "select table_name from duckdb_tables() "
            f"where database_name = 'marts' and schema_name = '{schema}'"
        )
        assert tables == set(expected.table_name), schema
    assert {"fct_orders", "dim_customers"} <= set(inspector.get_table_names(schema="core"))


def test_bi_tool_reads_the_columns_of_the_main_marts(
    bi_engine: Engine, generated_build: Build
) -> None:
    """Column names and order as DuckDB has them, every type known to SQLAlchemy (a
    NullType is a column the tool cannot filter or chart), and the reflection calls a
    dataset editor makes (keys, indexes, comment) answer instead of failing."""
    inspector = inspect(bi_engine)
    for schema, table in BI_TABLES:
        with warnings.catch_warnings():
            # duckdb-engine warns that it does not reflect indexes (it returns none)
            warnings.simplefilter("ignore")
            columns = inspector.get_columns(table, schema=schema)
            inspector.get_pk_constraint(table, schema=schema)
            inspector.get_foreign_keys(table, schema=schema)
            inspector.get_indexes(table, schema=schema)
        described = generated_build.query(f"describe {schema}.{table}")
        assert [c["name"] for c in columns] == list(described.column_name), table
        untyped = [c["name"] for c in columns if isinstance(c["type"], NullType)]
        assert not untyped, f"{schema}.{table}: {untyped}"
        comment = inspector.get_table_comment(table, schema=schema)["text"]
        assert comment and "One row per" in comment, f"{schema}.{table} has no description"

    orders = {c["name"]: c["type"] for c in inspector.get_columns("fct_orders", schema="core")}
    assert isinstance(orders["order_id"], String)
    assert isinstance(orders["net_revenue"], Numeric)
    assert (orders["net_revenue"].precision, orders["net_revenue"].scale) == (18, 2)
    assert isinstance(orders["order_date"], Date)
    assert isinstance(orders["ordered_at"], DateTime)


def test_bi_connection_is_read_only(bi_engine: Engine) -> None:
    with bi_engine.connect() as con, pytest.raises(SQLAlchemyError, match="read-only"):
        con.execute(text("create table core.bi_scratch as select 1 as x"))


def test_read_sql_row_counts_equal_duckdb(bi_engine: Engine, generated_build: Build) -> None:
    with bi_engine.connect() as con:
        for schema, table in BI_TABLES:
            frame = pd.read_sql(text(f"select * from {schema}.{table}"), con)
            expected = generated_build.scalar(f"select count(*) from {schema}.{table}")
            assert expected > 0, f"{schema}.{table} is empty"
            assert len(frame) == expected, f"{schema}.{table}"


def test_revenue_by_month_read_through_sqlalchemy_equals_duckdb(
    bi_engine: Engine, generated_build: Build
) -> None:
    """The orders as a BI tool fetches them, aggregated on its side, equal DuckDB's sum."""
    with bi_engine.connect() as con:
        orders = pd.read_sql(text("select order_date, net_revenue from core.fct_orders"), con)
    month = pd.to_datetime(orders.order_date).dt.to_period("M").dt.to_timestamp()
    ours = orders.groupby(month).net_revenue.sum().round(2)
    expected = generated_build.query(
        "select date_trunc('month', order_date) as month, "
        "cast(sum(net_revenue) as double) as revenue "
        "from core.fct_orders group by 1 order by 1",
    )
    assert len(ours) == len(expected) > 1
    assert list(ours.index) == list(pd.to_datetime(expected.month))
    assert ours.to_numpy() == pytest.approx(expected.revenue.to_numpy(), abs=0.01)


# --- the semantic layer


def _semantic_manifest(build: Build) -> dict[str, Any]:
    path = build.db_path.parent / "target" / "semantic_manifest.json"
    return json.loads(path.read_text())


def test_dbt_writes_the_semantic_manifest_with_the_metrics(generated_build: Build) -> None:
    manifest = _semantic_manifest(generated_build)
    metrics = {metric["name"]: metric for metric in manifest["metrics"]}
    assert set(metrics) >= EXPECTED_METRICS
    for name, (numerator, denominator) in RATIOS.items():
        params = metrics[name]["type_params"]
        assert metrics[name]["type"] == "ratio", name
        assert (params["numerator"]["name"], params["denominator"]["name"]) == (
            numerator,
            denominator,
        ), name
    assert metrics["revenue"]["type_params"]["measure"]["name"] == "order_net_revenue"
    models = {model["name"]: model for model in manifest["semantic_models"]}
    assert models["orders"]["node_relation"]["alias"] == "fct_orders"
    assert models["audience_memberships"]["node_relation"]["schema_name"] == "activation"
    for model in manifest["semantic_models"]:
        assert "One row per" in (model["description"] or ""), f"{model['name']}: state the grain"
    (spine,) = manifest["project_configuration"]["time_spines"]
    assert spine["node_relation"]["alias"] == "metricflow_time_spine"
    assert spine["primary_column"] == {"name": "date_day", "time_granularity": "day"}
    # dbt-semantic-interfaces validates the layer when dbt parses: no warning about it
    flagged = [
        line
        for line in generated_build.output.splitlines()
        if "warn" in line.lower() and ("semantic" in line.lower() or "metric" in line.lower())
    ]
    assert not flagged


class _ExplainOnlySqlClient:
    """The part of MetricFlow's SqlClient that explaining a query needs: the dialect. The
    test runs the SQL itself on a read-only DuckDB connection."""

    def __init__(self) -> None:
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()


@pytest.fixture(scope="module")
def metricflow_sql(generated_build: Build) -> Any:
    """A function from (metrics, group-bys) to MetricFlow's SQL for the session's build."""
    pytest.importorskip("metricflow", reason="dbt-metricflow is not installed")
    from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    path = generated_build.db_path.parent / "target" / "semantic_manifest.json"
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=path.read_text())
    engine = MetricFlowEngine(SemanticManifestLookup(manifest), _ExplainOnlySqlClient())

    def sql(metrics: list[str], group_by: list[str]) -> str:
        request = MetricFlowQueryRequest.create(metric_names=metrics, group_by_names=group_by)
        return engine.explain(request).sql_statement.sql

    return sql


def test_metricflow_revenue_and_orders_by_month_equal_sql(
    metricflow_sql: Any, generated_build: Build
) -> None:
    # MetricFlow names tables <database>.<schema>.<table>: the build's file, read as is
    sql = metricflow_sql(["revenue", "orders", "average_order_value"], ["metric_time__month"])
    ours = _duckdb_df(generated_build.db_path, sql).sort_values("metric_time__month")
    expected = _duckdb_df(
        generated_build.db_path,
        """
        select
            date_trunc('month', order_date) as month,
            cast(sum(net_revenue) as double) as revenue,
            count(*) as orders,
            sum(net_revenue) / sum(case when is_completed then 1 else 0 end) as aov
        from core.fct_orders
        group by 1
        order by 1
        """,
    )
    assert list(pd.to_datetime(ours.metric_time__month)) == list(pd.to_datetime(expected.month))
    assert ours.revenue.astype(float).to_numpy() == pytest.approx(expected.revenue.to_numpy())
    assert list(ours.orders.astype(int)) == list(expected.orders)
    assert ours.average_order_value.astype(float).to_numpy() == pytest.approx(
        expected.aov.astype(float).to_numpy()
    )


def test_metricflow_audience_size_counts_treatment_people(
    metricflow_sql: Any, generated_build: Build
) -> None:
    sql = metricflow_sql(["audience_size"], ["audience_membership__audience"])
    ours = _duckdb_df(generated_build.db_path, sql).set_index("audience_membership__audience")
    expected = _duckdb_df(
        generated_build.db_path,
        "select audience, count(distinct person_id) as people from activation.audience_members "
        "where split_group = 'treatment' group by 1",
    ).set_index("audience")
    assert len(expected) > 0
    assert ours.audience_size.astype(int).to_dict() == expected.people.to_dict()


def test_metricflow_conversion_rate_by_segment_equals_sql(
    metricflow_sql: Any, generated_build: Build
) -> None:
    sql = metricflow_sql(["conversion_rate", "email_revenue"], ["campaign_segment__segment"])
    ours = _duckdb_df(generated_build.db_path, sql).set_index("campaign_segment__segment")
    expected = _duckdb_df(
        generated_build.db_path,
        """
        select
            segment,
            cast(sum(conversions) as double) / sum(recipients) as conversion_rate,
            sum(revenue) as revenue
        from performance.fct_campaign_segment_performance
        group by 1
        """,
    ).set_index("segment")
    assert len(expected) > 0
    assert set(ours.index) == set(expected.index)
    ours = ours.loc[expected.index]
    assert ours.conversion_rate.astype(float).to_numpy() == pytest.approx(
        expected.conversion_rate.to_numpy()
    )
    assert ours.email_revenue.astype(float).to_numpy() == pytest.approx(expected.revenue.to_numpy())


def test_metricflow_retention_by_month_since_first_order_equals_sql(
    metricflow_sql: Any, generated_build: Build
) -> None:
    """Pooled over the cohorts that reached each month; month 0 is every cohort's first."""
    sql = metricflow_sql(["retention"], ["cohort_period__months_since_first_order"])
    ours = _duckdb_df(generated_build.db_path, sql).set_index(
        "cohort_period__months_since_first_order"
    )
    expected = _duckdb_df(
        generated_build.db_path,
        """
        select
            months_since_first_order,
            cast(sum(active_customers) as double) / sum(cohort_customers) as retention
        from performance.fct_customer_cohorts
        group by 1
        order by 1
        """,
    ).set_index("months_since_first_order")
    assert len(expected) > 1
    ours = ours.reindex(expected.index)
    assert ours.retention.astype(float).to_numpy() == pytest.approx(expected.retention.to_numpy())
    assert ours.retention.loc[0] == pytest.approx(1.0)
