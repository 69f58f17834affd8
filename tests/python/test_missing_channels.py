"""Missing channels are unknown, not zero: on a transactions-only shop (generated data without
web_events, email_events, email_campaigns) the features of the missing channels are null and
every segment that needs one is not evaluated, while the others equal an independent pandas
evaluation; on full data every segment is evaluated; on the real Online Retail data the
engagement segment is not evaluated and the lifecycle shares hold up."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from segmentation import warehouse
from segmentation.summary import segment_summary_table
from test_segments import _expected_memberships

from conftest import PROJECT, TEST_AS_OF, Build, build, run_dbt

MISSING_TABLES = ("web_events", "email_events", "email_campaigns")
SEGMENTS_YML = PROJECT / "models" / "marts" / "segmentation" / "_segmentation__segments.yml"
MODELS_YML = PROJECT / "models" / "marts" / "segmentation" / "_segmentation__models.yml"
SOURCES_YML = PROJECT / "models" / "staging" / "raw" / "_raw__sources.yml"


@pytest.fixture(scope="module")
def transactions_only(generated: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    """The generated shop with its web and e-mail tables removed (they are optional)."""
    raw, _ = generated
    base = tmp_path_factory.mktemp("transactions_only")
    shutil.copytree(raw, base / "raw")
    for table in MISSING_TABLES:
        for path in (base / "raw" / table, base / "raw" / f"{table}.parquet"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    result = build(base / "raw", base / "work")
    assert result.returncode == 0, result.output[-5000:]
    return result


def _yml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _channel_tables() -> dict[str, list[str]]:
    """{channel: [raw tables]} read from the raw contract's table meta."""
    tables: dict[str, list[str]] = {}
    for table in _yml(SOURCES_YML)["sources"][0]["tables"]:
        channel = table.get("config", {}).get("meta", {}).get("channel")
        if channel:
            tables.setdefault(channel, []).append(table["name"])
    return tables


def _column_groups() -> dict[str, list[list[str]]]:
    """{customer_features column: channel groups}, from the column meta."""
    model = next(m for m in _yml(MODELS_YML)["models"] if m["name"] == "customer_features")
    groups = {}
    for column in model["columns"]:
        meta = (column.get("config") or {}).get("meta") or {}
        found = [[c] for c in meta.get("channels", [])]
        if meta.get("channels_any"):
            found.append(sorted(meta["channels_any"]))
        groups[column["name"]] = found
    return groups


def _expected_statuses(missing_channels: set[str]) -> dict[str, str]:
    """Each shipped rule segment's status, found independently of the dbt macros: a word
    match of the column names in the conditions (own and ancestors') and the yml meta."""
    meta = next(m for m in _yml(SEGMENTS_YML)["models"] if m["name"] == "segment_definitions")
    definitions = {d["name"]: d for d in meta["config"]["meta"]["segments"]}
    columns, tables = _column_groups(), _channel_tables()
    statuses = {}
    for name, definition in definitions.items():
        groups, current = [], definition
        while current:
            # names inside quotes are values, not columns
            unquoted = re.sub(r"'[^']*'", "", current["condition"])
            words = set(re.findall(r"[a-z_][a-z0-9_]*", unquoted))
            groups += [g for column in sorted(words & set(columns)) for g in columns[column]]
            if current.get("channels_any"):
                groups.append(sorted(current["channels_any"]))
            current = definitions.get(current.get("parent"))
        unmet = [g for g in groups if not set(g) - missing_channels]
        missing = sorted({t for g in unmet for c in g for t in tables[c]})
        statuses[name] = "not_evaluable: no " + ", ".join(missing) if missing else "evaluated"
    return statuses


def test_every_shipped_segment_is_evaluated_or_not_as_its_channels_say(
    transactions_only: Build,
) -> None:
    expected = _expected_statuses({"web", "email"})
    summary = transactions_only.query(
        "select segment, evaluation_status, members, share_of_audience "
        "from segmentation.segment_summary where segment_type not in ('cluster', 'predicted')"
    ).set_index("segment")
    assert summary.evaluation_status.to_dict() == expected
    not_evaluated = summary[summary.evaluation_status != "evaluated"]
    # the behavioral segments on web and e-mail, and the at-risk stage ("active elsewhere")
    assert {
        "Hot Abandoners",
        "High Intent - At Risk",
        "High Spenders with Low Recent Engagement",
        "Engaged but Dormant",
        "At Risk (lifecycle)",
    } == set(not_evaluated.index)
    assert (not_evaluated.members == 0).all() and not_evaluated.share_of_audience.isna().all()
    assert summary.loc["Hot Abandoners", "evaluation_status"] == "not_evaluable: no web_events"
    definitions = (
        transactions_only.query(
            "select segment, evaluation_status from segmentation.segment_definitions "
            "where segment_type not in ('cluster', 'predicted')"
        )
        .set_index("segment")
        .evaluation_status
    )
    assert definitions.to_dict() == expected
    # the size test skips them and says so
    assert "5 segments not evaluated, size not checked: At Risk (lifecycle)" in (
        transactions_only.output
    )


def test_evaluated_segments_equal_an_independent_evaluation(transactions_only: Build) -> None:
    features = transactions_only.query("select * from segmentation.customer_features")
    evaluated = set(
        transactions_only.query(
            "select segment from segmentation.segment_summary "
            "where evaluation_status = 'evaluated' and segment_type not in ('cluster', 'predicted')"
        ).segment
    )
    expected = _expected_memberships(features)
    expected_pairs = {(p, s) for p, s in expected.to_numpy() if s in evaluated}
    actual = transactions_only.query(
        "select person_id, segment from segmentation.customer_segments "
        "where segment_type not in ('cluster', 'predicted')"
    )
    actual_pairs = set(map(tuple, actual.to_numpy()))
    assert actual_pairs == expected_pairs, (
        sorted(actual_pairs - expected_pairs)[:5],
        sorted(expected_pairs - actual_pairs)[:5],
    )
    # 27 rule segments, 5 not evaluated; every evaluated one has members here
    assert len(evaluated) == 22 and actual.segment.nunique() == 22


EXTRA_DEFINITIONS = [
    # a nested segment needs its parent's channels
    {"name": "Buying Abandoners", "parent": "Hot Abandoners", "condition": "frequency > 0",
     "priority": 600},
    # engagement_score needs e-mail or web: neither here
    {"name": "Engaged Anywhere", "condition": "engagement_score > 0", "priority": 601},
    # a column name inside a string is a value: the parser does not count it
    {"name": "Named Like A Column", "condition": "rfm_segment <> 'web_sessions_total'",
     "priority": 602},
]  # fmt: skip


def test_extra_definitions_inherit_and_combine_channels(
    transactions_only: Build, tmp_path: Path
) -> None:
    copy = transactions_only.copy(tmp_path / "copy.duckdb")
    variables = {"as_of": TEST_AS_OF, "extra_segment_definitions": EXTRA_DEFINITIONS}
    result = run_dbt(
        ["build", "--select", "segment_definitions", "customer_segments", "segment_summary",
         "--vars", json.dumps(variables)],
        copy.raw_dir, copy.db_path, tmp_path, as_of=None,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    summary = copy.query(
        "select segment, evaluation_status, members from segmentation.segment_summary"
    ).set_index("segment")
    assert summary.loc["Buying Abandoners", "evaluation_status"] == "not_evaluable: no web_events"
    assert summary.loc["Engaged Anywhere", "evaluation_status"] == (
        "not_evaluable: no email_events, web_events"
    )
    assert summary.loc[["Buying Abandoners", "Engaged Anywhere"], "members"].eq(0).all()
    assert summary.loc["Named Like A Column", "evaluation_status"] == "evaluated"
    buyers = copy.scalar("select count(*) from segmentation.customer_features where frequency > 0")
    assert summary.loc["Named Like A Column", "members"] == buyers


def test_features_of_a_missing_channel_are_null(transactions_only: Build) -> None:
    counts = transactions_only.query(
        """
        select
            count(*) as people,
            count(web_sessions_total) as web_sessions_total,
            count(days_since_last_visit) as days_since_last_visit,
            count(has_recent_browsing_intent) as has_recent_browsing_intent,
            count(emails_received_90d) as emails_received_90d,
            count(has_unsubscribed) as has_unsubscribed,
            count(engagement_score) as engagement_score,
            count(frequency) as frequency,
            count(lifecycle_stage) as lifecycle_stage,
            count(days_since_last_activity) as days_since_last_activity
        from segmentation.customer_features
        """
    ).iloc[0]
    for column in (
        "web_sessions_total",
        "days_since_last_visit",
        "has_recent_browsing_intent",
        "emails_received_90d",
        "has_unsubscribed",
        "engagement_score",
    ):
        assert counts[column] == 0, column
    for column in ("frequency", "lifecycle_stage", "days_since_last_activity"):
        assert counts[column] == counts.people, column
    coverage = (
        transactions_only.query("select source_table, has_data from audit.audit_raw_coverage")
        .set_index("source_table")
        .has_data
    )
    assert not coverage[list(MISSING_TABLES)].any() and coverage[["orders", "customers"]].all()


def test_on_full_data_every_segment_is_evaluated_and_zero_stays_zero(
    generated_build: Build,
) -> None:
    statuses = (
        generated_build.query("select segment, evaluation_status from segmentation.segment_summary")
        .set_index("segment")
        .evaluation_status
    )
    assert (statuses == "evaluated").all(), statuses[statuses != "evaluated"]
    zeros = generated_build.query(
        """
        select
            count(*) filter (where web_sessions_total is null) as null_sessions,
            count(*) filter (where web_sessions_total = 0) as zero_sessions,
            count(*) filter (where emails_received_90d is null) as null_emails,
            count(*) filter (where emails_received_90d = 0) as zero_emails
        from segmentation.customer_features
        """
    ).iloc[0]
    # people without visits or e-mails in a channel that has data: 0, not unknown
    assert zeros.null_sessions == 0 and zeros.zero_sessions > 0
    assert zeros.null_emails == 0 and zeros.zero_emails > 0


def test_coverage_reports_rows_and_event_span_per_raw_table(generated_build: Build) -> None:
    coverage = generated_build.query("select * from audit.audit_raw_coverage").set_index(
        "source_table"
    )
    raw_dir = generated_build.raw_dir
    for table, row in coverage.iterrows():
        paths = [raw_dir / f"{table}.parquet"] + sorted((raw_dir / table).rglob("*.parquet"))
        raw_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths if p.exists())
        assert row.raw_rows == raw_rows, table
        assert row.has_data == (row.staged_rows > 0), table
    web = generated_build.query(
        "select min(occurred_at) as first_at, max(occurred_at) as last_at "
        "from staging.stg_raw__web_events"
    ).iloc[0]
    assert coverage.loc["web_events", "first_event_at"] == web.first_at
    assert coverage.loc["web_events", "last_event_at"] == web.last_at
    assert coverage.loc["web_events", "last_event_at"] <= coverage.loc["web_events", "as_of"]
    assert coverage.channel.dropna().to_dict() == {
        "orders": "orders",
        "order_items": "orders",
        "web_events": "web",
        "email_events": "email",
    }


def test_online_retail_engagement_is_not_evaluated_and_lifecycle_holds(
    online_retail_build: Build,
) -> None:
    summary = online_retail_build.query(
        "select segment, segment_type, evaluation_status, members, share_of_audience "
        "from segmentation.segment_summary"
    ).set_index("segment")
    assert summary.loc["High Spenders with Low Recent Engagement", "evaluation_status"] == (
        "not_evaluable: no email_events, web_events"
    )
    assert summary.loc["High Spenders with Low Recent Engagement", "members"] == 0
    lifecycle = summary[summary.segment_type == "lifecycle"]
    shares = lifecycle.share_of_audience.dropna()
    print("\nOnline Retail lifecycle shares:\n" + shares.round(3).to_string())
    assert lifecycle.loc["At Risk (lifecycle)", "evaluation_status"].startswith("not_evaluable")
    # one stage per person: the evaluated shares add up to everyone
    assert abs(shares.sum() - 1.0) < 1e-9
    # activity is purchases only here: lost = no purchase for 180 days, a minority
    assert shares["Lost (lifecycle)"] < 0.3 and shares["Loyal"] > 0.2
    # the table `make run` prints shows the status
    con = warehouse.connect(online_retail_build.db_path)
    try:
        table = segment_summary_table(con)
    finally:
        con.close()
    line = next(r for r in table.splitlines() if "High Spenders with Low Recent" in r)
    assert line.rstrip().endswith("not_evaluable: no email_events, web_events"), line
    evaluated = summary[summary.evaluation_status == "evaluated"]
    assert set(summary.index) - set(evaluated.index) == {
        "Hot Abandoners",
        "High Intent - At Risk",
        "High Spenders with Low Recent Engagement",
        "Engaged but Dormant",
        "At Risk (lifecycle)",
    }
