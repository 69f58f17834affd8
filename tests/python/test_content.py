"""The content marts (models/marts/content, docs/content.md) on real builds: each equals an
independent pandas computation (content_reference.py) from the staged tables, the
generated personas carry product-level affinity the evaluation can see, big baskets are
capped, and the business test on recommendations can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import content_reference as ref
from conftest import TEST_AS_OF, Build, run_dbt

AS_OF = pd.Timestamp(TEST_AS_OF)
S = ref.Settings()


def _products(build: Build) -> pd.DataFrame:
    return build.query("select * from staging.stg_raw__products")


@pytest.fixture(scope="module")
def events(generated_build: Build) -> pd.DataFrame:
    return ref.interactions(generated_build.query, _products(generated_build))


def test_interactions_equal_the_staged_views_carts_and_purchases(
    generated_build: Build, events: pd.DataFrame
) -> None:
    built = generated_build.query(
        "select person_id, product_id, basket_id, interaction, occurred_at "
        "from intermediate.int_person_product_events"
    )
    key = ["person_id", "product_id", "basket_id", "interaction", "occurred_at"]
    assert len(built) == len(events)
    pd.testing.assert_frame_equal(
        built.sort_values(key).reset_index(drop=True)[key],
        events.sort_values(key).reset_index(drop=True)[key],
    )
    assert set(events.interaction) == {"product_view", "add_to_cart", "purchase"}


def test_affinities_and_the_favourite_feature_equal_pandas(
    generated_build: Build, events: pd.DataFrame
) -> None:
    expected = ref.affinities(ref.weighted(events, AS_OF, S))
    expected = expected.rename(columns={"rank": "affinity_rank"})
    expected = expected[expected.affinity_rank <= 3].set_index(
        ["person_id", "affinity_type", "affinity_rank"]
    )
    built = generated_build.query("select * from content.customer_affinities").set_index(
        ["person_id", "affinity_type", "affinity_rank"]
    )
    assert set(built.index) == set(expected.index)
    joined = built.join(expected)
    assert (joined.affinity_value == joined.value).all()
    assert np.allclose(joined.affinity_weight, joined.w, rtol=1e-9)
    assert np.allclose(joined.affinity_share, joined.share, rtol=1e-9)
    features = generated_build.query(
        "select person_id, favourite_category, favourite_category_share, favourite_brand "
        "from segmentation.customer_features"
    ).set_index("person_id")
    top = expected.xs(1, level="affinity_rank")
    fav = top.xs("category", level="affinity_type")
    assert features.favourite_category.dropna().to_dict() == fav.value.to_dict()
    assert np.allclose(
        features.favourite_category_share.dropna().sort_index(), fav.share.sort_index()
    )
    assert (
        features.favourite_brand.dropna().to_dict()
        == top.xs("brand", level="affinity_type").value.to_dict()
    )


def test_outdoor_enthusiasts_are_the_people_the_condition_names(generated_build: Build) -> None:
    members = set(
        generated_build.query(
            "select person_id from segmentation.customer_segments "
            "where segment = 'Outdoor Enthusiasts'"
        ).person_id
    )
    features = generated_build.query(
        "select person_id from segmentation.customer_features "
        "where favourite_category = 'sports_outdoors' and favourite_category_share >= 0.4"
    )
    assert members == set(features.person_id) and len(members) > 20


def test_favourite_category_recovers_the_planted_one(
    generated: tuple[Path, Path], generated_build: Build
) -> None:
    """The generator gives each person a favourite category (45 % of their product draws,
    their anchor product too): the built favourite is it for most people with activity."""
    _, truth_dir = generated
    persons = pd.read_parquet(truth_dir / "simulator_state" / "persons.parquet")
    from segmentation.personas import CATEGORIES

    planted = pd.Series(
        [CATEGORIES[f] for f in persons.fav], index=[f"C{n:07d}" for n in persons.rec_num]
    )
    built = (
        generated_build.query(
            "select m.customer_id, f.favourite_category from intermediate.int_customers_merged m "
            "join segmentation.customer_features f using (person_id) "
            "where f.favourite_category is not null"
        )
        .set_index("customer_id")
        .favourite_category
    )
    common = built.index.intersection(planted.index)
    agreement = (built[common] == planted[common]).mean()
    assert len(common) > 1000 and agreement > 0.7, agreement


def test_abandoned_products_equal_pandas(generated_build: Build, events: pd.DataFrame) -> None:
    lo = AS_OF - pd.Timedelta(days=S.abandonment_days)
    e = events[events.occurred_at <= AS_OF]
    recent = e[e.interaction.isin(["product_view", "add_to_cart"]) & (e.occurred_at > lo)]
    last = recent.groupby(["person_id", "product_id"]).agg(
        last_at=("occurred_at", "max"),
        carts=("interaction", lambda x: int((x == "add_to_cart").sum())),
    )
    bought = e[e.interaction == "purchase"].groupby(["person_id", "product_id"]).occurred_at.max()
    last = last.join(bought.rename("bought_at"))
    expected = last[last.bought_at.isna() | (last.bought_at < last.last_at)].reset_index()
    expected = expected.sort_values(["person_id", "last_at", "product_id"], ascending=[1, 0, 1])
    expected["rank"] = expected.groupby("person_id").cumcount() + 1
    built = generated_build.query("select * from content.customer_abandoned_products")
    merged = built.merge(expected, on=["person_id", "product_id"], how="outer", indicator=True)
    assert (merged._merge == "both").all(), merged._merge.value_counts()
    assert (merged.recency_rank == merged["rank"]).all()
    assert ((merged.abandonment_type == "cart") == (merged.carts > 0)).all()
    assert (merged.last_interaction_at == merged.last_at).all()
    # the products of abandoned carts are the cart-abandonment segments' content
    carts = generated_build.query(
        "select distinct person_id, product_id from intermediate.int_cart_events_evaluated "
        "where event_type = 'add_to_cart' and not is_purchased_within_window "
        f"and window_closes_at <= '{TEST_AS_OF}' and occurred_at > '{lo}' and person_id is not null"
    )
    in_cart = built[built.is_in_abandoned_cart]
    abandoned_carts = set(zip(carts.person_id, carts.product_id, strict=True))
    expected_in_cart = {
        key
        for key in zip(expected.person_id, expected.product_id, strict=True)
        if key in abandoned_carts
    }
    assert set(zip(in_cart.person_id, in_cart.product_id, strict=True)) == expected_in_cart
    # nearly every Hot Abandoner has a cart product to show (the others bought it since, or
    # abandoned it on the 8th day: days_since_last_abandoned_cart <= 7 is whole days)
    hot = set(
        generated_build.query(
            "select person_id from segmentation.customer_segments where segment = 'Hot Abandoners'"
        ).person_id
    )
    assert len(hot & set(in_cart.person_id)) >= 0.8 * len(hot) > 0


def test_associations_equal_pandas(generated_build: Build, events: pd.DataFrame) -> None:
    expected = ref.associations(events, AS_OF, S).set_index(["product_id", "associated_product_id"])
    built = generated_build.query("select * from content.product_associations").set_index(
        ["product_id", "associated_product_id"]
    )
    assert set(built.index) == set(expected.index) and len(built) > 1000
    joined = built.join(expected.add_prefix("expected_"))
    assert (joined.co_bought_baskets == joined.expected_co).all()
    assert (joined.viewed_then_bought_baskets == joined.expected_vb).all()
    assert np.allclose(joined.association_score, joined.expected_score, rtol=1e-12)
    assert (joined.support == joined.expected_support).all()
    assert (joined.neighbour_rank == joined.expected_neighbour_rank).all()
    assert joined.viewed_then_bought_baskets.sum() > 0 and joined.co_bought_baskets.sum() > 0


def _compare_rankings(built: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same score at every (person, rank), same product unless scores tie to 1e-9."""
    b = built.set_index(["person_id", "recommendation_rank"]).sort_index()
    e = expected.rename(columns={"rank": "recommendation_rank"})
    e = e.set_index(["person_id", "recommendation_rank"]).sort_index()
    assert b.index.equals(e.index)
    assert np.allclose(b.score, e.score, rtol=1e-9)
    assert (b.recommendation_source == e.source).all()
    differ = b.product_id != e.product_id
    rounded = e.score.round(9)
    ties = rounded.groupby(level=0).transform(lambda x: x.duplicated(keep=False))
    assert (~differ | ties).all(), b[differ & ~ties].head()
    assert (b.reason[~differ] == e.reason[~differ]).all()


def test_recommendations_equal_pandas(generated_build: Build, events: pd.DataFrame) -> None:
    people = pd.Index(generated_build.query("select person_id from core.dim_customers").person_id)
    w = ref.weighted(events, AS_OF, S)
    expected = ref.recommend(
        w, ref.associations(events, AS_OF, S), people, AS_OF, tuple(ref.METHODS["co_occurrence"]), S
    )
    built = generated_build.query("select * from content.customer_recommendations")
    _compare_rankings(built, expected)
    # everyone gets recommendation_count, cold start included
    assert (
        built.groupby("person_id").size() == S.count
    ).all() and built.person_id.nunique() == len(people)
    assert set(built.recommendation_source) == {
        "co_occurrence",
        "category_popularity",
        "popularity",
    }
    assert built.reason.str.match(
        r"^(co_bought_with:SKU|viewed_then_bought:SKU|popular_in:\w+$|popular$)"
    ).all()


def test_evaluation_equals_pandas_and_tells_methods_apart(
    generated_build: Build, events: pd.DataFrame
) -> None:
    expected = ref.evaluation(events, AS_OF, S)
    built = generated_build.query("select * from content.recommendation_evaluation").set_index(
        "recommendation_method"
    )
    assert set(built.index) == set(expected.index)
    expected = expected.reindex(built.index)
    for column in ("people_evaluated", "test_purchases"):
        assert (built[column] == expected[column]).all()
    for column in ("hit_rate_at_5", "hit_rate_at_10", "recall_at_10"):
        assert np.allclose(built[column], expected[column].reindex(built.index), atol=1e-12), column
    hit = built.hit_rate_at_10
    # the generated data has product-level structure (anchor products, companions bought
    # together and after): co-occurrence beats popularity in the favourite category, which
    # beats plain popularity
    assert hit["co_occurrence"] > hit["category_popularity"] > hit["popularity"], hit
    assert built.loc["co_occurrence", "hit_rate_at_10_lift"] > 1.3


def test_a_recommended_bought_product_fails_the_build_test(
    generated_build: Build, tmp_path: Path
) -> None:
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(copy.db_path))
    try:
        con.execute(f"attach '{copy.db_path.with_name('warehouse_work.duckdb')}' as work")
        con.execute(
            "insert into content.customer_recommendations "
            "(person_id, product_id, recommendation_rank) "
            "select person_id, product_id, 99 from work.intermediate.int_person_product_events "
            "where interaction = 'purchase' and category not in ('grocery', 'beauty') limit 1"
        )
    finally:
        con.close()
    result = run_dbt(
        ["test", "-s", "customer_recommendations"], copy.raw_dir, copy.db_path, tmp_path, TEST_AS_OF
    )
    assert result.returncode != 0
    assert "recommends_no_bought_product" in result.stdout
    assert "values_between_customer_recommendations_recommendation_rank" in result.stdout


def test_online_retail_big_baskets_are_capped_and_evaluated(online_retail_build: Build) -> None:
    """Invoices of hundreds of lines: a basket counts at most max_basket products, the
    associations equal pandas, and the evaluation runs on the invoices."""
    build = online_retail_build
    as_of = pd.Timestamp(
        build.scalar("select max(evaluated_as_of) from content.recommendation_evaluation")
    )
    events = ref.interactions(build.query, _products(build))
    sizes = events[events.interaction == "purchase"].groupby("basket_id").size()
    assert sizes.max() > 5 * S.max_basket
    expected = ref.associations(events, as_of, S).set_index(["product_id", "associated_product_id"])
    built = build.query("select * from content.product_associations").set_index(
        ["product_id", "associated_product_id"]
    )
    assert set(built.index) == set(expected.index)
    joined = built.join(expected.add_prefix("expected_"))
    assert (joined.co_bought_baskets == joined.expected_co).all()
    assert (joined.viewed_then_bought_baskets == 0).all()  # no web events
    evaluation = build.query("select * from content.recommendation_evaluation").set_index(
        "recommendation_method"
    )
    assert evaluation.people_evaluated.min() > 500
    assert (evaluation.hit_rate_at_10 > 0).all()


def test_favourite_category_is_a_merge_field(generated_build: Build) -> None:
    members = generated_build.query(
        "select m.favourite_category as merged, f.favourite_category as feature "
        "from activation.audience_members as m "
        "join segmentation.customer_features as f using (person_id)"
    )
    assert len(members) > 100 and members.merged.notna().mean() > 0.9
    assert (members.merged.fillna("-") == members.feature.fillna("-")).all()


def test_recommendations_written_in_batches_equal_one_batch(
    generated_build: Build, tmp_path: Path
) -> None:
    """Batches of 300 people (7 hash buckets, the post-hook inserting 6) give the same rows."""
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    query = (
        "select person_id, product_id, recommendation_source, reason, recommendation_rank, "
        "round(score, 9) as score from content.customer_recommendations order by all"
    )
    before = copy.query(query)
    env_vars = f'{{as_of: "{TEST_AS_OF}", recommendation_batch_people: 300}}'
    # --full-refresh: everyone is recomputed (an incremental run keeps the untouched)
    result = run_dbt(
        ["run", "-s", "customer_recommendations", "--full-refresh", "--vars", env_vars],
        copy.raw_dir,
        copy.db_path,
        tmp_path,
        None,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    after = copy.query(query)
    assert after.person_id.nunique() == before.person_id.nunique() > 1500
    pd.testing.assert_frame_equal(after, before)
    assert (
        copy.scalar("select count(distinct loaded_at) from content.customer_recommendations") == 1
    )


FIT_TABLES = ("product_associations", "product_popularity", "recommendation_evaluation")
RECOMMENDED = (
    "select person_id, product_id, product_name, category, brand, recommendation_source, reason, "
    "recommendation_rank, round(score, 9) as score, price, fitted_as_of, fit_config "
    "from content.customer_recommendations order by person_id, recommendation_rank"
)


def _fitted_as_of(build: Build) -> set[pd.Timestamp]:
    return {
        pd.Timestamp(value)
        for table in (*FIT_TABLES, "customer_recommendations")
        for value in build.query(f"select distinct fitted_as_of from content.{table}").iloc[:, 0]
    }


def _content_run(build: Build, work: Path, as_of: pd.Timestamp, args: list[str], **variables):
    result = run_dbt(
        [*args, *(["--exclude-resource-type", "unit_test"] if args[0] == "build" else [])],
        build.raw_dir,
        build.db_path,
        work,
        f"{as_of:%Y-%m-%d %H:%M:%S}",
        variables or None,
    )
    assert result.returncode == 0, result.stdout[-5000:]


def test_a_refresh_recomputes_only_the_touched_people_and_keeps_the_fit(
    generated_build: Build, generated: tuple[Path, Path], tmp_path: Path
) -> None:
    """One new day, an incremental build within recommendation_refit_every_days: the content
    fit stays (fitted_as_of), only the people whose interactions changed are rewritten (in
    batches), and the table equals everyone recomputed on that fit (a --full-refresh of the
    model alone).
    A week on, or with another setting, the fit is redone and everyone rewritten."""
    from segmentation.append import append_days

    raw, truth = tmp_path / "raw", tmp_path / "truth"
    shutil.copytree(generated[0], raw)
    shutil.copytree(generated[1], truth)
    copy = generated_build.copy(tmp_path / "warehouse.duckdb")
    copy = Build(raw, copy.db_path, copy.returncode, copy.output)
    append_days(raw, 1, seed=5, progress=False, truth_out=truth)
    fits = {
        table: copy.query(f"select * from content.{table} order by all") for table in FIT_TABLES
    }
    day = AS_OF + pd.Timedelta(days=1)
    # batches of 50 people: the touched people are recomputed in several (an upstream reload
    # touches nearly everyone, and one batch of a million people would not fit in memory)
    _content_run(copy, tmp_path, day, ["build"], recommendation_batch_people=50)
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert log.count('insert into "warehouse"."content"."customer_recommendations"') >= 2

    assert _fitted_as_of(copy) == {AS_OF}
    for table, before in fits.items():
        pd.testing.assert_frame_equal(
            copy.query(f"select * from content.{table} order by all"), before
        )
    written = copy.query(
        "select loaded_at, count(distinct person_id) as people "
        "from content.customer_recommendations group by loaded_at order by loaded_at"
    )
    people = copy.scalar("select count(*) from core.dim_customers")
    assert len(written) == 2 and 0 < written.people.iat[1] < 0.5 * people
    assert written.people.sum() == people
    recomputed = copy.copy(tmp_path / "recomputed.duckdb")
    _content_run(
        recomputed, tmp_path, day, ["run", "-s", "customer_recommendations", "--full-refresh"]
    )
    pd.testing.assert_frame_equal(copy.query(RECOMMENDED), recomputed.query(RECOMMENDED))

    # within the cadence another setting refits; a week after the fit the cadence does
    weight = copy.copy(tmp_path / "weight.duckdb")
    _content_run(
        weight,
        tmp_path,
        day,
        ["build", "-s", "product_associations+"],
        recommendation_popularity_weight=0.25,
    )
    assert _fitted_as_of(weight) == {day}
    week = AS_OF + pd.Timedelta(days=7)
    _content_run(copy, tmp_path, week, ["build", "-s", "product_associations+"])
    assert _fitted_as_of(copy) == {week}
    assert (
        copy.scalar("select count(distinct loaded_at) from content.customer_recommendations") == 1
    )
