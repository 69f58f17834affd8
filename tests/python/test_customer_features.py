"""customer_features on real builds, checked against independent pandas computations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentation.contract import SCHEMAS

from conftest import TEST_AS_OF, Build, build
from independent import orders_with_net, people, valid_rows

AS_OF = pd.Timestamp(TEST_AS_OF)
DAY = pd.Timedelta(days=1)


def _score(values: pd.Series, ascending: bool) -> pd.Series:
    rank = (values if ascending else -values).rank(method="min")
    return (1 + np.floor(5 * (rank - 1) / len(values))).astype(int)


def _expected_rfm(raw_dir: Path, broken: pd.DataFrame) -> pd.DataFrame:
    orders = orders_with_net(raw_dir, broken)
    orders["person_id"] = orders.customer_id.map(people(raw_dir, broken))
    orders = orders.dropna(subset=["person_id"])
    per_person = orders.groupby("person_id").agg(
        frequency=("completed", "sum"),
        monetary=("net", "sum"),
        last_purchase_at=("ordered_at", lambda s: s[orders.loc[s.index, "completed"]].max()),
    )
    buyers = per_person[per_person.frequency > 0].copy()
    buyers["recency_days"] = np.floor((AS_OF - buyers.last_purchase_at) / DAY).astype(int)
    buyers["recency_score"] = _score(buyers.recency_days, ascending=False)
    buyers["frequency_score"] = _score(buyers.frequency, ascending=True)
    buyers["monetary_score"] = _score(buyers.monetary.round(2), ascending=True)
    return buyers


def test_rfm_matches_an_independent_pandas_computation(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    expected = _expected_rfm(generated_build.raw_dir, truth["broken_rows"])
    actual = generated_build.query(
        "select person_id, recency_days, frequency, cast(monetary as double) as monetary, "
        "recency_score, frequency_score, monetary_score "
        "from segmentation.customer_features where recency_days is not null"
    ).set_index("person_id")
    assert len(actual) > 500
    assert set(actual.index) == set(expected.index)
    expected = expected.loc[actual.index]
    for column in (
        "recency_days",
        "frequency",
        "recency_score",
        "frequency_score",
        "monetary_score",
    ):
        mismatched = actual[column] != expected[column]
        assert not mismatched.any(), (
            column,
            actual[mismatched].head(),
            expected[mismatched].head(),
        )
    assert (actual.monetary - expected.monetary).abs().max() < 0.05
    # classes as even as the ties allow: recency has few ties, so each score holds ~20 %
    shares = actual.recency_score.value_counts(normalize=True)
    assert shares.between(0.15, 0.25).all(), shares


def _resolved_web_events(raw_dir: Path, broken: pd.DataFrame, person_of: pd.Series) -> pd.DataFrame:
    """Web events with their person: an anonymous event takes the first identity its visitor
    reveals (earliest identified event; the smallest customer id on a tie)."""
    web = valid_rows(raw_dir, "web_events", ["event_id"], broken, "received_at")
    web = web.assign(visitor=web.anonymous_id.fillna("customer:" + web.customer_id.fillna("")))
    known = web.dropna(subset=["customer_id"]).sort_values(
        ["visitor", "occurred_at", "customer_id"]
    )
    first_identity = known.drop_duplicates("visitor").set_index("visitor").customer_id
    resolved = web.customer_id.fillna(web.visitor.map(first_identity))
    return web.assign(person_id=resolved.map(person_of)).dropna(subset=["person_id"])


def test_engagement_matches_an_independent_pandas_computation(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    broken = truth["broken_rows"]
    raw_dir = generated_build.raw_dir
    person_of = people(raw_dir, broken)
    weights = pd.read_csv(Path(__file__).parents[2] / "seeds" / "engagement_weights.csv")
    email = valid_rows(raw_dir, "email_events", ["event_id"], broken, "received_at")
    email = email.assign(person_id=email.customer_id.map(person_of), event_source="email")
    web = _resolved_web_events(raw_dir, broken, person_of).assign(event_source="web")
    events = pd.concat([email, web])[["person_id", "event_source", "event_type", "occurred_at"]]
    events = events.dropna(subset=["person_id"]).merge(weights, on=["event_source", "event_type"])
    age_days = (AS_OF - events.occurred_at) / DAY
    events["points"] = events.weight * 0.5 ** (age_days / 30)
    expected = events.groupby("person_id").points.sum()
    actual = generated_build.query(
        "select person_id, engagement_score from segmentation.customer_features"
    ).set_index("person_id")["engagement_score"]
    expected = expected.reindex(actual.index).fillna(0.0)
    assert (actual > 1).sum() > 500
    assert (actual - expected).abs().max() < 1e-4


def _pairs(groups: pd.Series) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for members in groups.groupby(groups).groups.values():
        ids = sorted(members)
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return pairs


def test_identity_merge_precision_and_recall(
    generated_build: Build, truth: dict[str, pd.DataFrame]
) -> None:
    mapping = generated_build.query(
        "select customer_id, person_id from intermediate.int_customers_merged"
    ).set_index("customer_id")["person_id"]
    true_people = truth["customers_truth"].set_index("customer_id")["person_id"]
    true_people = true_people.reindex(mapping.index)
    predicted, actual = _pairs(mapping), _pairs(true_people)
    true_positive = len(predicted & actual)
    precision = true_positive / len(predicted)
    recall = true_positive / len(actual)
    print(
        f"identity merge: precision {precision:.3f}, recall {recall:.3f}, true pairs {len(actual)}"
    )
    assert len(actual) > 20
    assert precision >= 0.99
    # records whose e-mail is missing cannot merge by e-mail: recall is bounded by them
    assert recall >= 0.85
    persons = generated_build.scalar("select count(*) from core.dim_customers")
    assert persons == mapping.nunique()


def _append_future_rows(src: Path, dst: Path) -> None:
    """A copy of src plus events, orders and e-mails dated after as_of for existing people."""
    dst.mkdir(parents=True)
    customers = pd.read_parquet(src / "customers.parquet").customer_id.dropna().unique()[:50]
    later = AS_OF + pd.Timedelta(hours=2)
    extra = {
        "web_events": pd.DataFrame(
            {
                "event_id": [f"future-w{i}" for i in range(len(customers))],
                "anonymous_id": [f"future-v{i}" for i in range(len(customers))],
                "customer_id": customers,
                "event_type": "add_to_cart",
                "occurred_at": later,
                "received_at": later,
            }
        ),
        "email_events": pd.DataFrame(
            {
                "event_id": [f"future-e{i}" for i in range(len(customers))],
                "customer_id": customers,
                "campaign_id": "future-campaign",
                "event_type": "click",
                "occurred_at": later,
                "received_at": later,
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": [f"future-o{i}" for i in range(len(customers))],
                "customer_id": customers,
                "ordered_at": later,
                "status": "completed",
                "currency": "EUR",
                "updated_at": later,
            }
        ),
    }
    for path in src.glob("*.parquet"):
        table = pq.read_table(path)
        if path.stem in extra:
            added = pa.Table.from_pandas(extra[path.stem], preserve_index=False)
            for name in SCHEMAS[path.stem].names:
                if name not in added.column_names:
                    added = added.append_column(name, pa.nulls(len(added)))
            table = pa.concat_tables([table, added.select(table.column_names).cast(table.schema)])
        pq.write_table(table, dst / path.name)


@pytest.mark.slow
def test_events_after_as_of_change_nothing(generated_build: Build, tmp_path: Path) -> None:
    _append_future_rows(generated_build.raw_dir, tmp_path / "raw")
    later = build(tmp_path / "raw", tmp_path / "work")
    assert later.returncode == 0, later.output[-5000:]
    query = "select * exclude (as_of) from segmentation.customer_features order by person_id"
    pd.testing.assert_frame_equal(generated_build.query(query), later.query(query))
    future = (
        "select count(*) from audit.audit_rejected_rows where reject_reason = 'future_timestamp'"
    )
    assert later.scalar(future) - generated_build.scalar(future) == 150


# Checked by hand against the raw invoices of the UCI file (as_of 2011-12-10 00:00 UTC):
# 12346 bought 74,215 units on 2011-01-18 10:01 and cancelled them the same day (C invoice);
# 12347 has 7 invoices, the last 2011-12-07 15:52; 12350 one invoice 2011-02-02 16:01;
# 17850 has 34 invoices and one credit note, the last invoice 2010-12-02 15:27;
# 18102 has 60 invoices and 2 credit notes, the last 2011-12-09 11:50.
ONLINE_RETAIL_RFM = {
    "12346": (325, 1, 0.00),
    "12347": (2, 7, 4310.00),
    "12350": (310, 1, 334.40),
    "17850": (372, 34, 5288.63),
    "18102": (0, 60, 256438.49),
}


def test_online_retail_rfm_of_five_customers_checked_by_hand(online_retail_build: Build) -> None:
    actual = online_retail_build.query(
        "select person_id, recency_days, frequency, cast(monetary as double) as monetary "
        "from segmentation.customer_features where person_id in "
        "('12346', '12347', '12350', '17850', '18102')"
    ).set_index("person_id")
    for person, (recency, frequency, monetary) in ONLINE_RETAIL_RFM.items():
        row = actual.loc[person]
        assert row.recency_days == recency, person
        assert row.frequency == frequency, person
        assert math.isclose(row.monetary, monetary, abs_tol=0.005), person
    no_engagement = online_retail_build.scalar(
        "select count(*) from segmentation.customer_features where engagement_score <> 0"
    )
    assert no_engagement == 0
