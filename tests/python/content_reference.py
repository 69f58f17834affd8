"""An independent pandas computation of the content marts (docs/content.md) from the staged
tables of a build: interactions, affinities, abandoned products, item associations,
recommendations and their offline evaluation. It shares no code with the dbt macros it
checks (macros/content/); only the rules are the same."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEIGHTS = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


@dataclass(frozen=True)
class Settings:
    """The dbt_project.yml defaults of the content vars."""

    half_life_days: float = 60.0
    abandonment_days: int = 7
    count: int = 10
    seeds: int = 5
    neighbours: int = 10
    min_support: int = 2
    max_basket: int = 20
    view_window_hours: int = 24
    popularity_days: int = 90
    popularity_weight: float = 0.5
    repeatable: tuple[str, ...] = ("grocery", "beauty")
    evaluation_days: int = 30


def interactions(query, products: pd.DataFrame) -> pd.DataFrame:
    """Product views and cart adds of identified visitors, and the products of the orders
    that were not cancelled (one row per order and product), catalogued products only."""
    web = query(
        "select person_id, product_id, event_type as interaction, session_id as basket_id, "
        "occurred_at from intermediate.int_web_events_sessionized "
        "where person_id is not null and product_id is not null "
        "and event_type in ('product_view', 'add_to_cart')"
    )
    bought = query(
        "select o.person_id, i.product_id, o.order_id as basket_id, o.ordered_at as occurred_at "
        "from core.fct_orders as o join staging.stg_raw__order_items as i using (order_id) "
        "where o.person_id is not null and o.status <> 'cancelled' "
        "and i.product_id is not null and i.quantity >= 0"
    ).drop_duplicates()
    bought["interaction"] = "purchase"
    events = pd.concat([web, bought], ignore_index=True)
    return events.merge(products[["product_id", "category", "brand"]], on="product_id")


def weighted(events: pd.DataFrame, cutoff: pd.Timestamp, s: Settings) -> pd.DataFrame:
    out = events[events.occurred_at <= cutoff].copy()
    days = (cutoff - out.occurred_at).dt.total_seconds() / 86400.0
    out["w"] = out.interaction.map(WEIGHTS) * np.exp(-np.log(2.0) * days / s.half_life_days)
    return out


def affinities(w: pd.DataFrame) -> pd.DataFrame:
    """person x type x value: weight, share, rank (all ranks)."""
    parts = []
    for kind in ("category", "brand"):
        g = w.dropna(subset=[kind]).groupby(["person_id", kind]).w.sum().reset_index()
        g = g.rename(columns={kind: "value"}).assign(affinity_type=kind)
        g["share"] = g.w / g.groupby("person_id").w.transform("sum")
        g = g.sort_values(["person_id", "w", "value"], ascending=[True, False, True])
        g["rank"] = g.groupby("person_id").cumcount() + 1
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def associations(events: pd.DataFrame, cutoff: pd.Timestamp, s: Settings) -> pd.DataFrame:
    """product x associated product, the best ``neighbours`` of each product."""
    e = events[events.occurred_at <= cutoff]
    lines = e[e.interaction == "purchase"][["person_id", "basket_id", "product_id", "occurred_at"]]
    lines = lines.drop_duplicates().copy()
    lines["h"] = [_md5(f"{b}|{p}") for b, p in zip(lines.basket_id, lines.product_id, strict=True)]
    lines = lines.sort_values(["basket_id", "h", "product_id"])
    bp = lines[lines.groupby("basket_id").cumcount() < s.max_basket]
    pairs = bp[["basket_id", "product_id"]].merge(bp[["basket_id", "product_id"]], on="basket_id")
    pairs = pairs[pairs.product_id_x != pairs.product_id_y]
    co = pairs.groupby(["product_id_x", "product_id_y"]).size().rename("co")
    baskets = bp[["basket_id", "person_id", "occurred_at"]].drop_duplicates()
    views = e[e.interaction == "product_view"][["person_id", "product_id", "occurred_at"]]
    v = baskets.merge(views, on="person_id", suffixes=("", "_view"))
    window = pd.Timedelta(hours=s.view_window_hours)
    v = v[(v.occurred_at_view <= v.occurred_at) & (v.occurred_at_view > v.occurred_at - window)]
    in_basket = set(zip(bp.basket_id, bp.product_id, strict=True))
    keep = [(b, p) not in in_basket for b, p in zip(v.basket_id, v.product_id, strict=True)]
    v = v[np.array(keep, dtype=bool)]
    v = v.groupby(["basket_id", "product_id"]).occurred_at_view.max().reset_index()
    v = v.sort_values(["basket_id", "occurred_at_view", "product_id"], ascending=[1, 0, 1])
    cv = v[v.groupby("basket_id").cumcount() < s.max_basket][["basket_id", "product_id"]]
    vb = cv.merge(bp[["basket_id", "product_id"]], on="basket_id")
    vb = vb.groupby(["product_id_x", "product_id_y"]).size().rename("vb")
    out = pd.concat([co, vb], axis=1).fillna(0).astype(np.int64).reset_index()
    out.columns = ["product_id", "associated_product_id", "co", "vb"]
    occ = pd.concat([bp[["basket_id", "product_id"]], cv]).groupby("product_id").size()
    bought = bp.groupby("product_id").size()
    out["support"] = out.co + out.vb
    out = out[out.support >= s.min_support].copy()
    out["score"] = out.support / np.sqrt(
        out.product_id.map(occ).astype(float) * out.associated_product_id.map(bought)
    )
    out = out.sort_values(
        ["product_id", "score", "support", "associated_product_id"], ascending=[1, 0, 0, 1]
    )
    out["neighbour_rank"] = out.groupby("product_id").cumcount() + 1
    return out[out.neighbour_rank <= s.neighbours].reset_index(drop=True)


def _fallback_lists(
    pop: pd.DataFrame, fav: pd.Series, sources: tuple[str, ...], s: Settings
) -> pd.DataFrame:
    """Per favourite category ('' for none): the popular products (the category's top 2N
    as source 2 when category popularity is a source, the overall top 2N as 3), ranked by
    the prior with co-occurrence, else by source and buyers; the best N + 10."""
    top = pop.buyers.max()
    category_top = pop.groupby("category").buyers.transform("max")
    out = []
    for key in sorted(set(fav.dropna()) | {""}):
        own = (pop.category == key) & (pop.category_rank <= 2 * s.count)
        if "category_popularity" not in sources:
            own[:] = False
        chosen = pop[own | (pop.global_rank <= 2 * s.count)].copy()
        chosen["source_order"] = np.where(own[chosen.index], 2, 3)
        same = chosen.category == key
        chosen["prior"] = np.where(
            same, chosen.buyers / category_top[chosen.index], chosen.buyers / top
        )
        if "co_occurrence" in sources:
            chosen = chosen.sort_values(["prior", "product_id"], ascending=[False, True])
        else:
            chosen = chosen.sort_values(
                ["source_order", "buyers", "product_id"], ascending=[True, False, True]
            )
        out.append(chosen.head(s.count + 10).assign(key=key))
    return pd.concat(out, ignore_index=True)


def _candidates(
    w: pd.DataFrame,
    assoc: pd.DataFrame,
    people: pd.Index,
    cutoff: pd.Timestamp,
    sources: tuple[str, ...],
    s: Settings,
) -> tuple[pd.DataFrame, set[tuple[str, str]], pd.DataFrame, pd.Series]:
    """Every candidate (person, product, source_order, score, reason), the exclusions,
    the popularity table and the favourite category per person."""
    mine = w[w.person_id.isin(people)]
    pp = mine.groupby(["person_id", "product_id"]).agg(
        weight=("w", "sum"),
        category=("category", "max"),
        bought=("interaction", lambda x: (x == "purchase").any()),
    )
    pp = pp.reset_index()
    keep = pp.bought & ~pp.category.isin(s.repeatable)
    excluded = set(zip(pp.person_id[keep], pp.product_id[keep], strict=True))
    recent = w[
        (w.interaction == "purchase")
        & (w.occurred_at > cutoff - pd.Timedelta(days=s.popularity_days))
    ]
    pop = recent.groupby("product_id").agg(
        buyers=("person_id", "nunique"), category=("category", "max")
    )
    pop = pop.reset_index().sort_values(["buyers", "product_id"], ascending=[False, True])
    pop["global_rank"] = np.arange(1, len(pop) + 1)
    pop = pop.sort_values(["category", "buyers", "product_id"], ascending=[True, False, True])
    pop["category_rank"] = pop.groupby("category").cumcount() + 1
    aff = affinities(mine)
    fav = aff[(aff.affinity_type == "category") & (aff["rank"] == 1)].set_index("person_id").value
    parts = []
    if "co_occurrence" in sources:
        seeds = pp.sort_values(["person_id", "weight", "product_id"], ascending=[1, 0, 1])
        seeds = seeds[seeds.groupby("person_id").cumcount() < s.seeds]
        c = seeds.merge(assoc, on="product_id")
        c["contribution"] = c.weight * c.score
        prefix = np.where(c.co > 0, "co_bought_with:", "viewed_then_bought:")
        c["reason"] = [a + b for a, b in zip(prefix, c.product_id, strict=True)]
        # the top seed's reason; ties: the smallest reason text (co-bought first)
        c = c.sort_values(
            ["person_id", "associated_product_id", "contribution", "reason"],
            ascending=[1, 1, 0, 1],
        )
        total = c.groupby(["person_id", "associated_product_id"]).contribution.sum()
        top = c.drop_duplicates(["person_id", "associated_product_id"]).set_index(
            ["person_id", "associated_product_id"]
        )
        parts.append(
            pd.DataFrame(
                {
                    "person_id": top.index.get_level_values(0),
                    "product_id": top.index.get_level_values(1),
                    "source_order": 1,
                    "source": "co_occurrence",
                    "score": total.reindex(top.index).to_numpy(),
                    "reason": top.reason.to_numpy(),
                }
            )
        )
    lists = _fallback_lists(pop, fav, sources, s)
    keys = pd.Series(people, index=people).map(fav).fillna("")
    rows = pd.DataFrame({"person_id": people, "key": keys.to_numpy()}).merge(lists, on="key")
    reason = np.where(rows.source_order == 2, "popular_in:" + rows.category, "popular")
    source = np.where(rows.source_order == 2, "category_popularity", "popularity")
    parts.append(
        rows[["person_id", "product_id", "source_order"]].assign(
            source=source, score=rows.buyers.astype(float), reason=reason
        )
    )
    return pd.concat(parts, ignore_index=True), excluded, pop.set_index("product_id"), fav


def recommend(
    w: pd.DataFrame,
    assoc: pd.DataFrame,
    people: pd.Index,
    cutoff: pd.Timestamp,
    sources: tuple[str, ...],
    s: Settings,
) -> pd.DataFrame:
    """person x rank: product, source, reason, score."""
    cand, excluded, pop, fav = _candidates(w, assoc, people, cutoff, sources, s)
    keys = list(zip(cand.person_id, cand.product_id, strict=True))
    cand = cand[np.array([k not in excluded for k in keys], dtype=bool)]
    co = cand[cand.source_order == 1].set_index(["person_id", "product_id"]).score
    cand = cand.sort_values(
        ["person_id", "product_id", "source_order", "score"], ascending=[1, 1, 1, 0]
    )
    cand = cand.drop_duplicates(["person_id", "product_id"]).copy()
    if "co_occurrence" in sources:
        # co-occurrence over the person's best + weight x popularity prior
        key = pd.MultiIndex.from_frame(cand[["person_id", "product_id"]])
        co_score = pd.Series(co.reindex(key).to_numpy(), index=cand.index)
        best = co_score.groupby(cand.person_id).transform("max")
        buyers = cand.product_id.map(pop.buyers)
        category = cand.product_id.map(pop.category)
        top = pop.groupby("category").buyers.max()
        prior = np.where(
            category == cand.person_id.map(fav),
            buyers / category.map(top),
            buyers / pop.buyers.max(),
        )
        cand["score"] = (co_score / best).fillna(0) + s.popularity_weight * np.nan_to_num(prior)
        order, ascending = ["person_id", "score", "product_id"], [1, 0, 1]
    else:
        order, ascending = ["person_id", "source_order", "score", "product_id"], [1, 1, 0, 1]
    cand = cand.sort_values(order, ascending=ascending)
    cand["rank"] = cand.groupby("person_id").cumcount() + 1
    return cand[cand["rank"] <= s.count].reset_index(drop=True)


METHODS = {
    "co_occurrence": ("co_occurrence", "category_popularity", "popularity"),
    "category_popularity": ("category_popularity", "popularity"),
    "popularity": ("popularity",),
}


def evaluation(events: pd.DataFrame, as_of: pd.Timestamp, s: Settings) -> pd.DataFrame:
    """recommendation_method x hit rates, recall and precision on the time split."""
    cutoff = as_of - pd.Timedelta(days=s.evaluation_days)
    bought = events[
        (events.interaction == "purchase")
        & (events.occurred_at > cutoff)
        & (events.occurred_at <= as_of)
    ][["person_id", "product_id"]].drop_duplicates()
    people = pd.Index(bought.person_id.unique())
    w = weighted(events, cutoff, s)
    assoc = associations(events, cutoff, s)
    truth = bought.groupby("person_id").product_id.apply(set)
    rows = []
    for method, sources in METHODS.items():
        recs = recommend(w, assoc, people, cutoff, sources, s)
        lists = recs.groupby("person_id").product_id.apply(list)
        h5 = h10 = recall = 0.0
        for person in people:
            got, ranked = truth[person], lists.get(person, [])
            hits = len(got & set(ranked[:10]))
            h5 += bool(got & set(ranked[:5]))
            h10 += hits > 0
            recall += hits / len(got)
        n = len(people)
        rows.append(
            {
                "recommendation_method": method,
                "people_evaluated": n,
                "test_purchases": len(bought),
                "hit_rate_at_5": h5 / n,
                "hit_rate_at_10": h10 / n,
                "recall_at_10": recall / n,
            }
        )
    return pd.DataFrame(rows).set_index("recommendation_method")
