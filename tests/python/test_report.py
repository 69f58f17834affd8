"""`segmentation report`: the numbers in the page equal the marts, missing marts are noted,
and the page really draws in a headless browser (offline: plotly.js is inline)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmentation.report import write_report

from conftest import Build

SECTIONS = [
    "segment-sizes",
    "segment-size-trend",
    "segment-migration",
    "cohort-retention",
    "campaign-segments",
    "segment-conversion",
    "campaign-uplift",
    "cluster-profiles",
    "cluster-diagnostics",
    "predictions-backtest",
    "recommendation-evaluation",
]

# A few rows per mart, written by hand: 3 segment types, 2 migration steps (only the latest is
# charted), 22 campaigns (only the latest 20 are listed) and an uplift without a CI nor an
# audience.
WAREHOUSE_SQL = """
create schema segmentation; create schema performance; create schema content;
create table segmentation.segment_summary as select * from (values
    ('Hot Abandoners', 'behavioral', 366, 0.0366, 0.0107, timestamp '2026-11-20 12:00:00'),
    ('Engaged but Dormant', 'behavioral', 1560, 0.156, 0.0117, timestamp '2026-11-20 12:00:00'),
    ('Champions', 'rfm', 900, 0.09, 0.41, timestamp '2026-11-20 12:00:00'),
    ('Hibernating', 'rfm', 2100, 0.21, 0.03, timestamp '2026-11-20 12:00:00'),
    ('Top 10% Value', 'value', 1000, 0.1, 0.55, timestamp '2026-11-20 12:00:00')
) t(segment, segment_type, members, share_of_audience, revenue_share, as_of);
create table performance.segment_size_trend as
select segment, segment_type, timestamp '2026-11-06 12:00:00' + to_days(7 * i::int) as as_of,
    members + 10 * i as members, members + 5 * i as primary_members,
    (members + 10 * i) / 10000 as share_of_audience
from segmentation.segment_summary, range(3) r(i);
create table performance.segment_migration as select * from (values
    ('rfm', 'Champions', 'Champions', '2026-11-13', '2026-11-20', 800, 0.8),
    ('rfm', 'Champions', 'Hibernating', '2026-11-13', '2026-11-20', 150, 0.15),
    ('rfm', 'Champions', '(none)', '2026-11-13', '2026-11-20', 50, 0.05),
    ('rfm', '(none)', 'Champions', '2026-11-13', '2026-11-20', 100, 1.0),
    ('rfm', 'Champions', 'Champions', '2026-11-06', '2026-11-13', 999, 1.0),
    ('behavioral', 'Hot Abandoners', '(none)', '2026-11-13', '2026-11-20', 300, 1.0)
) t(segment_type, from_segment, to_segment, from_as_of, to_as_of, people, share_of_from);
alter table performance.segment_migration alter from_as_of type timestamp;
alter table performance.segment_migration alter to_as_of type timestamp;
create table performance.fct_customer_cohorts as
select (date '2026-01-01' + to_months(c::int))::date as cohort_month,
    m::int as months_since_first_order,
    100 as cohort_customers, (100 - 30 * m)::int as active_customers,
    (100 - 30 * m) / 100 as retention_rate, 10 as orders, 500.0 as revenue,
    5.0 as revenue_per_customer, 5.0 * (m + 1) as cumulative_revenue_per_customer
from range(2) a(c), range(3) b(m) where c + m < 3;
create table performance.fct_campaign_segment_performance as
select printf('CMP%03d', i) as campaign_id, printf('Sale %d', i) as campaign_name,
    'all' as audience, timestamp '2026-06-01 10:00:00' + to_days(i::int) as campaign_sent_at,
    s.segment_type, s.segment, 100 + i as recipients, 95 as delivered, 40 as opens,
    10 as clicks, 1 as unsubscribes, (i % 5)::int as conversions, 12.5 * i as revenue,
    0.4 as open_rate, 0.1 as click_rate, (i % 5) / (100 + i) as conversion_rate,
    12.5 * i / (100 + i) as revenue_per_recipient
from range(22) r(i), (select * from segmentation.segment_summary where segment_type = 'rfm') s;
create table performance.campaign_uplift as select * from (values
    ('all', 'CMP001', 'Sale 1', timestamp '2026-06-02 10:00:00', 900, 100, 45, 3, 0.05, 0.03,
     0.02, -0.01, 0.05, 4.0, 3.0, 1.0, -0.5, 2.5),
    (null, 'CMP002', 'Sale 2', timestamp '2026-06-03 10:00:00', 90, 10, 9, 0, 0.1, 0.0,
     0.1, null, null, 8.0, 0.0, 8.0, null, null)
) t(audience, campaign_id, campaign_name, campaign_sent_at, treatment_people, holdout_people,
    treatment_conversions, holdout_conversions, treatment_conversion_rate,
    holdout_conversion_rate, conversion_uplift, conversion_uplift_ci_low,
    conversion_uplift_ci_high, treatment_revenue_per_person, holdout_revenue_per_person,
    revenue_uplift, revenue_uplift_ci_low, revenue_uplift_ci_high);
create table segmentation.cluster_profiles as
select 'Cluster ' || c as cluster_name, f as feature, (c - 1) * 1.5 + length(f) / 10 as z_score,
    f <> 'tenure_days' as is_clustering_feature
from range(2) a(c), (values ('recency_days'), ('frequency'), ('tenure_days')) b(f);
create table segmentation.cluster_diagnostics as
select k, 1000.0 / k as inertia, 0.2 + (k = 3)::int * 0.1 as silhouette, k = 3 as is_chosen
from range(2, 6) r(k);
create table segmentation.model_evaluation as select * from (values
    ('churn', 'logistic', 'auc', 0.81, true, false, null),
    ('churn', 'recency', 'auc', 0.7, false, true, null)
) t(task, method, metric, metric_value, is_selected, is_baseline, group_key);
create table content.recommendation_evaluation as select * from (values
    ('popular', 500, 0.1, 0.2, 0.05, 1.0, timestamp '2026-10-20 12:00:00')
) t(recommendation_method, people_evaluated, hit_rate_at_5, hit_rate_at_10, recall_at_10,
    hit_rate_at_10_lift, cutoff_at);
"""


def _warehouse(path: Path, sql: str = WAREHOUSE_SQL) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()
    return path


def _report_data(page: Path) -> dict[str, list[dict]]:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page.read_text()
    )
    assert found, "no report-data element"
    return json.loads(found.group(1))


def _traces(page: Path, div_id: str) -> list[dict]:
    """The traces Plotly.newPlot draws into ``div_id``, parsed from the page."""
    text = page.read_text()
    start = text.index(f'"{div_id}",', text.index("Plotly.newPlot")) + len(div_id) + 3
    traces, _ = json.JSONDecoder().raw_decode(text[start:].lstrip())
    return traces


def _query(db: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(warehouse, page) for the hand-written warehouse with every mart."""
    base = tmp_path_factory.mktemp("report")
    db = _warehouse(base / "warehouse.duckdb")
    return db, write_report(db, base / "out")


def test_report_data_equals_the_marts(report: tuple[Path, Path]) -> None:
    db, page = report
    data = _report_data(page)
    assert list(data) == SECTIONS
    assert all(data[s] for s in SECTIONS), [s for s in SECTIONS if not data[s]]
    summary = _query(db, "select segment, members from segmentation.segment_summary")
    assert {r["segment"]: r["members"] for r in data["segment-sizes"]} == dict(
        zip(summary.segment, summary.members, strict=True)
    )
    assert len(data["segment-size-trend"]) == 15
    assert {r["as_of"] for r in data["segment-size-trend"]} == {
        "2026-11-06T12:00:00",
        "2026-11-13T12:00:00",
        "2026-11-20T12:00:00",
    }
    # only the latest step per type, '(none)' kept as a label
    migration = data["segment-migration"]
    assert {r["to_as_of"] for r in migration} == {"2026-11-20T00:00:00"}
    assert sum(r["people"] for r in migration if r["segment_type"] == "rfm") == 1100
    assert ("(none)", "Champions") in {(r["from_segment"], r["to_segment"]) for r in migration}
    cohorts = {
        (r["cohort_month"], r["months_since_first_order"]): r["retention_rate"]
        for r in data["cohort-retention"]
    }
    assert cohorts == {
        ("2026-01-01", 0): 1.0,
        ("2026-01-01", 1): 0.7,
        ("2026-01-01", 2): pytest.approx(0.4),
        ("2026-02-01", 0): 1.0,
        ("2026-02-01", 1): 0.7,
    }


def test_campaign_and_model_sections_equal_the_marts(report: tuple[Path, Path]) -> None:
    db, page = report
    data = _report_data(page)
    campaigns = data["campaign-segments"]
    assert {r["campaign_id"] for r in campaigns} == {f"CMP{i:03d}" for i in range(2, 22)}
    assert campaigns[0]["campaign_id"] == "CMP021"  # newest first
    assert [r["segment"] for r in campaigns[:2]] == ["Champions", "Hibernating"]
    facts = _query(db, "select * from performance.fct_campaign_segment_performance")
    pooled = facts.groupby("segment")[["conversions", "recipients"]].sum()
    assert {r["segment"]: r["conversion_rate"] for r in data["segment-conversion"]} == {
        s: pytest.approx(row.conversions / row.recipients) for s, row in pooled.iterrows()
    }
    uplift = {r["campaign_id"]: r for r in data["campaign-uplift"]}
    assert uplift["CMP001"]["conversion_uplift_ci_low"] == -0.01
    assert uplift["CMP002"]["conversion_uplift_ci_high"] is None
    labels = [y for t in _traces(page, "fig-campaign-uplift-0") for y in t["y"]]
    assert labels == ["all / Sale 1", "(no audience) / Sale 2"]
    assert ">None<" not in page.read_text()  # nulls are blank cells
    assert {r["feature"] for r in data["cluster-profiles"]} == {"recency_days", "frequency"}
    assert [r["k"] for r in data["cluster-diagnostics"] if r["is_chosen"]] == [3]
    assert {r["method"] for r in data["predictions-backtest"]} == {"logistic", "recency"}
    assert data["recommendation-evaluation"][0]["method"] == "popular"


def test_segment_sizes_have_one_trace_and_colour_per_type(report: tuple[Path, Path]) -> None:
    _, page = report
    traces = _traces(page, "fig-segment-sizes-0")
    assert [t["name"] for t in traces] == ["behavioral", "rfm", "value"]
    assert len({t["marker"]["color"] for t in traces}) == 3
    assert sorted(traces[1]["y"]) == ["Champions", "Hibernating"]
    # the same type keeps its colour in the conversion chart
    conversion = _traces(page, "fig-segment-conversion-0")
    assert conversion[0]["name"] == "rfm"
    assert conversion[0]["marker"]["color"] == traces[1]["marker"]["color"]


def test_plotly_is_inline_once(report: tuple[Path, Path]) -> None:
    text = report[1].read_text()
    assert "<script src=" not in text.replace(" ", "")
    assert text.count("window.PlotlyConfig") == 1
    assert text.count("Plotly.newPlot(") == 9  # sizes, trend, 2 migrations, cohorts, ...


def test_missing_or_empty_marts_are_noted_not_raised(tmp_path: Path) -> None:
    only_sizes = WAREHOUSE_SQL.split("create table performance.segment_size_trend")[0]
    only_sizes += "create table performance.campaign_uplift (audience varchar);"  # empty
    page = write_report(_warehouse(tmp_path / "partial.duckdb", only_sizes), tmp_path / "out")
    data = _report_data(page)
    assert len(data["segment-sizes"]) == 5
    assert all(data[s] == [] for s in SECTIONS[1:])
    text = page.read_text()
    assert "Not built: performance.campaign_uplift" in text
    assert text.count('class="not-built"') == len(SECTIONS) - 1
    assert "window.PlotlyConfig" in text  # plotly.js still inline with the only figure

    empty = write_report(_warehouse(tmp_path / "empty.duckdb", "select 1"), tmp_path / "empty")
    assert all(rows == [] for rows in _report_data(empty).values())
    assert empty.read_text().count('class="not-built"') == len(SECTIONS)


def _chromium() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


def _run_chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"  # fresh per run
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_page_draws_in_headless_chromium(report: tuple[Path, Path], tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not found: CI must install it (apt-get install chromium)")
        pytest.skip("chromium not installed")
    _, page = report
    dom = _run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-3000:]
    figures = page.read_text().count("Plotly.newPlot(")
    assert dom.stdout.count('class="main-svg"') >= figures
    drawn = re.findall(r'id="(fig-[^"]+)" class="plotly-graph-div js-plotly-plot"', dom.stdout)
    assert len(drawn) == figures, drawn
    # the legend of segment sizes: one entry per type, each in its own colour
    sizes = dom.stdout[dom.stdout.index('id="fig-segment-sizes-0"') :]
    legend = sizes[sizes.index('class="legend"') : sizes.index('class="legend"') + 20000]
    entries = re.findall(r'class="legendtext"[^>]*>([^<]+)<', legend)[:3]
    assert sorted(entries) == ["behavioral", "rfm", "value"]
    fills = re.findall(r'class="legendpoints".*?fill: (rgb\([^)]*\))', legend)[:3]
    assert len(set(fills)) == 3, fills

    png = tmp_path / "report.png"
    shot = _run_chromium(
        chromium, tmp_path, f"--screenshot={png}", "--window-size=1400,3000", page.as_uri()
    )
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert png.exists() and png.stat().st_size > 50_000


def test_report_on_a_generated_build(generated_build: Build, tmp_path: Path) -> None:
    page = write_report(generated_build.db_path, tmp_path / "out")
    data = _report_data(page)
    summary = generated_build.query("select segment, members from segmentation.segment_summary")
    assert {r["segment"]: r["members"] for r in data["segment-sizes"]} == dict(
        zip(summary.segment, summary.members, strict=True)
    )
    tables = generated_build.query(
        "select table_schema || '.' || table_name as name from information_schema.tables"
    ).name
    if "performance.segment_size_trend" in set(tables):
        trend = generated_build.query("select count(*) from performance.segment_size_trend")
        assert len(data["segment-size-trend"]) == trend.iat[0, 0]
    assert data["cluster-profiles"] and data["cluster-diagnostics"]
