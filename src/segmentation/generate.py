"""Synthetic raw data for the segmentation warehouse (the ``raw`` source contract).

``generate()`` writes the eight contract tables for a population of latent persons, each
following one of the personas in :mod:`segmentation.personas` (``PERSONA_NAMES``), plus the
ground truth in a separate directory, so tests and clustering evaluations can check
themselves against it:

* ``customers_truth``: customer_id, person_id, persona, is_duplicate_record (one row per
  distinct customer_id written, duplicate-person records included);
* ``broken_rows``: table_name, record_key, reason_code (one row per planted contract-breaking
  row; record_key is null when the key itself is the null one);
* ``planted_duplicates``: table_name, record_key, extra_copies (profile updates, order
  status versions and re-delivered events);
* ``generation.json``: the arguments (customers, days, seed, end as ISO); ``segmentation
  generate --append`` (:mod:`segmentation.append`) continues from that ``end``.

Everything is vectorised numpy; persons are processed in chunks of ``CHUNK_SIZE`` (one
Parquet file per table, appended per chunk) so a million customers fit in about 1.5 GB. The
output is a pure function of (customers, days, seed, end): the same arguments give
byte-identical Parquet files.

Conventions of the generated data (see also DESIGN.md section 2):

* ``customers`` is the number of *persons*; ~3 % of them get a second customer record
  whose e-mail differs only by case and spaces, so the customers table has ~4 % more rows
  (duplicate records, profile-update versions, broken rows).
* Line net amount = ``quantity * unit_price - discount``; partial-return lines have
  quantity -1 and carry the net unit price that was paid. Currency is EUR.
* Timestamps are naive UTC with second precision; nothing is after ``end`` except the
  planted ``future_timestamp`` rows, and the newest received_at / updated_at of every
  table is within an hour of ``end``.
* Broken rows are extra rows (copies of real rows with one defect and, except for
  null keys, a fresh key); they are never planted duplicates and broken orders have no lines.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation import contract
from segmentation.personas import (
    ADJECTIVES,
    CAMPAIGN_KINDS,
    CATALOG,
    CATEGORIES,
    CITIES,
    FIRST_NAMES_FEMALE,
    FIRST_NAMES_MALE,
    LAST_NAMES,
    PERSONA_NAMES,
    PERSONAS,
    SEARCH_TERMS,
    STATIC_PAGES,
    STRANGER,
)

__all__ = ["generate", "PERSONA_NAMES", "TRUTH_TABLES"]

TRUTH_TABLES = ("customers_truth", "broken_rows", "planted_duplicates")
GENERATION_FILE = "generation.json"  # in the truth folder: what generated the data, and until when

CHUNK_SIZE = 50_000  # persons per chunk (bounds memory: ~1 GB per chunk)
N_PRODUCTS = 600
CURRENCY = "EUR"
HOUR = 3600
DAY = 86_400
YEAR = 365 * DAY
EPOCH = datetime(1970, 1, 1)

# Messiness rates
DUPLICATE_PERSON_RATE = 0.03
NULL_EMAIL_RATE = 0.02
MESSY_EMAIL_RATE = 0.02  # primary e-mails typed with capitals (still unique after lower())
PROFILE_UPDATE_RATE = 0.01
ORDER_VERSION_RATE = 0.005
EVENT_DUPLICATE_RATE = 0.01
LATE_EVENT_RATE = 0.02
BROKEN_RATE = 0.003  # per table, split over the reasons that apply to it
STRANGER_VISITORS_PER_PERSON_YEAR = 0.2

# Order mix
STATUS_P = (0.92, 0.05, 0.03)  # completed, cancelled, returned
PARTIAL_RETURN_RATE = 0.05  # completed orders with 2+ items
NULL_PRODUCT_RATE = 0.002

WEB_TYPES = contract.WEB_EVENT_TYPES
PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD, REMOVE, CHECKOUT, PURCHASE = range(7)
EMAIL_TYPES = contract.EMAIL_EVENT_TYPES
SENT, DELIVERED, OPEN, CLICK, BOUNCE, UNSUBSCRIBE, SPAM = range(7)
BAD_WEB_TYPE = "wishlist_add"
BAD_EMAIL_TYPE = "forward"
BAD_ORDER_STATUS = "pending_review"

ALL_PROFILES = (*PERSONAS, STRANGER)
N_PERSONAS = len(PERSONAS)
STRANGER_IDX = N_PERSONAS

# Monday..Sunday; online shops peak on Sunday evening, dip on Friday.
DOW_WEIGHT = np.array([1.04, 0.97, 0.95, 0.95, 0.86, 0.97, 1.22])
# UTC hour profiles (customers live in UTC+1/+2).
HOUR_WEEKDAY = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.12, 0.3, 0.8, 1.5, 2.0, 2.3, 2.5, 2.9, 3.1, 2.9, 2.7, 2.7,
     2.9, 3.4, 4.3, 5.0, 5.1, 4.2, 2.8, 1.4]
)  # fmt: skip
HOUR_WEEKEND = np.array(
    [1.0, 0.6, 0.3, 0.15, 0.1, 0.15, 0.3, 0.7, 1.5, 2.5, 3.3, 3.7, 3.8, 3.6, 3.5, 3.5,
     3.6, 3.8, 4.2, 4.7, 4.7, 3.9, 2.8, 1.6]
)  # fmt: skip
HOUR_CDF = {
    False: np.cumsum(HOUR_WEEKDAY) / HOUR_WEEKDAY.sum(),
    True: np.cumsum(HOUR_WEEKEND) / HOUR_WEEKEND.sum(),
}


def _param(name: str) -> np.ndarray:
    return np.array([getattr(p, name) for p in ALL_PROFILES], dtype=np.float64)


P = {
    name: _param(name)
    for name in (
        "order_rate",
        "order_shape",
        "min_orders",
        "lines_mean",
        "price_pref",
        "discount_prob",
        "browse_rate",
        "session_len",
        "event_gap",
        "p_add",
        "p_checkout",
        "consider_rate",
        "p_anonymous",
        "email_recv",
        "open_rate",
        "click_rate",
        "optout_rate",
        "consent_rate",
        "signup_in_window",
    )
}
P["discount_lo"] = np.array([p.discount_range[0] for p in ALL_PROFILES])
P["discount_hi"] = np.array([p.discount_range[1] for p in ALL_PROFILES])
CAT_CDF = np.array([np.cumsum(p.categories) / sum(p.categories) for p in ALL_PROFILES])
PERSONA = {name: i for i, name in enumerate(PERSONA_NAMES)}


# ---------------------------------------------------------------------------------------
# small vectorised helpers
# ---------------------------------------------------------------------------------------


def _within(counts: np.ndarray) -> np.ndarray:
    """0..n-1 inside each group of ``counts`` consecutive elements."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _ffill(mask: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the latest element at or before i with ``mask`` in the same group."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(idx, out=idx)
    ok = idx >= 0
    ok[ok] = group[idx[ok]] == group[ok]
    return idx, ok


def _uniform_int(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform integers in [lo, hi] (arrays, hi >= lo)."""
    span = np.maximum(hi - lo, 0) + 1
    return lo + np.floor(rng.random(len(span)) * span).astype(np.int64)


def _day_weight(day: np.ndarray) -> np.ndarray:
    """Relative traffic of a calendar day: weekday pattern and a November/December peak."""
    dow = (day + 3) % 7  # 1970-01-01 was a Thursday
    d = day.astype("datetime64[D]")
    doy = (d - d.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    season = (
        1.0
        + 0.7 * np.exp(-0.5 * ((doy - 331) / 5.0) ** 2)  # Black Friday week
        + 0.35 * np.exp(-0.5 * ((doy - 350) / 7.0) ** 2)  # Christmas shopping
        - 0.12 * np.exp(-0.5 * ((doy - 210) / 25.0) ** 2)  # summer lull
    )
    return DOW_WEIGHT[dow] * season / (DOW_WEIGHT.max() * 1.75)


def _sample_times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Seconds in [lo, hi] following the weekly, daily and seasonal traffic pattern."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    out = np.empty(len(lo), dtype=np.int64)
    todo = np.arange(len(lo))
    for _ in range(12):
        if not len(todo):
            break
        m = len(todo)
        tlo, thi = lo[todo], hi[todo]
        day = _uniform_int(rng, tlo // DAY, thi // DAY)
        weekend = ((day + 3) % 7) >= 5
        u = rng.random(m)
        hour = np.where(
            weekend, np.searchsorted(HOUR_CDF[True], u), np.searchsorted(HOUR_CDF[False], u)
        )
        t = day * DAY + np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, m)
        ok = (t >= tlo) & (t <= thi) & (rng.random(m) < _day_weight(day))
        out[todo[ok]] = t[ok]
        todo = todo[~ok]
    if len(todo):  # narrow windows: plain uniform
        out[todo] = _uniform_int(rng, lo[todo], hi[todo])
    return out


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, type=contract.TS)


def _money(cents: np.ndarray) -> pa.Array:
    """Exact decimal(18, 4) from integer cents."""
    v = np.asarray(cents, dtype=np.int64) * 100
    buf = np.empty((len(v), 2), dtype=np.int64)
    buf[:, 0] = v
    buf[:, 1] = v >> 63  # sign extension to 128 bits (little endian)
    return pa.Array.from_buffers(contract.MONEY, len(v), [None, pa.py_buffer(buf)])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    s = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, s, "")


def _hex_ids(numbers: np.ndarray, salt: int) -> pa.Array:
    """Random-looking but unique 16-hex-digit ids (splitmix64 is a bijection)."""
    x = np.asarray(numbers, dtype=np.uint64) ^ np.uint64(salt)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nib = ((x[:, None] >> shifts) & np.uint64(0xF)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nib]
    return pa.array(np.ascontiguousarray(chars).view("S16").ravel()).cast(pa.string())


def _take(values: pa.Array, idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    idx = np.asarray(idx, dtype=np.int64)
    if null is None or not null.any():
        return values.take(pa.array(idx))
    return values.take(pa.array(np.where(null, 0, idx), mask=null))


def _largest_remainder(n: int, shares: np.ndarray) -> np.ndarray:
    raw = n * shares / shares.sum()
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def _n_broken(n_rows: int, n_reasons: int) -> int:
    return max(1, round(n_rows * BROKEN_RATE / n_reasons))


# ---------------------------------------------------------------------------------------
# global catalogue: products, campaigns, URLs
# ---------------------------------------------------------------------------------------


@dataclass
class _Catalog:
    # products, sorted by (category, price); product_ids are shuffled so ids reveal nothing
    prod_cat: np.ndarray
    prod_cents: np.ndarray
    prod_ids: pa.Array
    cat_offset: np.ndarray
    cat_count: np.ndarray
    products_table: pa.Table
    broken_products: list[str]
    # campaigns, sorted by sent_at
    camp_times: np.ndarray
    camp_ids: pa.Array
    campaigns_table: pa.Table
    # url vocabulary and offsets into it
    urls: pa.Array
    url_static: dict[str, int]
    url_cat: int
    url_search: int
    url_product: int
    url_landing: int


def campaign_slots(rng: np.random.Generator, start: int, end: int) -> tuple[np.ndarray, list[int]]:
    """Campaign send times and kinds on the days from ``start`` to ``end`` (epoch seconds):
    newsletters on Tuesday morning, sales on Friday afternoon, extra flash sales on Sundays
    around Black Friday / Christmas; up to 45 minutes of jitter. The caller trims the ends."""
    times, kinds = [], []
    for day in range(start // DAY, end // DAY + 1):
        d = date(1970, 1, 1) + timedelta(days=day)
        dow = d.weekday()
        doy = d.timetuple().tm_yday
        if dow == 1:
            kinds.append((0, 2, 3)[(d.isocalendar()[1]) % 3])
            times.append(day * DAY + 8 * HOUR)
        elif dow == 4:
            kinds.append(1)
            times.append(day * DAY + 15 * HOUR)
        elif dow == 6 and 320 <= doy <= 355:
            kinds.append(4)
            times.append(day * DAY + 10 * HOUR)
    return np.array(times, dtype=np.int64) + rng.integers(0, 45 * 60, len(times)), kinds


def _make_catalog(rng: np.random.Generator, start: int, end: int) -> _Catalog:
    shares = np.array([CATALOG[c][0] for c in CATEGORIES])
    counts = _largest_remainder(N_PRODUCTS, shares)
    cats, cents, names, brands = [], [], [], []
    for ci, cat in enumerate(CATEGORIES):
        _, median, sigma, cat_brands, nouns = CATALOG[cat]
        k = int(counts[ci])
        price = np.exp(np.log(median) + sigma * rng.standard_normal(k))
        price = np.clip(price, 1.5, 4000.0)
        # charm pricing: x.99 (or x.49 for cheap items)
        whole = np.floor(price)
        c = np.where(
            price < 10, whole * 100 + np.where(price - whole < 0.5, 49, 99), whole * 100 + 99
        )
        c = np.sort(c.astype(np.int64))
        b = rng.integers(0, len(cat_brands), k)
        a = rng.integers(0, len(ADJECTIVES), k)
        n = rng.integers(0, len(nouns), k)
        cats.append(np.full(k, ci))
        cents.append(c)
        brands += [cat_brands[i] for i in b]
        names += [
            f"{cat_brands[i]} {ADJECTIVES[j]} {nouns[m]}" for i, j, m in zip(b, a, n, strict=True)
        ]
    prod_cat = np.concatenate(cats)
    prod_cents = np.concatenate(cents)
    numbers = rng.permutation(N_PRODUCTS) + 1
    prod_ids = _ids("SKU", numbers, 5)
    cat_count = counts
    cat_offset = np.cumsum(counts) - counts

    updated = end - rng.integers(0, 400 * DAY, N_PRODUCTS)
    recent = rng.random(N_PRODUCTS) < 0.05
    updated[recent] = end - rng.integers(0, DAY, int(recent.sum()))
    i = int(np.argmax(updated))
    updated[i] = end - int(rng.integers(0, 1800))

    # contract-breaking: products with a negative price (extra catalogue rows)
    n_bad = _n_broken(N_PRODUCTS, 1)
    src = rng.choice(N_PRODUCTS, n_bad, replace=False)
    bad_ids = _ids("SKU", np.arange(N_PRODUCTS + 1, N_PRODUCTS + 1 + n_bad), 5)
    table = pa.table(
        {
            "product_id": pa.concat_arrays([prod_ids, bad_ids]),
            "product_name": pa.array(names + [names[s] for s in src]),
            "category": pa.array(
                [CATEGORIES[c] for c in prod_cat] + [CATEGORIES[prod_cat[s]] for s in src]
            ),
            "brand": pa.array(brands + [brands[s] for s in src]),
            "price": _money(np.concatenate([prod_cents, -prod_cents[src]])),
            "updated_at": _ts(np.concatenate([updated, updated[src]])),
        }
    )
    # shuffle catalogue rows so the file is not ordered by category
    table = table.take(
        pa.array(
            np.argsort(np.concatenate([numbers, np.arange(N_PRODUCTS + 1, N_PRODUCTS + 1 + n_bad)]))
        )
    )

    camp_times, kinds = campaign_slots(rng, start, end)
    keep = (camp_times >= start) & (camp_times <= end)
    camp_times = camp_times[keep]
    kinds = [k for k, ok in zip(kinds, keep, strict=True) if ok]
    n_camp = len(camp_times)
    camp_ids = _ids("CMP", np.arange(1, n_camp + 1), 5)
    camp_names, subjects = [], []
    for t, k in zip(camp_times, kinds, strict=True):
        year, week, _ = (EPOCH + timedelta(seconds=int(t))).isocalendar()
        name, subs = CAMPAIGN_KINDS[k]
        camp_names.append(f"{name} {year}-W{week:02d}")
        subjects.append(subs[int(rng.integers(0, len(subs)))])
    campaigns = pa.table(
        {
            "campaign_id": camp_ids,
            "campaign_name": pa.array(camp_names, pa.string()),
            "subject": pa.array(subjects, pa.string()),
            "sent_at": _ts(camp_times),
        }
    )

    # URL vocabulary
    static = [*STATIC_PAGES, "/checkout", "/checkout/confirmation"]
    url_static = {u: i for i, u in enumerate(static)}
    cat_urls = ["/c/" + c.replace("_", "-") for c in CATEGORIES]
    search_urls = ["/search?q=" + t.replace(" ", "+") for t in SEARCH_TERMS]
    prod_urls = pc.binary_join_element_wise("/p/", prod_ids, "").to_pylist()
    landing = [
        f"/{'sale' if CAMPAIGN_KINDS[k][0] in ('Weekend Sale', 'Flash Sale') else 'new-arrivals'}"
        f"?utm_source=newsletter&utm_medium=email&utm_campaign={cid}"
        for k, cid in zip(kinds, camp_ids.to_pylist(), strict=True)
    ]
    urls = pa.array(static + cat_urls + search_urls + prod_urls + landing, pa.string())
    url_cat = len(static)
    url_search = url_cat + len(cat_urls)
    url_product = url_search + len(search_urls)
    url_landing = url_product + len(prod_urls)
    return _Catalog(
        prod_cat=prod_cat,
        prod_cents=prod_cents,
        prod_ids=prod_ids,
        cat_offset=cat_offset,
        cat_count=cat_count,
        products_table=table,
        broken_products=bad_ids.to_pylist(),
        camp_times=camp_times,
        camp_ids=camp_ids,
        campaigns_table=campaigns,
        urls=urls,
        url_static=url_static,
        url_cat=url_cat,
        url_search=url_search,
        url_product=url_product,
        url_landing=url_landing,
    )


def _sample_products(
    cat: _Catalog, rng: np.random.Generator, persona: np.ndarray, fav: np.ndarray
) -> np.ndarray:
    """Product index per draw: favourite or persona category, price level by persona."""
    m = len(persona)
    u = rng.random(m)
    cats = np.empty(m, dtype=np.int64)
    for p in range(len(ALL_PROFILES)):
        sel = persona == p
        if sel.any():
            cats[sel] = np.minimum(np.searchsorted(CAT_CDF[p], u[sel], side="right"), 7)
    cats = np.where(rng.random(m) < 0.45, fav, cats)
    pos = np.floor(cat.cat_count[cats] * rng.random(m) ** P["price_pref"][persona]).astype(np.int64)
    return cat.cat_offset[cats] + np.minimum(pos, cat.cat_count[cats] - 1)


# ---------------------------------------------------------------------------------------
# per-chunk simulation
# ---------------------------------------------------------------------------------------


@dataclass
class _Counters:
    order: int = 0
    web: int = 0
    email: int = 0
    anon: int = 0
    dup_customer: int = 0


@dataclass
class _Truth:
    customers: list[pa.Table] = field(default_factory=list)
    broken: list[pa.Table] = field(default_factory=list)
    dups: list[pa.Table] = field(default_factory=list)

    def broke(self, table: str, keys: pa.Array | list, reason: str) -> None:
        keys = pa.array(keys, pa.string()) if isinstance(keys, list) else keys
        n = len(keys)
        self.broken.append(
            pa.table(
                {
                    "table_name": pa.array([table] * n, pa.string()),
                    "record_key": keys,
                    "reason_code": pa.array([reason] * n, pa.string()),
                }
            )
        )

    def dup(self, table: str, keys: pa.Array, copies: np.ndarray) -> None:
        self.dups.append(
            pa.table(
                {
                    "table_name": pa.array([table] * len(keys), pa.string()),
                    "record_key": keys,
                    "extra_copies": pa.array(np.asarray(copies, dtype=np.int32)),
                }
            )
        )


@dataclass
class _Run:
    end: int
    start: int
    n_persons: int
    salt: int
    cat: _Catalog
    counters: _Counters
    truth: _Truth


def _latency(rng: np.random.Generator, occurred: np.ndarray, end: int, base: int) -> np.ndarray:
    """received_at: a few seconds after occurred_at, ~2 % hours/days late, never after end."""
    n = len(occurred)
    delay = rng.integers(0, base + 1, n).astype(np.int64)
    late = rng.random(n) < LATE_EVENT_RATE
    delay[late] = np.minimum(
        (rng.lognormal(np.log(5 * HOUR), 1.3, int(late.sum()))).astype(np.int64) + 60, 20 * DAY
    )
    over = occurred + delay > end
    room = np.maximum(end - occurred[over], 0)
    delay[over] = np.floor(rng.random(int(over.sum())) * (room + 1)).astype(np.int64)
    return occurred + delay


def _freshen(rng: np.random.Generator, loaded: np.ndarray, floor: np.ndarray, end: int) -> None:
    """Keep the newest load timestamp within the last hour before ``end`` (in place)."""
    if len(loaded) and loaded.max() < end - 3000:
        i = int(np.argmax(loaded))
        loaded[i] = max(int(floor[i]), end - int(rng.integers(0, 1800)))


def _event_duplicates(
    rng: np.random.Generator, received: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick ~1 % of events to be delivered again. Returns (src rows, copies, copy received)."""
    cand = np.flatnonzero(received < end - 120)
    k = min(len(cand), int(rng.binomial(len(received), EVENT_DUPLICATE_RATE)))
    src = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    copies = np.where(rng.random(k) < 0.1, 2, 1)
    rows = np.repeat(src, copies)
    room = end - received[rows]  # >= 120 s
    delay = np.minimum(rng.lognormal(np.log(120), 2.0, len(rows)).astype(np.int64), room // 2)
    delay = np.maximum(delay, 1)
    # a second copy arrives strictly after the first one
    second = np.zeros(len(rows), bool)
    second[1:] = rows[1:] == rows[:-1]
    prev = delay[np.flatnonzero(second) - 1]
    delay[second] = prev + 1 + np.minimum(delay[second], room[second] - prev - 1)
    return src, copies, received[rows] + delay


def _chunk(run: _Run, rng: np.random.Generator, p0: int, n: int) -> dict[str, pa.Table]:
    cat, end, start, cnt, truth = run.cat, run.end, run.start, run.counters, run.truth
    window = end - start

    # ---------------- persons -----------------------------------------------------------
    persona = np.repeat(
        np.arange(N_PERSONAS), _largest_remainder(n, np.array([p.share for p in PERSONAS]))
    )
    persona = persona[rng.permutation(n)]
    is_new = persona == PERSONA["new_customer"]
    is_lapsing = persona == PERSONA["lapsing"]
    is_once = persona == PERSONA["one_time_buyer"]

    gap = int(min(45 * DAY, 0.3 * window))
    in_win = rng.random(n) < P["signup_in_window"][persona]
    signup = np.where(
        in_win,
        start + np.floor(rng.random(n) * (window - gap)).astype(np.int64),
        start - np.minimum(rng.exponential(550 * DAY, n), 2000 * DAY).astype(np.int64) - 1,
    )
    lapse_gap = np.floor(
        min(90 * DAY, 0.35 * window)
        + rng.random(n) * (min(180 * DAY, 0.6 * window) - min(90 * DAY, 0.35 * window))
    ).astype(np.int64)
    lapse_at = end - lapse_gap
    lap_in = is_lapsing & in_win
    signup[lap_in] = start + np.floor(
        rng.random(int(lap_in.sum())) * 0.5 * (lapse_at[lap_in] - start)
    ).astype(np.int64)
    new_lo, new_hi = int(min(DAY, 0.1 * window)), int(min(30 * DAY, window))
    signup[is_new] = (
        end - new_lo - np.floor(rng.random(int(is_new.sum())) * (new_hi - new_lo)).astype(np.int64)
    )
    signup = np.minimum(_sample_times_near(rng, signup), end - 3 * HOUR)
    a0 = np.maximum(start, signup + 2 * HOUR)
    a1 = np.where(is_lapsing, lapse_at, end)
    a1 = np.maximum(a1, a0)
    active_years = (a1 - a0) / YEAR

    fav = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    for p in range(N_PERSONAS):
        sel = persona == p
        fav[sel] = np.minimum(np.searchsorted(CAT_CDF[p], u[sel], side="right"), 7)

    def beta(mean: np.ndarray, k: float = 20.0) -> np.ndarray:
        mean = np.clip(mean, 0.005, 0.995)
        return rng.beta(mean * k, (1 - mean) * k)

    # cart and checkout propensity differ between customers of a persona
    p_add = P["p_add"][persona] * rng.gamma(2.0, 0.5, n)
    p_chk = P["p_checkout"][persona] * rng.gamma(1.5, 1 / 1.5, n)
    p_chk = np.minimum(p_chk, 0.2)
    p_add = np.minimum(p_add, 0.35)
    open_p = beta(P["open_rate"][persona])
    click_p = beta(P["click_rate"][persona])
    recv_p = np.minimum(P["email_recv"][persona] * rng.gamma(8.0, 0.125, n), 0.95)
    n_dev = 1 + (rng.random(n) < 0.35)
    anon_base = cnt.anon
    dev0 = cnt.anon + np.cumsum(n_dev) - n_dev
    cnt.anon += int(n_dev.sum())

    # duplicate person records (second account, later signup)
    has_dup = (rng.random(n) < DUPLICATE_PERSON_RATE) & (a1 - a0 > 2 * DAY)
    dup_of = np.flatnonzero(has_dup)
    m = len(dup_of)
    dup_signup = np.full(n, np.iinfo(np.int64).max // 2)
    dup_signup[dup_of] = a0[dup_of] + np.floor(
        (0.1 + 0.6 * rng.random(m)) * (a1[dup_of] - a0[dup_of])
    ).astype(np.int64)
    dup_rec = np.full(n, -1)
    dup_rec[dup_of] = n + np.arange(m)

    # ---------------- customer records --------------------------------------------------
    rec_person = np.r_[np.arange(n), dup_of]
    rec_is_dup = np.r_[np.zeros(n, bool), np.ones(m, bool)]
    rec_num = np.r_[p0 + np.arange(n) + 1, run.n_persons + cnt.dup_customer + np.arange(m) + 1]
    cnt.dup_customer += m
    rec_ids = _ids("C", rec_num, 7)
    person_ids = _ids("PSN", p0 + np.arange(n) + 1, 7)
    rec_signup = np.r_[signup, dup_signup[dup_of] - 2 * HOUR + rng.integers(0, HOUR, m)]
    truth.customers.append(
        pa.table(
            {
                "customer_id": rec_ids,
                "person_id": _take(person_ids, rec_person),
                "persona": _take(pa.array(PERSONA_NAMES), persona[rec_person]),
                "is_duplicate_record": pa.array(rec_is_dup),
            }
        )
    )

    def pick_record(person: np.ndarray, t: np.ndarray) -> np.ndarray:
        use_dup = (t >= dup_signup[person] + 2 * HOUR) & (rng.random(len(person)) < 0.5)
        return np.where(use_dup, dup_rec[person], person)

    # ---------------- orders ------------------------------------------------------------
    lam = (
        rng.gamma(P["order_shape"][persona], P["order_rate"][persona] / P["order_shape"][persona])
        * active_years
    )
    # regular buyers have a floor of orders, scaled down for short active windows
    floor = np.round(P["min_orders"][persona] * np.minimum(1.0, (a1 - a0) / (180 * DAY)))
    n_orders = np.maximum(rng.poisson(lam), floor.astype(np.int64))
    first_new = is_new & (rng.random(n) < 0.95)
    n_orders = n_orders + first_new
    n_orders[is_once] = 1
    o_person = np.repeat(np.arange(n), n_orders)
    o_hi = np.where(is_once, a0 + ((a1 - a0) * 0.6).astype(np.int64), a1)
    o_time = _sample_times(rng, a0[o_person], o_hi[o_person])
    o_first = _within(n_orders) == 0
    fn = first_new[o_person] & o_first
    o_time[fn] = np.minimum(
        a0[o_person[fn]] + rng.exponential(1.5 * DAY, int(fn.sum())).astype(np.int64),
        a1[o_person[fn]],
    )
    order = np.argsort(o_time, kind="stable")
    o_person, o_time = o_person[order], o_time[order]
    o_rec = pick_record(o_person, o_time)
    n_o = len(o_person)
    o_num = cnt.order + np.arange(n_o) + 1
    cnt.order += n_o
    o_ids = _ids("ORD", o_num, 9)
    o_status = np.searchsorted(np.cumsum(STATUS_P), rng.random(n_o), side="right").clip(0, 2)
    o_persona = persona[o_person]
    upd_delay = np.select(
        [o_status == 0, o_status == 1],
        [rng.integers(HOUR, 5 * DAY, n_o), rng.integers(300, 2 * DAY, n_o)],
        rng.integers(7 * DAY, 30 * DAY, n_o),
    )
    o_upd = o_time + upd_delay
    over = o_upd > end
    o_upd[over] = o_time[over] + np.floor(
        rng.random(int(over.sum())) * (end - o_time[over] + 1)
    ).astype(np.int64)

    # order lines
    n_lines = np.clip(1 + rng.poisson(P["lines_mean"][o_persona] - 1), 1, 5)
    l_order = np.repeat(np.arange(n_o), n_lines)
    l_num = _within(n_lines) + 1
    l_persona = o_persona[l_order]
    l_prod = _sample_products(cat, rng, l_persona, fav[o_person[l_order]])
    n_l = len(l_order)
    l_qty = 1 + (rng.random(n_l) < 0.15) + (rng.random(n_l) < 0.04)
    base = cat.prod_cents[l_prod]
    drift = rng.random(n_l) < 0.2
    l_unit = np.where(drift, np.round(base * (1 + rng.normal(0, 0.03, n_l))), base).astype(np.int64)
    l_unit = np.maximum(l_unit, 1)
    disc = rng.random(n_l) < P["discount_prob"][l_persona]
    frac = P["discount_lo"][l_persona] + rng.random(n_l) * (
        P["discount_hi"][l_persona] - P["discount_lo"][l_persona]
    )
    l_disc = np.where(disc, np.round(l_qty * l_unit * frac), 0).astype(np.int64)
    l_null_prod = rng.random(n_l) < NULL_PRODUCT_RATE
    # partial returns: one unit of one line of some completed orders with 2+ items
    first_line = np.cumsum(n_lines) - n_lines
    items = np.add.reduceat(l_qty, first_line) if n_l else np.zeros(0, np.int64)
    ret = np.flatnonzero((o_status == 0) & (items >= 2) & (rng.random(n_o) < PARTIAL_RETURN_RATE))
    src = first_line[ret] + np.floor(rng.random(len(ret)) * n_lines[ret]).astype(np.int64)
    r_unit = np.maximum(l_unit[src] - np.round(l_disc[src] / l_qty[src]).astype(np.int64), 1)
    li_order = np.r_[l_order, ret]
    li_num = np.r_[l_num, n_lines[ret] + 1]
    li_prod = np.r_[l_prod, l_prod[src]]
    li_null = np.r_[l_null_prod, l_null_prod[src]]
    li_qty = np.r_[l_qty, -np.ones(len(ret), np.int64)]
    li_unit = np.r_[l_unit, r_unit]
    li_disc = np.r_[l_disc, np.zeros(len(ret), np.int64)]
    next_line = n_lines + np.isin(np.arange(n_o), ret)

    # ---------------- consents and e-mail -----------------------------------------------
    email_null = np.r_[rng.random(n) < NULL_EMAIL_RATE, np.zeros(m, bool)]
    email_null[dup_of] = False  # both records of a duplicate person carry an e-mail
    elig = ~email_null[:n]
    at_signup = elig & (rng.random(n) < P["consent_rate"][persona])
    later = elig & ~at_signup & (rng.random(n) < 0.3)
    c_in = np.where(at_signup, signup + rng.integers(2, 90, n), end + 1)
    c_in[later] = _sample_times(rng, a0[later], np.full(int(later.sum()), end))
    consented = at_signup | later
    years_in = np.maximum(end - np.maximum(c_in, start), 0) / YEAR
    opt_out = consented & (rng.random(n) < 1 - np.exp(-P["optout_rate"][persona] * years_in))
    t_out = np.full(n, end + 1)
    lo = np.maximum(c_in, start)[opt_out] + HOUR
    t_out[opt_out] = _sample_times(rng, np.minimum(lo, end), np.full(int(opt_out.sum()), end))
    via_link = opt_out & (rng.random(n) < 0.6)

    camp_lo = np.searchsorted(cat.camp_times, c_in, side="left")
    camp_hi = np.searchsorted(cat.camp_times, t_out - 1800, side="left")  # sends take 30 min
    n_elig = np.where(consented, np.maximum(camp_hi - camp_lo, 0), 0)
    r_person = np.repeat(np.arange(n), n_elig)
    r_camp = np.repeat(camp_lo, n_elig) + _within(n_elig)
    keep = rng.random(len(r_person)) < recv_p[r_person]
    r_person, r_camp = r_person[keep], r_camp[keep]
    r_sent = cat.camp_times[r_camp] + rng.integers(0, 1800, len(r_camp))
    keep = r_sent <= end
    r_person, r_camp, r_sent = r_person[keep], r_camp[keep], r_sent[keep]
    n_r = len(r_person)
    bounced = rng.random(n_r) < 0.015
    r_deliv = np.minimum(r_sent + rng.integers(1, 90, n_r), end)
    p_open = open_p[r_person] * np.where(
        is_lapsing[r_person] & (r_sent > lapse_at[r_person]), 0.12, 1.0
    )
    opened = ~bounced & (rng.random(n_r) < p_open)
    r_open = (
        r_deliv
        + np.minimum(rng.lognormal(np.log(2.5 * HOUR), 1.3, n_r), 14 * DAY).astype(np.int64)
        + 5
    )
    # unsubscribe via the link of the last delivered e-mail before the opt-out
    is_last = np.ones(n_r, bool)
    is_last[:-1] = r_person[1:] != r_person[:-1]
    unsub = np.flatnonzero(is_last & ~bounced & via_link[r_person])
    opened[unsub] = True
    room = end - r_deliv[unsub]
    r_open[unsub] = r_deliv[unsub] + np.minimum(
        r_open[unsub] - r_deliv[unsub],
        np.floor(rng.random(len(unsub)) * room * 0.9).astype(np.int64),
    )
    unsub_t = np.minimum(r_open[unsub] + rng.integers(10, 180, len(unsub)), end)
    opened &= r_open <= end
    clicked = opened & (rng.random(n_r) < click_p[r_person])
    r_click = r_open + 3 + rng.exponential(90, n_r).astype(np.int64)
    clicked &= r_click <= end
    spam = ~bounced & (rng.random(n_r) < 0.0008)
    r_spam = r_deliv + rng.integers(60, 3 * DAY, n_r)
    spam &= r_spam <= end

    out_t = t_out.copy()
    linked = np.zeros(n, bool)
    linked[r_person[unsub]] = True
    out_t[r_person[unsub]] = unsub_t
    out_src = np.where(linked, "unsubscribe_link", "preference_center")

    ev_parts = [
        (np.arange(n_r), SENT, r_sent),
        (np.flatnonzero(~bounced), DELIVERED, r_deliv[~bounced]),
        (
            np.flatnonzero(bounced),
            BOUNCE,
            r_sent[bounced] + rng.integers(1, 300, int(bounced.sum())),
        ),
        (np.flatnonzero(opened), OPEN, r_open[opened]),
        (np.flatnonzero(clicked), CLICK, r_click[clicked]),
        (unsub, UNSUBSCRIBE, unsub_t),
        (np.flatnonzero(spam), SPAM, r_spam[spam]),
    ]
    ee_r = np.concatenate([p[0] for p in ev_parts])
    ee_type = np.concatenate([np.full(len(p[0]), p[1]) for p in ev_parts])
    ee_t = np.minimum(np.concatenate([p[2] for p in ev_parts]), end)

    # consents table (primary records; duplicate records opt in at their own signup)
    dup_consent = rng.random(m) < 0.6
    cs_rec = np.r_[
        np.flatnonzero(consented), np.flatnonzero(opt_out), n + np.flatnonzero(dup_consent)
    ]
    cs_status = np.r_[
        np.zeros(int(consented.sum()), np.int64),
        np.ones(int(opt_out.sum()), np.int64),
        np.zeros(int(dup_consent.sum()), np.int64),
    ]
    cs_time = np.r_[
        c_in[consented],
        out_t[opt_out],
        rec_signup[n + np.flatnonzero(dup_consent)] + rng.integers(2, 90, int(dup_consent.sum())),
    ]
    in_src = np.where(
        at_signup, "signup_form", np.where(rng.random(n) < 0.5, "preference_center", "checkout")
    )
    cs_src = np.r_[in_src[consented], out_src[opt_out], np.full(int(dup_consent.sum()), "checkout")]
    cs_order = np.lexsort((cs_status, cs_time))
    consents = pa.table(
        {
            "customer_id": _take(rec_ids, cs_rec[cs_order]),
            "channel": pa.array(np.full(len(cs_rec), "email")),
            "status": _take(pa.array(["opted_in", "opted_out"]), cs_status[cs_order]),
            "changed_at": _ts(cs_time[cs_order]),
            "source": pa.array(cs_src[cs_order]),
        }
    )

    # ---------------- web sessions ------------------------------------------------------
    # browse sessions
    n_b = rng.poisson(rng.gamma(6.0, P["browse_rate"][persona] / 6.0) * active_years)
    b_person = np.repeat(np.arange(n), n_b)
    b_time = _sample_times(rng, a0[b_person], a1[b_person])
    # visits come in bursts: a third of the sessions follow the previous one within hours
    b_order = np.lexsort((b_time, b_person))
    b_person, b_time = b_person[b_order], b_time[b_order]
    follow = np.zeros(len(b_person), bool)
    follow[1:] = (b_person[1:] == b_person[:-1]) & (rng.random(max(len(b_person) - 1, 0)) < 0.35)
    idx = np.flatnonzero(follow)
    b_time[idx] = np.minimum(
        b_time[idx - 1] + 600 + rng.exponential(18 * HOUR, len(idx)).astype(np.int64),
        a1[b_person[idx]],
    )
    b_rec = pick_record(b_person, b_time)
    b_ident = rng.random(len(b_person)) >= P["p_anonymous"][persona[b_person]]
    b_len = 1 + rng.poisson(P["session_len"][persona[b_person]] - 1)
    # purchase sessions, one per order
    k_pre = np.minimum(rng.poisson(0.8, n_o), 4)
    n_pos = n_lines  # add_to_cart per order line
    pu_len = k_pre + n_pos + 2
    pu_ident_from = np.where(rng.random(n_o) < 0.3, k_pre + n_pos, 0)
    # e-mail click sessions
    c_sel = np.flatnonzero(clicked)
    c_sel = c_sel[rng.random(len(c_sel)) < 0.6]
    c_person = r_person[c_sel]
    c_time = r_click[c_sel] + rng.integers(2, 40, len(c_sel))
    ok = (c_time <= a1[c_person]) & (c_time <= end)
    c_sel, c_person, c_time = c_sel[ok], c_person[ok], c_time[ok]
    c_len = 1 + rng.poisson(1.5, len(c_sel))
    c_ident = rng.random(len(c_sel)) >= 0.1
    # visitors who never sign up
    n_vis = rng.poisson(STRANGER_VISITORS_PER_PERSON_YEAR * n * window / YEAR)
    v_sessions = 1 + rng.poisson(0.4, n_vis)
    v_anon = cnt.anon + np.repeat(np.arange(n_vis), v_sessions)
    cnt.anon += n_vis
    n_v = len(v_anon)
    v_time = _sample_times(rng, np.full(n_v, start), np.full(n_v, end))
    v_len = 1 + rng.poisson(STRANGER.session_len - 1, n_v)

    # consideration episodes: 2-3 visits within days putting the same product into the cart
    # and starting the checkout without buying (abandoned checkouts, "high intent at risk")
    n_ep = rng.poisson(P["consider_rate"][persona] * active_years)
    ep_person = np.repeat(np.arange(n), n_ep)
    ep_time = _sample_times(rng, a0[ep_person], a1[ep_person])
    ep_prod = _sample_products(cat, rng, persona[ep_person], fav[ep_person])
    ep_n = 2 + (rng.random(len(ep_person)) < 0.4)
    k_ep = np.repeat(np.arange(len(ep_person)), ep_n)
    k_off = np.where(_within(ep_n) == 0, 0, rng.integers(2 * HOUR, 2 * DAY, len(k_ep)))
    k_cs = np.cumsum(k_off)
    k_time = ep_time[k_ep] + k_cs - k_cs[(np.cumsum(ep_n) - ep_n)[k_ep]]
    k_person = ep_person[k_ep]
    k_rec = pick_record(k_person, k_time)
    n_k = len(k_ep)
    k_len = 3 + rng.poisson(1.0, n_k)

    def device(person: np.ndarray) -> np.ndarray:
        return dev0[person] + (n_dev[person] == 2) * (rng.random(len(person)) < 0.5)

    nb_, nc_ = len(b_person), len(c_sel)
    s_kind = np.r_[
        np.zeros(nb_, np.int8),
        np.ones(n_o, np.int8),
        np.full(nc_, 2, np.int8),
        np.full(n_v, 3, np.int8),
        np.full(n_k, 4, np.int8),
    ]
    s_persona = np.r_[
        persona[b_person],
        o_persona,
        persona[c_person],
        np.full(n_v, STRANGER_IDX),
        persona[k_person],
    ]
    s_rec = np.r_[b_rec, o_rec, c_person, np.full(n_v, -1), k_rec]
    s_anon = np.r_[device(b_person), device(o_person), device(c_person), v_anon, device(k_person)]
    s_fav = np.r_[
        fav[b_person], fav[o_person], fav[c_person], rng.integers(0, 8, n_v), fav[k_person]
    ]
    s_len = np.r_[b_len, pu_len, c_len, v_len, k_len]
    s_ident_from = np.r_[
        np.where(b_ident, 0, 99),
        pu_ident_from,
        np.where(c_ident, 0, 99),
        np.full(n_v, 99),
        np.zeros(n_k, np.int64),
    ]
    s_k = np.r_[np.zeros(nb_, np.int64), k_pre, np.zeros(nc_ + n_v + n_k, np.int64)]
    s_person = np.r_[b_person, o_person, c_person, k_person]
    s_add = np.r_[p_add[s_person[: nb_ + n_o + nc_]], np.full(n_v, STRANGER.p_add), p_add[k_person]]
    s_chk = np.r_[
        p_chk[s_person[: nb_ + n_o + nc_]], np.full(n_v, STRANGER.p_checkout), p_chk[k_person]
    ]
    s_order = np.r_[np.full(nb_, -1), np.arange(n_o), np.full(nc_ + n_v + n_k, -1)]
    s_camp = np.r_[np.full(nb_ + n_o, -1), r_camp[c_sel], np.full(n_v + n_k, -1)]
    s_kprod = np.r_[np.full(nb_ + n_o + nc_ + n_v, -1), ep_prod[k_ep]]

    e_s = np.repeat(np.arange(len(s_len)), s_len)
    e_pos = _within(s_len)
    n_e = len(e_s)
    e_kind = s_kind[e_s]
    e_persona = s_persona[e_s]
    is_pu = e_kind == 1
    e_k = s_k[e_s]
    e_len = s_len[e_s]
    gap_s = rng.exponential(P["event_gap"][e_persona]).astype(np.int64) + 4
    gap_s = np.minimum(gap_s, np.where(is_pu & (e_pos >= e_k), 240, 600))
    gap_s[e_pos == 0] = 0
    cs = np.cumsum(gap_s)
    first = np.cumsum(s_len) - s_len
    rel = cs - cs[first][e_s]
    total = rel[first + s_len - 1]
    s_start = np.r_[b_time, o_time - total[nb_ : nb_ + n_o], c_time, v_time, k_time]
    e_t = s_start[e_s] + rel

    # event types
    u = rng.random(n_e)
    # browsing: page_view 20 %, search 12 %, cart and checkout by the customer's propensity,
    # product_view the rest (remove_from_cart at 30 % of the add rate)
    ea, ec = s_add[e_s], s_chk[e_s]
    t_view = 0.2
    t_search = 1.0 - 0.12 - 1.3 * ea - ec
    e_type = np.select(
        [u < t_view, u < t_search, u < t_search + 0.12, u < t_search + 0.12 + ea, u < 1.0 - ec],
        [PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD, REMOVE],
        CHECKOUT,
    )
    pre = is_pu & (e_pos < e_k)
    e_type[pre] = np.searchsorted([0.2, 0.85, 1.0], u[pre], side="right").clip(0, 2)
    e_type[is_pu & (e_pos >= e_k)] = ADD
    e_type[is_pu & (e_pos == e_len - 2)] = CHECKOUT
    e_type[is_pu & (e_pos == e_len - 1)] = PURCHASE
    e_type[e_pos == 0] = np.where(is_pu[e_pos == 0] & (e_k[e_pos == 0] == 0), ADD, PAGE_VIEW)
    is_k = e_kind == 4
    e_type[is_k] = PRODUCT_VIEW
    e_type[is_k & (e_pos == e_len - 2)] = ADD
    e_type[is_k & (e_pos == e_len - 1)] = CHECKOUT
    e_type[is_k & (e_pos == 0)] = PAGE_VIEW
    add_idx, has_add = _ffill(e_type == ADD, e_s)
    bad_remove = (e_type == REMOVE) & ~has_add
    e_type[bad_remove] = PRODUCT_VIEW
    e_type[(e_type == CHECKOUT) & ~has_add] = PAGE_VIEW

    # products
    e_prod = np.full(n_e, -1, dtype=np.int64)
    need = np.isin(e_type, (PRODUCT_VIEW, ADD, REMOVE))
    e_prod[need] = _sample_products(cat, rng, e_persona[need], s_fav[e_s[need]])
    kv = is_k & (e_type == PRODUCT_VIEW)
    e_prod[kv] = s_kprod[e_s[kv]]
    # purchase sessions: carts hold the order's products; earlier views often show them
    pu_add = is_pu & (e_type == ADD)
    e_order = s_order[e_s]
    line = first_line[e_order[pu_add]] + (e_pos[pu_add] - e_k[pu_add])
    e_prod[pu_add] = l_prod[line]
    pv = np.flatnonzero(pre & (e_type == PRODUCT_VIEW) & (rng.random(n_e) < 0.6))
    o = e_order[pv]
    e_prod[pv] = l_prod[first_line[o] + np.floor(rng.random(len(pv)) * n_lines[o]).astype(np.int64)]
    # browse carts: add the product just viewed, remove something that was added
    view_idx, has_view = _ffill(e_type == PRODUCT_VIEW, e_s)
    b_add = ~is_pu & (e_type == ADD) & has_view
    e_prod[b_add] = e_prod[view_idx[b_add]]
    add_idx, has_add = _ffill(e_type == ADD, e_s)
    rem = (e_type == REMOVE) & has_add
    e_prod[rem] = e_prod[add_idx[rem]]

    # urls
    url = np.full(n_e, cat.url_static["/"], dtype=np.int64)
    pvw = np.flatnonzero(e_type == PAGE_VIEW)
    uu = rng.random(len(pvw))
    page_w = np.array([0.35, 0.09, 0.08, 0.05, 0.02, 0.02, 0.03, 0.06])  # STATIC_PAGES
    static_pick = np.searchsorted(np.cumsum(page_w) / page_w.sum(), uu / 0.7, side="right")
    url[pvw] = np.where(uu < 0.7, np.minimum(static_pick, 7), cat.url_cat + s_fav[e_s[pvw]])
    bh = pvw[(e_persona[pvw] == PERSONA["bargain_hunter"]) & (rng.random(len(pvw)) < 0.4)]
    url[bh] = cat.url_static["/sale"]
    landing = (e_kind == 2) & (e_pos == 0)
    url[landing] = cat.url_landing + s_camp[e_s[landing]]
    srch = e_type == SEARCH
    url[srch] = cat.url_search + rng.integers(0, len(SEARCH_TERMS), int(srch.sum()))
    has_p = e_prod >= 0
    url[has_p] = cat.url_product + e_prod[has_p]
    url[e_type == REMOVE] = cat.url_static["/cart"]
    url[e_type == CHECKOUT] = cat.url_static["/checkout"]
    url[e_type == PURCHASE] = cat.url_static["/checkout/confirmation"]

    keep = e_t <= end
    e_s, e_t, e_type, e_prod, url, e_pos = (
        e_s[keep],
        e_t[keep],
        e_type[keep],
        e_prod[keep],
        url[keep],
        e_pos[keep],
    )
    e_rec = np.where(e_pos >= s_ident_from[e_s], s_rec[e_s], -1)
    e_anon = s_anon[e_s]
    w_recv = _latency(rng, e_t, end, 3)
    order = np.argsort(e_t, kind="stable")
    e_t, e_type, e_prod, url, e_rec, e_anon, w_recv = (
        a[order] for a in (e_t, e_type, e_prod, url, e_rec, e_anon, w_recv)
    )
    n_w = len(e_t)
    w_num = cnt.web + np.arange(n_w) + 1
    cnt.web += n_w

    # ---------------- e-mail events table -----------------------------------------------
    ee_recv = _latency(rng, ee_t, end, 120)
    order = np.argsort(ee_t, kind="stable")
    ee_r, ee_type, ee_t, ee_recv = ee_r[order], ee_type[order], ee_t[order], ee_recv[order]
    n_ee = len(ee_r)
    ee_num = cnt.email + np.arange(n_ee) + 1
    cnt.email += n_ee

    # ---------------- messiness and contract-breaking rows ------------------------------
    tables: dict[str, pa.Table] = {}
    tables["customers"] = _customers_table(
        run, rng, n, m, rec_ids, rec_person, rec_signup, email_null, p0, dup_of
    )
    tables["orders"] = _orders_table(run, rng, o_ids, o_rec, o_time, o_status, o_upd, rec_ids)
    tables["order_items"] = _items_table(
        run, rng, o_ids, li_order, li_num, li_prod, li_null, li_qty, li_unit, li_disc, next_line
    )
    anon_ids = _hex_ids(np.arange(anon_base, cnt.anon), run.salt)
    tables["web_events"] = _events_table(
        run,
        rng,
        "web_events",
        w_num,
        {
            "anonymous_id": (anon_ids, e_anon - anon_base),
            "customer_id": (rec_ids, e_rec),
            "event_type": (pa.array(WEB_TYPES), e_type),
            "product_id": (cat.prod_ids, e_prod),
            "page_url": (cat.urls, url),
        },
        e_t,
        w_recv,
        BAD_WEB_TYPE,
    )
    tables["email_events"] = _events_table(
        run,
        rng,
        "email_events",
        ee_num,
        {
            "customer_id": (rec_ids, r_person[ee_r]),
            "campaign_id": (cat.camp_ids, r_camp[ee_r]),
            "event_type": (pa.array(EMAIL_TYPES), ee_type),
        },
        ee_t,
        ee_recv,
        BAD_EMAIL_TYPE,
    )
    tables["consents"] = consents
    return tables


def _sample_times_near(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Move a timestamp to a plausible hour of its day (keeps the day)."""
    day = t // DAY
    u = rng.random(len(t))
    weekend = ((day + 3) % 7) >= 5
    hour = np.where(
        weekend, np.searchsorted(HOUR_CDF[True], u), np.searchsorted(HOUR_CDF[False], u)
    )
    return day * DAY + np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, len(t))


def _customers_table(
    run: _Run,
    rng: np.random.Generator,
    n: int,
    m: int,
    rec_ids: pa.Array,
    rec_person: np.ndarray,
    rec_signup: np.ndarray,
    email_null: np.ndarray,
    p0: int,
    dup_of: np.ndarray,
) -> pa.Table:
    end, truth = run.end, run.truth
    r = n + m
    u = rng.random(n)
    gender = np.select([u < 0.5, u < 0.98, u < 0.99], [0, 1, 2], 3)  # female, male, diverse, null
    fem = rng.integers(0, len(FIRST_NAMES_FEMALE), n)
    male = rng.integers(0, len(FIRST_NAMES_MALE), n)
    any_ = rng.random(n) < 0.5
    first_names = pa.array(FIRST_NAMES_FEMALE + FIRST_NAMES_MALE)
    first_idx = np.where(
        (gender == 0) | ((gender >= 2) & any_), fem, len(FIRST_NAMES_FEMALE) + male
    )
    last_idx = rng.integers(0, len(LAST_NAMES), n)
    city_w = np.array([c[2] for c in CITIES])
    city_idx = np.searchsorted(np.cumsum(city_w) / city_w.sum(), rng.random(n), side="right").clip(
        0, len(CITIES) - 1
    )
    age_days = (np.clip(rng.normal(41, 13, n), 18, 85) * 365.25).astype(np.int64)
    birth = (end // DAY - age_days - rng.integers(0, 365, n)).astype(np.int32)

    first = _take(first_names, first_idx[rec_person])
    last = _take(pa.array(LAST_NAMES), last_idx[rec_person])
    person_no = pc.cast(pa.array(p0 + rec_person + 1), pa.string())
    clean = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), person_no, "@example.com", ""
    )
    # messy but equivalent spellings: duplicate records always, a few primaries too
    variant = np.where(np.arange(r) >= n, rng.integers(0, 6, r), -1)
    messy_primary = (np.arange(r) < n) & (rng.random(r) < MESSY_EMAIL_RATE)
    messy_primary[dup_of] = False  # a duplicate's e-mail differs from the clean original
    variant[messy_primary] = rng.integers(0, 2, int(messy_primary.sum()))
    forms = [
        pc.utf8_capitalize(clean),
        pc.utf8_title(clean),
        pc.utf8_upper(clean),
        pc.binary_join_element_wise(" ", clean, ""),
        pc.binary_join_element_wise(clean, " ", ""),
        pc.binary_join_element_wise(" ", pc.utf8_title(clean), "  ", ""),
    ]
    email = clean
    for v, form in enumerate(forms):
        email = pc.if_else(pa.array(variant == v), form, email)
    email = pc.if_else(pa.array(email_null), pa.nulls(r, pa.string()), email)

    rec_city = city_idx[rec_person].copy()
    moved = (np.arange(r) >= n) & (rng.random(r) < 0.2)
    rec_city[moved] = rng.integers(0, len(CITIES), int(moved.sum()))
    edited = rng.random(r) < 0.45
    upd = rec_signup + rng.integers(0, 120, r)
    upd[edited] = _uniform_int(rng, rec_signup[edited], np.full(int(edited.sum()), end))
    _freshen(rng, upd, rec_signup, end)

    # profile updates: an older version of the row with the previous city
    cand = np.flatnonzero(upd - rec_signup > DAY)
    k = min(len(cand), int(rng.binomial(r, PROFILE_UPDATE_RATE)))
    prev = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    prev_upd = rec_signup[prev] + np.floor(rng.random(k) * (upd[prev] - rec_signup[prev])).astype(
        np.int64
    )
    prev_city = (rec_city[prev] + rng.integers(1, len(CITIES), k)) % len(CITIES)
    truth.dup("customers", _take(rec_ids, prev), np.ones(k))
    # null customer_id rows (e.g. guest records without a key)
    n_bad = _n_broken(r, 1)
    bad = rng.choice(r, n_bad, replace=False)
    truth.broke("customers", pa.nulls(n_bad, pa.string()), "null_key")

    rows = np.r_[np.arange(r), prev, bad]
    city = np.r_[rec_city, prev_city, rec_city[bad]]
    ids = pc.if_else(
        pa.array(np.arange(len(rows)) >= r + k),
        pa.nulls(len(rows), pa.string()),
        _take(rec_ids, rows),
    )
    table = pa.table(
        {
            "customer_id": ids,
            "email": email.take(pa.array(rows)),
            "first_name": first.take(pa.array(rows)),
            "last_name": last.take(pa.array(rows)),
            "birth_date": pa.array(birth[rec_person[rows]], pa.date32()),
            "gender": _take(
                pa.array(["female", "male", "diverse"]),
                gender[rec_person[rows]],
                gender[rec_person[rows]] == 3,
            ),
            "city": _take(pa.array([c[0] for c in CITIES]), city),
            "country": _take(pa.array([c[1] for c in CITIES]), city),
            "signup_at": _ts(rec_signup[rows]),
            "updated_at": _ts(np.r_[upd, prev_upd, upd[bad]]),
        }
    )
    order = np.argsort(np.r_[upd, prev_upd, upd[bad]], kind="stable")
    return table.take(pa.array(order))


def _orders_table(
    run: _Run,
    rng: np.random.Generator,
    o_ids: pa.Array,
    o_rec: np.ndarray,
    o_time: np.ndarray,
    o_status: np.ndarray,
    o_upd: np.ndarray,
    rec_ids: pa.Array,
) -> pa.Table:
    end, truth, cnt = run.end, run.truth, run.counters
    n_o = len(o_rec)
    _freshen(rng, o_upd, o_time, end)
    # earlier versions of ~0.5 % of orders (status changed later)
    cand = np.flatnonzero(o_upd - o_time >= 120)
    k = min(len(cand), int(rng.binomial(n_o, ORDER_VERSION_RATE)))
    prev = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    prev_upd = o_time[prev] + np.floor(
        (0.05 + 0.45 * rng.random(k)) * (o_upd[prev] - o_time[prev])
    ).astype(np.int64)
    truth.dup("orders", _take(o_ids, prev), np.ones(k))

    # contract-breaking orders (extra rows, no lines)
    nb = _n_broken(n_o, 3) if n_o else 0
    src = rng.integers(0, max(n_o, 1), 3 * nb) if n_o else np.empty(0, np.int64)
    new_num = cnt.order + np.arange(2 * nb) + 1
    cnt.order += 2 * nb
    new_ids = _ids("ORD", new_num, 9)
    b_time = o_time[src].copy()
    b_upd = o_upd[src].copy()
    fut = slice(2 * nb, 3 * nb)
    b_time[fut] = end + rng.integers(HOUR, 30 * DAY, nb)
    b_upd[fut] = b_time[fut]
    b_status = pa.array(["completed"] * nb + [BAD_ORDER_STATUS] * nb + ["completed"] * nb)
    b_ids = pa.concat_arrays([pa.nulls(nb, pa.string()), new_ids])
    if nb:
        truth.broke("orders", pa.nulls(nb, pa.string()), "null_key")
        truth.broke("orders", new_ids[:nb], "unknown_event_type")
        truth.broke("orders", new_ids[nb:], "future_timestamp")

    status_vocab = pa.array(contract.ORDER_STATUSES)
    table = pa.table(
        {
            "order_id": pa.concat_arrays([o_ids, o_ids.take(pa.array(prev)), b_ids]),
            "customer_id": _take(rec_ids, np.r_[o_rec, o_rec[prev], o_rec[src]]),
            "ordered_at": _ts(np.r_[o_time, o_time[prev], b_time]),
            "status": pa.concat_arrays(
                [
                    _take(status_vocab, o_status),
                    _take(status_vocab, np.zeros(k, np.int64)),
                    b_status,
                ]
            ),
            "currency": pa.array(np.full(n_o + k + 3 * nb, CURRENCY)),
            "updated_at": _ts(np.r_[o_upd, prev_upd, b_upd]),
        }
    )
    return table.take(pa.array(np.argsort(np.r_[o_upd, prev_upd, b_upd], kind="stable")))


def _items_table(
    run: _Run,
    rng: np.random.Generator,
    o_ids: pa.Array,
    li_order: np.ndarray,
    li_num: np.ndarray,
    li_prod: np.ndarray,
    li_null: np.ndarray,
    li_qty: np.ndarray,
    li_unit: np.ndarray,
    li_disc: np.ndarray,
    next_line: np.ndarray,
) -> pa.Table:
    cat, truth = run.cat, run.truth
    n_li = len(li_order)
    order = np.lexsort((li_num, li_order))
    li_order, li_num, li_prod, li_null, li_qty, li_unit, li_disc = (
        a[order] for a in (li_order, li_num, li_prod, li_null, li_qty, li_unit, li_disc)
    )
    nb = _n_broken(n_li, 2) if n_li else 0
    # null order_id: a copy of a real line without its order
    src = rng.integers(0, max(n_li, 1), nb)
    # negative unit_price: an extra line on an order
    neg_orders = (
        rng.choice(len(next_line), min(nb, len(next_line)), replace=False)
        if nb
        else np.empty(0, np.int64)
    )
    neg_prod = rng.integers(0, len(cat.prod_cents), len(neg_orders))
    neg_line = next_line[neg_orders] + 1
    if nb:
        truth.broke("order_items", pa.nulls(nb, pa.string()), "null_key")
        keys = pc.binary_join_element_wise(
            _take(o_ids, neg_orders), pc.cast(pa.array(neg_line), pa.string()), "-"
        )
        truth.broke("order_items", keys, "negative_price")
    k = len(neg_orders)
    oid = pa.concat_arrays(
        [_take(o_ids, li_order), pa.nulls(nb, pa.string()), _take(o_ids, neg_orders)]
    )
    prod = np.r_[li_prod, li_prod[src], neg_prod]
    null = np.r_[li_null, li_null[src], np.zeros(k, bool)]
    return pa.table(
        {
            "order_id": oid,
            "line_number": pa.array(np.r_[li_num, li_num[src], neg_line].astype(np.int32)),
            "product_id": _take(cat.prod_ids, prod, null),
            "quantity": pa.array(np.r_[li_qty, li_qty[src], np.ones(k, np.int64)].astype(np.int32)),
            "unit_price": _money(np.r_[li_unit, li_unit[src], -cat.prod_cents[neg_prod]]),
            "discount": _money(np.r_[li_disc, li_disc[src], np.zeros(k, np.int64)]),
        }
    )


def _events_table(
    run: _Run,
    rng: np.random.Generator,
    table: str,
    numbers: np.ndarray,
    cols: dict[str, tuple[pa.Array, np.ndarray]],
    occurred: np.ndarray,
    received: np.ndarray,
    bad_type: str,
) -> pa.Table:
    """Build an event table with duplicate deliveries and contract-breaking rows.

    ``numbers`` are the event numbers (ids), ``cols`` maps a column to (vocabulary, index
    per event; -1 = null). Rows are written in ``received_at`` order.
    """
    end, truth, cnt = run.end, run.truth, run.counters
    prefix, counter, width = ("WE", "web", 10) if table == "web_events" else ("EE", "email", 10)
    n_e = len(occurred)
    _freshen(rng, received, occurred, end)
    src, copies, dup_recv = _event_duplicates(rng, received, end)
    truth.dup(table, _ids(prefix, numbers[src], width), copies)
    dup_rows = np.repeat(src, copies)

    nb = _n_broken(n_e, 3) if n_e else 0
    bsrc = rng.integers(0, max(n_e, 1), 3 * nb) if n_e else np.empty(0, np.int64)
    new_nums = getattr(cnt, counter) + np.arange(2 * nb) + 1
    setattr(cnt, counter, getattr(cnt, counter) + 2 * nb)
    b_occ = occurred[bsrc].copy()
    b_occ[2 * nb :] = end + rng.integers(10 * 60, 20 * DAY, nb)
    b_recv = received[bsrc].copy()
    b_recv[2 * nb :] = b_occ[2 * nb :] + rng.integers(0, 5, nb)
    if nb:
        truth.broke(table, pa.nulls(nb, pa.string()), "null_key")
        truth.broke(table, _ids(prefix, new_nums[:nb], width), "unknown_event_type")
        truth.broke(table, _ids(prefix, new_nums[nb:], width), "future_timestamp")

    recv = np.r_[received, dup_recv, b_recv]
    order = np.argsort(recv, kind="stable")
    rows = np.r_[np.arange(n_e), dup_rows, bsrc][order]
    nums = np.r_[numbers, numbers[dup_rows], np.full(nb, -1), new_nums][order]
    out = {"event_id": _ids(prefix, np.maximum(nums, 0), width)}
    if nb:
        out["event_id"] = pc.if_else(
            pa.array(nums < 0), pa.scalar(None, pa.string()), out["event_id"]
        )
    bad = np.zeros(len(recv), bool)
    bad[n_e + len(dup_rows) + nb : n_e + len(dup_rows) + 2 * nb] = True
    bad = bad[order]
    for name, (vocab, idx) in cols.items():
        i = idx[rows]
        if name == "event_type":
            vocab = pa.concat_arrays([vocab, pa.array([bad_type])])
            i = np.where(bad, len(vocab) - 1, i)
        out[name] = _take(vocab, i, i < 0)
    out["occurred_at"] = _ts(np.r_[occurred, occurred[dup_rows], b_occ][order])
    out["received_at"] = _ts(recv[order])
    return pa.table(out)


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------


def _resolve_end(end: datetime | None) -> datetime:
    if end is None:
        end = datetime.now(UTC)
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    return end.replace(microsecond=0)


class _Sink:
    """One Parquet file per table: contract.write_table for a single chunk, else a writer."""

    def __init__(self, out: Path, chunked: bool) -> None:
        self.out = out
        self.chunked = chunked
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = dict.fromkeys(contract.TABLES, 0)

    def write(self, table: str, data: pa.Table, whole: bool = False) -> None:
        self.rows[table] += data.num_rows
        if whole or not self.chunked:
            contract.write_table(table, data, self.out)
            return
        schema = contract.SCHEMAS[table]
        if table not in self.writers:
            self.writers[table] = pq.ParquetWriter(self.out / f"{table}.parquet", schema)
        self.writers[table].write_table(data.select(schema.names).cast(schema))

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def generate(
    customers: int,
    days: int,
    seed: int,
    end: datetime | None,
    out: Path,
    truth_out: Path | None = None,
    progress: bool = True,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, int]:
    """Writes <out>/<table>.parquet for all 8 contract tables and the ground truth to
    truth_out (default: out.parent / "truth"). Returns rows written per table.
    end=None -> now (UTC, truncated to the second).

    ``customers`` is the number of persons; about 3 % of them get a second customer
    record. The output is determined by (customers, days, seed, end) and ``chunk_size``.
    """
    if customers < 1:
        raise ValueError("customers must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    out = Path(out)
    truth_out = Path(truth_out) if truth_out is not None else out.parent / "truth"
    if truth_out.resolve().is_relative_to(out.resolve()):
        raise ValueError("truth_out must be outside out (the truth never goes with the raw data)")
    end_dt = _resolve_end(end)
    end_s = int((end_dt - EPOCH).total_seconds())
    start_s = end_s - days * DAY
    seed_u = int(seed) % (1 << 64)
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress:
            print(
                f"[generate] {msg} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True
            )

    out.mkdir(parents=True, exist_ok=True)
    truth_out.mkdir(parents=True, exist_ok=True)
    g_rng = np.random.default_rng(np.random.SeedSequence([seed_u, 0]))
    cat = _make_catalog(g_rng, start_s, end_s)
    salt = int(g_rng.integers(0, 1 << 63))
    truth = _Truth()
    truth.broke("products", cat.broken_products, "negative_price")
    run = _Run(
        end=end_s,
        start=start_s,
        n_persons=customers,
        salt=salt,
        cat=cat,
        counters=_Counters(),
        truth=truth,
    )

    n_chunks = -(-customers // max(1, chunk_size))
    sizes = np.full(n_chunks, customers // n_chunks)
    sizes[: customers % n_chunks] += 1
    sink = _Sink(out, chunked=n_chunks > 1)
    try:
        sink.write("products", cat.products_table, whole=True)
        sink.write("email_campaigns", cat.campaigns_table, whole=True)
        say(f"{customers:,} persons, {days} days until {end_dt.isoformat()}, seed {seed}")
        p0 = 0
        for ci, size in enumerate(sizes):
            rng = np.random.default_rng(np.random.SeedSequence([seed_u, ci + 1]))
            tables = _chunk(run, rng, p0, int(size))
            for name, data in tables.items():
                sink.write(name, data)
            p0 += int(size)
            say(
                f"chunk {ci + 1}/{n_chunks} (persons {p0:,}/{customers:,}): "
                + ", ".join(f"{k} {v.num_rows:,}" for k, v in tables.items())
            )
    finally:
        sink.close()
    for name, rows in sink.rows.items():
        say(f"{name} {rows:,} rows")

    pq.write_table(pa.concat_tables(truth.customers), truth_out / "customers_truth.parquet")
    broken = pa.concat_tables(truth.broken)
    pq.write_table(broken, truth_out / "broken_rows.parquet")
    dups = pa.concat_tables(truth.dups)
    pq.write_table(dups, truth_out / "planted_duplicates.parquet")
    spec = {"customers": customers, "days": days, "seed": seed, "end": end_dt.isoformat()}
    (truth_out / GENERATION_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    say(f"truth in {truth_out}: {broken.num_rows:,} broken rows, {dups.num_rows:,} duplicated keys")
    return dict(sink.rows)
