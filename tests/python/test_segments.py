"""Segments: membership against an independent pandas evaluation, and every business test
shown to fail when its rule is broken."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT, TEST_AS_OF, TEST_END, Build, build, run_dbt

ERROR_SEVERITY = {"business_test_severity": "error"}


def _vars(**extra: object) -> str:
    return json.dumps({"as_of": TEST_AS_OF, **ERROR_SEVERITY, **extra})


def _dbt(args: list[str], build_: Build, work: Path, db_path: Path | None = None, **vars_: object):
    return run_dbt(
        [*args, "--vars", _vars(**vars_)],
        build_.raw_dir,
        db_path or build_.db_path,
        work,
        as_of=None,
    )


def _expected_memberships(features: pd.DataFrame) -> pd.DataFrame:
    """The shipped definitions, written again by hand in pandas."""
    f = features.set_index("person_id")
    big = 100_000
    rfm_map = pd.read_csv(PROJECT / "seeds" / "rfm_segment_map.csv")
    cells = rfm_map.set_index(["recency_score", "frequency_score", "monetary_score"]).rfm_segment
    scored = f.dropna(subset=["recency_score"])
    rfm = pd.Series(
        cells.reindex(
            list(
                zip(
                    scored.recency_score, scored.frequency_score, scored.monetary_score, strict=True
                )
            )
        ).values,
        index=scored.index,
    )

    # lifecycle from the underlying features, thresholds at their defaults
    as_of = pd.Timestamp(TEST_AS_OF)
    last_activity_days = f.days_since_last_activity
    first_purchase_days = (as_of - f.first_purchase_at) / pd.Timedelta(days=1)
    last_purchase_days = (as_of - f.last_purchase_at) / pd.Timedelta(days=1)
    stage = np.select(
        [
            f.frequency == 0,
            last_activity_days >= 180,
            last_activity_days >= 60,
            first_purchase_days < 30,
            last_purchase_days >= 90,
            (f.frequency > 3) | (f.email_open_rate_90d.fillna(0) > 0.8),
        ],
        ["Prospect", "Lost (lifecycle)", "Dormant", "New", "At Risk (lifecycle)", "Loyal"],
        default="Active",
    )

    # value tiers: position by net revenue (ties share the better position)
    position = f.monetary.astype(float).rank(method="min", ascending=False)
    people = len(f)
    tier = np.where(
        (f.monetary > 0) & (position <= 0.10 * people),
        "Top 10% Value",
        np.where(
            (f.monetary > 0) & (position <= 0.50 * people), "Next 40% Value", "Remaining 50% Value"
        ),
    )
    top = pd.Series(tier, index=f.index) == "Top 10% Value"

    rules = {
        "Hot Abandoners": f.has_recent_browsing_intent & (f.days_since_last_abandoned_cart <= 7),
        "High Intent - At Risk": f.checkouts_without_purchase_7d >= 2,
        "Recent High-Value Buyers": top & (f.days_since_last_order <= 14),
        "High Spenders with Low Recent Engagement": top
        & (f.days_since_last_visit.fillna(big) > 30)
        & (f.days_since_last_email_open.fillna(big) > 30),
        "Engaged but Dormant": (f.emails_received_90d >= 2)
        & (f.email_open_rate_90d >= 0.5)
        & (f.days_since_last_order.fillna(big) >= 90),
        "Outdoor Enthusiasts": (f.favourite_category == "sports_outdoors")
        & (f.favourite_category_share >= 0.4),
    }
    rows = [(p, s) for s, mask in rules.items() for p in f.index[mask.fillna(False)]]
    rows += list(zip(rfm.index, rfm.values, strict=True))
    rows += list(zip(f.index, stage, strict=True))
    rows += list(zip(f.index, tier, strict=True))
    return pd.DataFrame(rows, columns=["person_id", "segment"])


def test_membership_equals_an_independent_pandas_evaluation(generated_build: Build) -> None:
    features = generated_build.query("select * from segmentation.customer_features")
    expected = _expected_memberships(features)
    actual = generated_build.query(
        "select person_id, segment from segmentation.customer_segments "
        "where segment_type not in ('cluster', 'predicted')"
    )
    expected_pairs = set(map(tuple, expected.to_numpy()))
    actual_pairs = set(map(tuple, actual.to_numpy()))
    assert actual_pairs == expected_pairs, (
        sorted(actual_pairs - expected_pairs)[:5],
        sorted(expected_pairs - actual_pairs)[:5],
    )
    sizes = actual.segment.value_counts()
    for segment in (
        "Hot Abandoners",
        "Recent High-Value Buyers",
        "Engaged but Dormant",
        "Champions",
    ):
        assert sizes.get(segment, 0) > 0, segment

    # clusters are segments too: one per person, named 'Cluster <id>: <name>'
    clusters = generated_build.query(
        "select person_id, 'Cluster ' || cluster_id || ': ' || cluster_name as segment "
        "from segmentation.customer_clusters"
    )
    cluster_rows = generated_build.query(
        "select person_id, segment from segmentation.customer_segments "
        "where segment_type = 'cluster'"
    )
    assert set(map(tuple, clusters.to_numpy())) == set(map(tuple, cluster_rows.to_numpy()))

    # primary = lowest priority number among a person's segments
    priorities = generated_build.query(
        "select segment, priority from segmentation.segment_definitions"
    ).set_index("segment")["priority"]
    expected["priority"] = expected.segment.map(priorities)
    best = expected.sort_values(["person_id", "priority"]).drop_duplicates("person_id")
    primary = generated_build.query(
        "select person_id, primary_segment from segmentation.customer_primary_segment"
    ).set_index("person_id")["primary_segment"]
    pd.testing.assert_series_equal(
        primary.sort_index(), best.set_index("person_id").segment.sort_index(), check_names=False
    )


def test_business_tests_pass_on_the_generated_build(generated_build: Build, tmp_path: Path) -> None:
    result = _dbt(
        ["test", "--select", "customer_segments", "segment_summary"], generated_build, tmp_path
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_min_share_raised_to_half_fails(generated_build: Build, tmp_path: Path) -> None:
    result = _dbt(
        ["test", "--select", "segment_summary"],
        generated_build,
        tmp_path,
        segment_share_overrides={"Champions": {"min_share": 0.5}},
    )
    assert result.returncode != 0
    assert "segment_share_within_bounds_segment_summary" in result.stdout
    # in dev the same finding is a warning, not a failure
    warn = run_dbt(
        [
            "test",
            "--select",
            "segment_summary",
            "--vars",
            json.dumps(
                {"as_of": TEST_AS_OF, "segment_share_overrides": {"Champions": {"min_share": 0.5}}}
            ),
        ],
        generated_build.raw_dir,
        generated_build.db_path,
        tmp_path,
        as_of=None,
    )
    assert warn.returncode == 0
    assert "WARN" in warn.stdout


@pytest.mark.slow
def test_stale_data_fails_freshness(tmp_path: Path) -> None:
    from segmentation.generate import generate

    generate(
        customers=400,
        days=120,
        seed=11,
        end=TEST_END - timedelta(days=30),
        out=tmp_path / "raw",
        truth_out=tmp_path / "truth",
        progress=False,
    )
    stale = build(tmp_path / "raw", tmp_path / "work")
    assert stale.returncode == 0, stale.output[-3000:]  # dev: freshness only warns
    assert "segment_freshness_segment_summary_data_through_at" in stale.output
    result = _dbt(["test", "--select", "test_name:segment_freshness"], stale, tmp_path / "work")
    assert result.returncode != 0
    assert "Failure in test segment_freshness_segment_summary_data_through_at" in result.stdout


def _rebuild_segments_with(
    definitions: list[dict[str, object]], select: str, generated_build: Build, tmp_path: Path
):
    """Rebuild `select` on a copy of the generated build with extra segment definitions."""
    copy = generated_build.copy(tmp_path / "copy.duckdb")
    return _dbt(
        ["build", "--select", select],
        copy,
        tmp_path,
        extra_segment_definitions=definitions,
    )


@pytest.mark.slow
def test_two_primary_segments_fail(generated_build: Build, tmp_path: Path) -> None:
    tie = [{"name": "Everyone", "type": "custom", "condition": "true", "priority": 10}]
    result = _rebuild_segments_with(tie, "customer_segments+", generated_build, tmp_path)
    assert result.returncode != 0
    assert "Failure in test one_primary_segment_per_person_customer_segments" in result.stdout


BAD_DEFINITIONS = {
    "unknown column": (
        [{"name": "Typo", "condition": "frequncy > 3", "priority": 500}],
        "Segment definition 'Typo': unknown column 'frequncy'",
    ),
    "unbalanced expression": (
        [{"name": "Unbalanced", "condition": "(frequency > 3", "priority": 500}],
        "Segment definition 'Unbalanced': broken expression",
    ),
    "expression that does not parse": (
        [{"name": "Dangling", "condition": "frequency > 3 and", "priority": 500}],
        "Segment definition 'Dangling': broken expression, SQL does not parse",
    ),
    "unknown parent": (
        [{"name": "Orphan", "condition": "frequency > 3", "parent": "Nope", "priority": 500}],
        "Segment definition 'Orphan': unknown parent 'Nope'",
    ),
    "parent cycle": (
        [
            {"name": "Chicken", "condition": "true", "parent": "Egg", "priority": 500},
            {"name": "Egg", "condition": "true", "parent": "Chicken", "priority": 501},
        ],
        "Segment definition 'Chicken': parent cycle Chicken -> Egg -> Chicken",
    ),
    "duplicate name": (
        [{"name": "Champions", "condition": "true", "priority": 500}],
        "Segment definition 'Champions': duplicate name",
    ),
    "subquery": (
        [
            {
                "name": "Sneaky",
                "condition": "person_id in (select person_id from core.dim_customers)",
                "priority": 500,
            }
        ],
        "Segment definition 'Sneaky': a subquery is not allowed",
    ),
    "table function": (
        [{"name": "Reader", "condition": "read_csv('/etc/passwd') is null", "priority": 500}],
        "Segment definition 'Reader': 'read_csv' is a table function",
    ),
    "second statement": (
        [
            {
                "name": "Dropper",
                "condition": "true); drop table segmentation.customer_features; select (1",
                "priority": 500,
            }
        ],
        "Segment definition 'Dropper': broken expression",
    ),
    "second clause": (
        [
            {
                "name": "Widener",
                "condition": "false) or (true) order by (person_id",
                "priority": 500,
            }
        ],
        "Segment definition 'Widener': broken expression, not one condition",
    ),
    "another relation": (
        [{"name": "Joiner", "condition": "dim_customers.person_id is not null", "priority": 500}],
        "Segment definition 'Joiner': 'dim_customers.person_id' refers to another relation",
    ),
    "unknown function": (
        [{"name": "Wizard", "condition": "frobnicate(frequency) > 1", "priority": 500}],
        "Segment definition 'Wizard': unknown function 'frobnicate'",
    ),
    "type error": (
        [{"name": "Mixed", "condition": "frequency > 'many'", "priority": 500}],
        "Segment definition 'Mixed': the condition fails on a row of customer_features",
    ),
    # parses as one expression, but pasted into `(...) and (parent)` it would escape both
    "escaping parentheses": (
        [{"name": "Escaper", "condition": "1=1) or (1=1", "priority": 500}],
        "Segment definition 'Escaper': broken expression, unbalanced parentheses",
    ),
    "comment": (
        # the engine takes it (the line ends the comment); pasted where a line is joined, no
        [{"name": "Muffler", "condition": "frequency > 3 -- note\n or true", "priority": 500}],
        "Segment definition 'Muffler': broken expression, a comment",
    ),
    "statement after a semicolon": (
        [
            {
                "name": "Semicolon",
                "condition": "frequency > 0; drop table segmentation.customer_features",
                "priority": 500,
            }
        ],
        "Segment definition 'Semicolon': broken expression",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_bad_definition_fails_before_any_table_is_written(
    case: str, generated_build: Build, tmp_path: Path
) -> None:
    definitions, message = BAD_DEFINITIONS[case]
    db_path = tmp_path / "fresh.duckdb"
    result = _dbt(
        ["build"], generated_build, tmp_path, db_path=db_path, extra_segment_definitions=definitions
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output[-3000:]
    assert "START sql" not in output


@pytest.mark.slow
def test_a_condition_with_engine_functions_builds(generated_build: Build, tmp_path: Path) -> None:
    """The engine judges a condition, not an allowlist of words: current_date, functions and
    casts are fine, and the segment gets its members."""
    extra = [
        {
            "name": "Bought This Year",
            "condition": "last_purchase_at >= date_trunc('year', current_date) - interval 2 year "
            "and lower(coalesce(rfm_segment, '')) <> 'lost'",
            "priority": 600,
        }
    ]
    result = _rebuild_segments_with(extra, "customer_segments", generated_build, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    members = Build(generated_build.raw_dir, tmp_path / "copy.duckdb", 0, "").scalar(
        "select count(*) from segmentation.customer_segments where segment = 'Bought This Year'"
    )
    assert members > 0


def test_online_retail_everyone_gets_rfm_and_lifecycle(online_retail_build: Build) -> None:
    missing_rfm = online_retail_build.scalar(
        "select count(*) from segmentation.customer_primary_segment as p "
        "inner join segmentation.customer_features as f on p.person_id = f.person_id "
        "where f.frequency > 0 and p.rfm_segment is null"
    )
    missing_stage = online_retail_build.scalar(
        "select count(*) from segmentation.customer_primary_segment where lifecycle_segment is null"
    )
    assert missing_rfm == 0 and missing_stage == 0
    prospects = online_retail_build.scalar(
        "select count(*) from segmentation.customer_features where frequency = 0"
    )
    buyers = online_retail_build.scalar(
        "select count(*) from segmentation.customer_primary_segment where rfm_segment is not null"
    )
    assert buyers > 4000 and prospects < 50  # only people whose every invoice was cancelled

    import duckdb

    from segmentation.summary import segment_summary_table

    con = duckdb.connect(str(online_retail_build.db_path), read_only=True)
    try:
        table = segment_summary_table(con)
    finally:
        con.close()
    print("\n" + table)
    assert "Champions" in table and "Prospect" in table


@pytest.mark.slow
def test_a_second_lifecycle_stage_fails(generated_build: Build, tmp_path: Path) -> None:
    extra = [{"name": "Everyone Active", "type": "lifecycle", "condition": "true", "priority": 600}]
    result = _rebuild_segments_with(extra, "customer_segments", generated_build, tmp_path)
    assert result.returncode != 0
    assert "Failure in test every_person_has_one_lifecycle_stage" in result.stdout


def test_a_member_unknown_to_dim_customers_fails(generated_build: Build, tmp_path: Path) -> None:
    import duckdb

    copy = generated_build.copy(tmp_path / "copy.duckdb")
    con = duckdb.connect(str(copy.db_path))
    try:
        con.execute(
            "insert into segmentation.customer_segments "
            "select 'ghost', segment_type, segment, parent_segment, priority, false, as_of, "
            "computed_at from segmentation.customer_segments where is_primary limit 1"
        )
    finally:
        con.close()
    result = _dbt(["test", "--select", "test_name:membership_reconciles"], copy, tmp_path)
    assert result.returncode != 0
    assert "Failure in test membership_reconciles_customer_segments" in result.stdout
