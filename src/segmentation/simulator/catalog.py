"""The catalogue: products (made once, with the population), campaigns (new ones on the
calendar in every simulated period) and the page URL vocabulary built from both."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.personas import (
    ADJECTIVES,
    CAMPAIGN_KINDS,
    CATALOG,
    CATEGORIES,
    SEARCH_TERMS,
    STATIC_PAGES,
)
from segmentation.simulator import ids as idf
from segmentation.simulator.arrays import largest_remainder, money, ts
from segmentation.simulator.calendar import DAY, campaign_slots, dt
from segmentation.simulator.mess import n_broken
from segmentation.simulator.profiles import P, category_of

N_PRODUCTS = 600
# product-level structure (sample_products, basket_companions)
N_COMPANIONS = 3
COMPANION_SEED = 0xC0A5
AFFINITY_SHARE = 0.3
BASKET_COMPANION_SHARE = 0.4
FOLLOW_UP_SHARE = 0.4
STATIC = (*STATIC_PAGES, "/checkout", "/checkout/confirmation")
URL_STATIC = {u: i for i, u in enumerate(STATIC)}


@dataclass
class Catalog:
    """Products sorted by (category, price); product numbers are shuffled so ids reveal
    nothing. Campaigns (all so far) by campaign number."""

    prod_cat: np.ndarray
    prod_cents: np.ndarray
    prod_num: np.ndarray
    camp_times: np.ndarray
    camp_kinds: np.ndarray
    # the audience a campaign went to ('' for the shop's own lists; simulator/audiences.py)
    camp_audience: np.ndarray = field(default_factory=lambda: np.empty(0, object))

    @property
    def cat_count(self) -> np.ndarray:
        return np.bincount(self.prod_cat, minlength=len(CATEGORIES)).astype(np.int64)

    @property
    def cat_offset(self) -> np.ndarray:
        return np.cumsum(self.cat_count) - self.cat_count

    @property
    def prod_ids(self) -> pa.Array:
        return idf.PRODUCT.ids(self.prod_num)

    @property
    def camp_ids(self) -> pa.Array:
        return idf.CAMPAIGN.ids(np.arange(1, len(self.camp_times) + 1))


def make_products(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(category, cents, names, brands) of the products, sorted by (category, price);
    prices are log-normal per category with charm pricing (x.99, x.49 below 10)."""
    counts = largest_remainder(N_PRODUCTS, np.array([CATALOG[c][0] for c in CATEGORIES]))
    cats, cents, names, brands = [], [], [], []
    for ci, cat in enumerate(CATEGORIES):
        _, median, sigma, cat_brands, nouns = CATALOG[cat]
        k = int(counts[ci])
        price = np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(k)), 1.5, 4000.0)
        whole = np.floor(price)
        c = np.where(
            price < 10, whole * 100 + np.where(price - whole < 0.5, 49, 99), whole * 100 + 99
        )
        b = rng.integers(0, len(cat_brands), k)
        a = rng.integers(0, len(ADJECTIVES), k)
        n = rng.integers(0, len(nouns), k)
        cats.append(np.full(k, ci))
        cents.append(np.sort(c.astype(np.int64)))
        brands += [cat_brands[i] for i in b]
        names += [
            f"{cat_brands[i]} {ADJECTIVES[j]} {nouns[m]}" for i, j, m in zip(b, a, n, strict=True)
        ]
    return np.concatenate(cats), np.concatenate(cents), names, brands


def products_table(
    rng: np.random.Generator, catalog: Catalog, names: list[str], brands: list[str], end: int
) -> tuple[pa.Table, pa.Array]:
    """The products table with updated_at before ``end`` and extra rows with a negative
    price (contract-breaking); returns (table, ids of the broken rows)."""
    updated = end - rng.integers(0, 400 * DAY, N_PRODUCTS)
    recent = rng.random(N_PRODUCTS) < 0.05
    updated[recent] = end - rng.integers(0, DAY, int(recent.sum()))
    updated[int(np.argmax(updated))] = end - int(rng.integers(0, 1800))
    n_bad = n_broken(rng, N_PRODUCTS, 1, at_least_one=True)
    src = rng.choice(N_PRODUCTS, n_bad, replace=False)
    bad_num = np.arange(N_PRODUCTS + 1, N_PRODUCTS + 1 + n_bad)
    bad_ids = idf.PRODUCT.ids(bad_num)
    cat_names = [CATEGORIES[c] for c in catalog.prod_cat]
    table = pa.table(
        {
            "product_id": pa.concat_arrays([catalog.prod_ids, bad_ids]),
            "product_name": pa.array(names + [names[s] for s in src]),
            "category": pa.array(cat_names + [cat_names[s] for s in src]),
            "brand": pa.array(brands + [brands[s] for s in src]),
            "price": money(np.concatenate([catalog.prod_cents, -catalog.prod_cents[src]])),
            "updated_at": ts(np.concatenate([updated, updated[src]])),
        }
    )
    # file order by product number, so it is not ordered by category
    return table.take(pa.array(np.argsort(np.r_[catalog.prod_num, bad_num]))), bad_ids


def new_campaigns(rng: np.random.Generator, catalog: Catalog, lo: int, hi: int) -> pa.Table:
    """Campaigns of the period (lo, hi] on the calendar; adds them to the catalogue and
    returns their email_campaigns rows."""
    times, kinds = campaign_slots(rng, lo, hi)
    names, subjects = [], []
    for t, k in zip(times, kinds, strict=True):
        year, week, _ = dt(int(t)).isocalendar()
        name, subs = CAMPAIGN_KINDS[k]
        names.append(f"{name} {year}-W{week:02d}")
        subjects.append(subs[int(rng.integers(0, len(subs)))])
    return add_campaigns(catalog, np.asarray(times), kinds, names, subjects)


def add_campaigns(
    catalog: Catalog,
    times: np.ndarray,
    kinds: list[int],
    names: list[str],
    subjects: list[str],
    audiences: list[str] | None = None,
) -> pa.Table:
    """Append campaigns to the catalogue; their email_campaigns rows (audience null for
    the shop's own lists)."""
    first = len(catalog.camp_times) + 1
    audiences = audiences or [""] * len(times)
    catalog.camp_times = np.r_[catalog.camp_times, times].astype(np.int64)
    catalog.camp_kinds = np.r_[catalog.camp_kinds, kinds].astype(np.int64)
    catalog.camp_audience = np.r_[catalog.camp_audience, np.array(audiences, object)]
    return pa.table(
        {
            "campaign_id": idf.CAMPAIGN.ids(np.arange(first, first + len(times))),
            "campaign_name": pa.array(names, pa.string()),
            "subject": pa.array(subjects, pa.string()),
            "sent_at": ts(np.asarray(times, np.int64)),
            "audience": pa.array([a or None for a in audiences], pa.string()),
        }
    )


@dataclass
class Urls:
    """The page_url vocabulary and where its sections start."""

    values: pa.Array
    cat: int
    search: int
    product: int
    landing: int


def urls(catalog: Catalog) -> Urls:
    """Static pages, categories, searches, products and one landing page per campaign."""
    cat_urls = ["/c/" + c.replace("_", "-") for c in CATEGORIES]
    search_urls = ["/search?q=" + t.replace(" ", "+") for t in SEARCH_TERMS]
    prod_urls = pc.binary_join_element_wise("/p/", catalog.prod_ids, "").to_pylist()
    landing = [
        f"/{'sale' if CAMPAIGN_KINDS[k][0] in ('Weekend Sale', 'Flash Sale') else 'new-arrivals'}"
        f"?utm_source=newsletter&utm_medium=email&utm_campaign={cid}"
        for k, cid in zip(catalog.camp_kinds, catalog.camp_ids.to_pylist(), strict=True)
    ]
    values = pa.array([*STATIC, *cat_urls, *search_urls, *prod_urls, *landing], pa.string())
    url_cat = len(STATIC)
    url_search = url_cat + len(cat_urls)
    url_product = url_search + len(search_urls)
    return Urls(values, url_cat, url_search, url_product, url_product + len(prod_urls))


def companions(catalog: Catalog) -> np.ndarray:
    """(products, N_COMPANIONS) product indexes that go with each product ("related
    accessories"): two of its category, one of the next category. A fixed seed of its own,
    so the catalogue alone decides them (an append computes the same ones)."""
    rng = np.random.default_rng(COMPANION_SEED)
    count, offset = catalog.cat_count, catalog.cat_offset
    cat = catalog.prod_cat.astype(np.int64)
    own = cat[:, None].repeat(N_COMPANIONS, axis=1)
    own[:, -1] = (cat + 1) % len(count)
    pos = np.floor(rng.random(own.shape) * count[own]).astype(np.int64)
    out = offset[own] + pos
    same = out == np.arange(len(cat))[:, None]  # never its own companion
    out[same] = offset[own[same]] + (pos[same] + 1) % count[own[same]]
    return out


def anchor_products(
    catalog: Catalog, shopper: np.ndarray, fav: np.ndarray, persona: np.ndarray
) -> np.ndarray:
    """Each shopper's own product in the favourite category (a hash of the shopper
    number, at the persona's price level): what they come back to, with its companions."""
    u = ((shopper.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)).astype(
        np.float64
    ) / float(1 << 53)
    count, offset = catalog.cat_count, catalog.cat_offset
    pos = np.floor(count[fav] * u ** P["price_pref"][persona]).astype(np.int64)
    return offset[fav] + np.minimum(pos, count[fav] - 1)


def sample_products(
    catalog: Catalog,
    rng: np.random.Generator,
    persona: np.ndarray,
    fav: np.ndarray,
    shopper: np.ndarray,
) -> np.ndarray:
    """Product index per draw: favourite or persona category, price level by persona; a
    share AFFINITY_SHARE of the draws is the shopper's anchor product or one of its
    companions (product-level affinity that co-occurrence can learn and popularity cannot)."""
    m = len(persona)
    cats = category_of(rng, persona)
    cats = np.where(rng.random(m) < 0.45, fav, cats)
    count, offset = catalog.cat_count, catalog.cat_offset
    pos = np.floor(count[cats] * rng.random(m) ** P["price_pref"][persona]).astype(np.int64)
    prod = offset[cats] + np.minimum(pos, count[cats] - 1)
    own = rng.random(m) < AFFINITY_SHARE
    pick = rng.integers(0, N_COMPANIONS + 1, m)
    anchor = anchor_products(catalog, shopper[own], fav[own], persona[own])
    pool = np.column_stack([anchor, companions(catalog)[anchor]])
    prod[own] = pool[np.arange(len(anchor)), pick[own]]
    return prod


def follow_up_products(
    catalog: Catalog, rng: np.random.Generator, first: np.ndarray, previous: np.ndarray
) -> np.ndarray:
    """The first product of each order (of orders sorted by time): a share FOLLOW_UP_SHARE
    of the orders with an earlier one start with a companion of the earlier order's first
    product (the accessory bought after the main item)."""
    take = (previous >= 0) & (rng.random(len(first)) < FOLLOW_UP_SHARE)
    pick = rng.integers(0, N_COMPANIONS, int(take.sum()))
    out = first.copy()
    out[take] = companions(catalog)[previous[take], pick]
    return out


def basket_companions(
    catalog: Catalog, rng: np.random.Generator, prod: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """Order lines after the first: a share BASKET_COMPANION_SHARE is one of the first
    line's companions (bought together)."""
    later = np.flatnonzero(np.arange(len(prod)) != first)
    take = later[rng.random(len(later)) < BASKET_COMPANION_SHARE]
    out = prod.copy()
    out[take] = companions(catalog)[prod[first[take]], rng.integers(0, N_COMPANIONS, len(take))]
    return out
