"""Does a segment work: the performance marts on a closed loop. The warehouse is built,
the e-mail platform (the generator) sends four weeks of campaigns to the audiences it
exported, holding out half of each (audience_holdout_overrides), with a planted e-mail
effect per persona; the warehouse is built again. Every mart is compared with a pandas
computation from the two builds' tables, and the measured uplift with the planted one."""

from __future__ import annotations

import math
import re
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from segmentation.uplift import persona_uplift

from conftest import PROJECT, TEST_END, Build, build, run_dbt

CUSTOMERS = 3_000
DAYS = 240
WEEKS_DAYS = 28
WINDOW_DAYS = 5  # var campaign_attribution_days
FIRST, SECOND = TEST_END, TEST_END + timedelta(days=WEEKS_DAYS)
AUDIENCES_YML = PROJECT / "models" / "marts" / "activation" / "_activation__audiences.yml"


def _ts(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _variables() -> dict:
    spec = yaml.safe_load(AUDIENCES_YML.read_text())["models"][0]["config"]["meta"]
    # half of every audience held out: enough people on both sides to measure per persona
    return {"audience_holdout_overrides": {a["name"]: 0.5 for a in spec["audiences"]}}


class Loop:
    """The two builds: ``before`` (a copy of the first) and ``after`` (incremental)."""

    def __init__(self, root: Path, before: Build, after: Build, truth: Path) -> None:
        self.root, self.before, self.after = root, before, after
        self.personas = pd.read_parquet(truth / "customers_truth.parquet")[
            ["customer_id", "persona"]
        ].rename(columns={"customer_id": "person_id"})


@pytest.fixture(scope="session")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    from segmentation.append import append_days
    from segmentation.generate import generate

    root = tmp_path_factory.mktemp("campaign_loop")
    raw, truth = root / "raw", root / "truth"
    generate(customers=CUSTOMERS, days=DAYS, seed=11, end=FIRST, out=raw, truth_out=truth,
             progress=False)  # fmt: skip
    # a campaigns file written before the contract had `audience`: it reads as null
    campaigns = raw / "email_campaigns.parquet"
    pq.write_table(pq.read_table(campaigns).drop(["audience"]), campaigns)
    first = build(raw, root / "work", _ts(FIRST), _variables())
    assert first.returncode == 0, first.output[-5000:]
    before = first.copy(root / "before.duckdb")
    append_days(raw, WEEKS_DAYS, seed=5, progress=False, truth_out=truth,
                audiences_from=first.db_path)  # fmt: skip
    result = run_dbt(["build"], raw, first.db_path, root / "work", _ts(SECOND), _variables())
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return Loop(root, before, first, truth)


def _outcomes(loop: Loop) -> pd.DataFrame:
    return loop.after.query("select * from performance.campaign_holdout_outcomes")


def test_the_platform_sent_to_treatment_only(loop: Loop) -> None:
    out = _outcomes(loop)
    assert set(out.split_group) == {"treatment", "holdout"}
    assert not out[out.split_group == "holdout"].was_sent.any()
    assert out[out.split_group == "treatment"].was_sent.mean() > 0.95
    audiences = loop.after.query(
        "select audience, count(*) as n from staging.stg_raw__email_campaigns group by 1"
    ).set_index("audience")["n"]
    assert audiences.drop(index=[None], errors="ignore").min() == 4  # one a week
    # the old file without the column: those campaigns have none
    assert loop.after.scalar(
        "select count(*) from staging.stg_raw__email_campaigns "
        f"where audience is null and sent_at <= timestamp '{_ts(FIRST)}'"
    ) == loop.before.scalar("select count(*) from staging.stg_raw__email_campaigns")


def _difference(t: pd.Series, h: pd.Series, z: float, ddof: int = 1) -> tuple[float, float, float]:
    """Difference of two means with its normal-approximation interval (ddof 0 on 0/1
    values: the proportions' variance p(1 - p))."""
    diff = t.mean() - h.mean()
    se = math.sqrt(t.var(ddof=ddof) / len(t) + h.var(ddof=ddof) / len(h))
    return diff, diff - z * se, diff + z * se


def test_uplift_equals_an_independent_computation(loop: Loop) -> None:
    """Population from the first build's audience_members (the state at every send),
    orders from fct_orders; conversion and revenue per person, difference and interval."""
    members = loop.before.query(
        "select audience, person_id, split_group from activation.audience_members "
        "where split_group in ('treatment', 'holdout')"
    )
    campaigns = loop.after.query(
        "select campaign_id, audience, sent_at from staging.stg_raw__email_campaigns "
        "where audience is not null"
    )
    orders = loop.after.query(
        "select person_id, ordered_at, cast(net_revenue as double) as revenue "
        "from core.fct_orders where status <> 'cancelled'"
    )
    pop = campaigns.merge(members, on="audience")
    hit = pop.merge(orders, on="person_id")
    hit = hit[(hit.ordered_at > hit.sent_at)
              & (hit.ordered_at <= hit.sent_at + pd.Timedelta(days=WINDOW_DAYS))]  # fmt: skip
    per = hit.groupby(["campaign_id", "person_id"]).revenue.agg(["size", "sum"]).reset_index()
    pop = pop.merge(per, on=["campaign_id", "person_id"], how="left").fillna({"size": 0, "sum": 0})
    pop["converted"] = (pop["size"] > 0).astype(float)
    uplift = loop.after.query("select * from performance.campaign_uplift").set_index("campaign_id")
    assert len(uplift) == campaigns.campaign_id.nunique()
    for cid, group in pop.groupby("campaign_id"):
        t, h = group[group.split_group == "treatment"], group[group.split_group == "holdout"]
        row = uplift.loc[cid]
        assert (row.treatment_people, row.holdout_people) == (len(t), len(h))
        if len(t) < 2 or len(h) < 2:
            continue
        diff, low, high = _difference(t.converted, h.converted, 1.959963984540054, ddof=0)
        assert row.conversion_uplift == pytest.approx(diff, abs=1e-12)
        assert row.conversion_uplift_ci_low == pytest.approx(low, abs=1e-9)
        assert row.conversion_uplift_ci_high == pytest.approx(high, abs=1e-9)
        diff, low, high = _difference(t["sum"], h["sum"], 1.959963984540054)
        assert row.revenue_uplift == pytest.approx(diff, abs=1e-6)
        assert row.revenue_uplift_ci_low == pytest.approx(low, abs=1e-6)
        assert row.revenue_uplift_ci_high == pytest.approx(high, abs=1e-6)


def test_uplift_recovers_the_planted_effect_per_persona(loop: Loop) -> None:
    """A delivered audience e-mail brings an order with the persona's email_lift, so the
    conversion uplift is lift x delivered share of the treatment x (1 - the holdout's
    conversion: who converts anyway cannot convert twice). It must lie in the measured 99 %
    interval for every persona with enough people (95 % over all, which excludes zero),
    and the measured uplifts must rank the personas as the planted lifts do."""
    out = _outcomes(loop)
    assert out.merge(loop.personas, on="person_id").shape[0] > 0.97 * len(out)
    delivered = loop.after.query(
        "select person_id, campaign_id from core.fct_email_engagement where is_delivered"
    )
    table = persona_uplift(out, delivered, loop.personas)
    print(table.to_string())
    personas = table[
        (table.persona != "all") & (table[["treatment", "holdout"]].min(axis=1) >= 150)
    ]
    assert len(personas) >= 4, table
    for row in personas.itertuples():
        assert row.low <= row.planted <= row.high, row
    assert np.corrcoef(personas.planted, personas.measured)[0, 1] > 0.6, table
    everyone = table[table.persona == "all"].iloc[0]
    assert everyone.low <= everyone.planted <= everyone.high and everyone.low > 0, everyone


def test_campaign_segments_are_those_at_send_time(loop: Loop) -> None:
    """Campaigns after the first build: the recipients per segment equal the recipients
    joined to the first build's memberships (the state at their send); before it: all
    '(before history)'."""
    perf = loop.after.query("select * from performance.fct_campaign_segment_performance")
    recipients = loop.after.query(
        "select distinct person_id, campaign_id, campaign_sent_at "
        "from core.fct_email_engagement where is_sent and person_id is not null"
    )
    old = recipients[recipients.campaign_sent_at <= pd.Timestamp(FIRST)]
    before = perf[perf.campaign_sent_at <= pd.Timestamp(FIRST)]
    assert set(before.segment) == {"(before history)", "(all recipients)"}
    assert before[before.segment == "(before history)"].recipients.sum() == len(
        old.drop_duplicates(["person_id", "campaign_id"])
    )
    new = recipients[recipients.campaign_sent_at > pd.Timestamp(FIRST)]
    segments = loop.before.query("select person_id, segment from segmentation.customer_segments")
    expected = new.merge(segments, on="person_id").groupby(["campaign_id", "segment"]).size()
    after = perf[perf.campaign_sent_at > pd.Timestamp(FIRST)]
    got = after[~after.segment_type.isin(["all", "none"])].set_index(["campaign_id", "segment"])
    pd.testing.assert_series_equal(
        got.recipients.sort_index(), expected.sort_index().astype("int64"),
        check_names=False,
    )  # fmt: skip
    unsegmented = set(new.person_id) - set(segments.person_id)
    none = after[after.segment == "(no segment)"].recipients.sum()
    assert none == len(new[new.person_id.isin(unsegmented)])
    assert (after.conversions <= after.recipients).all() and after.conversions.sum() > 0


def test_cohorts_equal_an_independent_computation(loop: Loop) -> None:
    orders = loop.after.query(
        "select person_id, ordered_at, cast(net_revenue as double) as revenue "
        "from core.fct_orders where status <> 'cancelled' and person_id is not null"
    )
    orders["month"] = orders.ordered_at.dt.to_period("M")
    orders["cohort"] = orders.groupby("person_id").month.transform("min")
    orders["since"] = (orders.month - orders.cohort).apply(lambda d: d.n)
    cells = orders.groupby(["cohort", "since"]).agg(
        active=("person_id", "nunique"), n=("person_id", "size"), amount=("revenue", "sum")
    )
    size = orders.drop_duplicates("person_id").groupby("cohort").size()
    got = loop.after.query("select * from performance.fct_customer_cohorts")
    got["cohort"] = pd.to_datetime(got.cohort_month).dt.to_period("M")
    got = got.set_index(["cohort", "months_since_first_order"])
    assert got.cohort_customers.groupby(level=0).first().to_dict() == size.to_dict()
    joined = got.join(cells.rename_axis(["cohort", "months_since_first_order"]), how="left")
    joined = joined.fillna({"active": 0, "n": 0, "amount": 0.0})
    assert (joined.active_customers == joined.active).all()
    assert (joined.orders == joined.n).all()
    np.testing.assert_allclose(joined.revenue, joined.amount, atol=1e-6)
    np.testing.assert_allclose(joined.retention_rate, joined.active / joined.cohort_customers)
    assert len(cells) == (joined.active > 0).sum()  # every observed cell is in the grid
    month0 = got.xs(0, level="months_since_first_order")
    assert (month0.retention_rate == 1.0).all()  # everyone ordered in their first month


def test_migration_matrix_between_the_two_runs(loop: Loop) -> None:
    query = (
        "select person_id, segment from segmentation.customer_segments where segment_type = '{}'"
    )
    got = loop.after.query("select * from performance.segment_migration")
    assert set(got.from_as_of) == {pd.Timestamp(FIRST)}
    assert set(got.to_as_of) == {pd.Timestamp(SECOND)}
    for segment_type in ("rfm", "lifecycle"):
        then = loop.before.query(query.format(segment_type))
        now = loop.after.query(query.format(segment_type))
        moves = then.merge(now, on="person_id", how="outer", suffixes=("_from", "_to"))
        expected = moves.fillna("(none)").groupby(["segment_from", "segment_to"]).size()
        rows = got[got.segment_type == segment_type].set_index(["from_segment", "to_segment"])
        assert rows.people.sort_index().tolist() == expected.sort_index().tolist()
        assert rows.index.sort_values().tolist() == expected.index.sort_values().tolist()
        shares = rows.groupby(level=0).share_of_from.sum()
        np.testing.assert_allclose(shares, 1.0)
    moved = got[(got.segment_type == "rfm") & (got.from_segment != got.to_segment)]
    assert moved.people.sum() > 0  # four weeks move people between RFM cells


def test_size_trend_has_every_segment_at_every_run(loop: Loop) -> None:
    trend = loop.after.query("select * from performance.segment_size_trend")
    assert set(trend.as_of) == {pd.Timestamp(FIRST), pd.Timestamp(SECOND)}
    for build_, moment in ((loop.before, FIRST), (loop.after, SECOND)):
        summary = build_.query("select segment, members from segmentation.segment_summary")
        at = trend[trend.as_of == pd.Timestamp(moment)].set_index("segment").members
        expected = summary.set_index("segment").members.astype("int64")
        # a segment gone since (a renamed cluster) is at zero, not at its last size
        expected = expected.reindex(at.index.union(expected.index), fill_value=0)
        assert at.to_dict() == expected.to_dict()


def test_holdout_rule_fails_when_a_holdout_is_sent(loop: Loop, tmp_path: Path) -> None:
    """The dbt test holdout_not_sent warns when the platform e-mailed someone held out
    (the measurement would be contaminated): planted in a copy, it fires."""
    copy = loop.after.copy(tmp_path / "planted.duckdb")
    ok = run_dbt(["test", "-s", "campaign_holdout_outcomes"], copy.raw_dir, copy.db_path,
                 tmp_path, _ts(SECOND), _variables())  # fmt: skip
    assert ok.returncode == 0 and "WARN=0" in ok.stdout, ok.stdout[-3000:]
    import duckdb

    con = duckdb.connect(str(copy.db_path))
    con.execute(
        "update performance.campaign_holdout_outcomes set was_sent = true "
        "where person_id = (select min(person_id) from performance.campaign_holdout_outcomes "
        "where split_group = 'holdout')"
    )
    con.close()
    planted = run_dbt(["test", "-s", "campaign_holdout_outcomes"], copy.raw_dir, copy.db_path,
                      tmp_path, _ts(SECOND), _variables())  # fmt: skip
    # the planted person is in every campaign of their audience: one row each
    assert re.search(r"WARN [1-9]\d* holdout_not_sent", planted.stdout), planted.stdout[-3000:]
    shutil.rmtree(tmp_path / "target", ignore_errors=True)
