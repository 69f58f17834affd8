"""Web events of the sessions: event types (browsing: page_view 20 %, search 12 %, cart
and checkout by the customer's propensity, product_view the rest), products, pages and
when the events arrive."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.personas import SEARCH_TERMS
from segmentation.simulator.activity import Activity
from segmentation.simulator.arrays import ffill, within
from segmentation.simulator.catalog import URL_STATIC, sample_products
from segmentation.simulator.context import Ctx
from segmentation.simulator.email import Mail
from segmentation.simulator.mess import arrival
from segmentation.simulator.orders import Orders
from segmentation.simulator.profiles import (
    ADD,
    CHECKOUT,
    PAGE_VIEW,
    PERSONA,
    PRODUCT_VIEW,
    PURCHASE,
    REMOVE,
    SEARCH,
    P,
)
from segmentation.simulator.sessions import (
    BUY,
    CONSIDER,
    LANDING,
    VISITOR,
    Sessions,
    build_sessions,
)
from segmentation.simulator.state import Persons

PAGE_W = np.array([0.35, 0.09, 0.08, 0.05, 0.02, 0.02, 0.03, 0.06])  # STATIC_PAGES


@dataclass
class WebEvents:
    """The period's web events, in session order; devices and customers as indexes into
    the numbers that occur (the vocabularies of the columns)."""

    devices: np.ndarray  # device numbers
    device: np.ndarray  # index into devices
    customers: np.ndarray  # customer numbers
    customer: np.ndarray  # index into customers, -1: anonymous
    etype: np.ndarray
    prod: np.ndarray  # product index, -1: none
    url: np.ndarray  # index into ctx.urls.values
    occurred: np.ndarray
    received: np.ndarray


@dataclass
class _Ev:
    s: np.ndarray  # session of each event
    pos: np.ndarray
    kind: np.ndarray
    pre: np.ndarray
    length: np.ndarray

    @property
    def buy(self) -> np.ndarray:
        return self.kind == BUY


def simulate_web(
    ctx: Ctx, persons: Persons, act: Activity, orders: Orders, mail: Mail
) -> WebEvents:
    s = build_sessions(ctx, persons, act, orders, mail)
    visitor = s.kind == VISITOR
    n_vis = int(s.anon[visitor].max()) + 1 if visitor.any() else 0
    s.anon[visitor] += ctx.shop.counters.device
    ctx.shop.counters.device += n_vis
    e_s = np.repeat(np.arange(len(s.length)), s.length)
    ev = _Ev(e_s, within(s.length), s.kind[e_s], s.pre[e_s], s.length[e_s])
    e_t = _times(ctx, s, ev)
    e_type = _types(ctx, s, ev)
    e_prod = _products(ctx, s, orders, ev, e_type)
    url = _pages(ctx, s, ev, e_type, e_prod)
    keep = e_t <= ctx.period.hi
    e_s, e_t, e_type, e_prod, url, pos = (a[keep] for a in (ev.s, e_t, e_type, e_prod, url, ev.pos))
    # offline sessions: the events happened earlier than the device synced them
    off = s.offline[e_s]
    occurred = e_t - off
    received = arrival(ctx.rng, occurred, ctx.period.lo, ctx.period.hi, 3)
    synced = off > 0
    received[synced] = np.maximum(
        np.minimum(e_t[synced] + ctx.rng.integers(0, 4, int(synced.sum())), ctx.period.hi),
        ctx.period.lo + 1,
    )
    identified = (pos >= s.ident_from[e_s]) & (s.person[e_s] >= 0)
    _remember_devices(persons, s.person[e_s], s.slot[e_s], s.rec[e_s], identified)
    devices, s_dev = np.unique(s.anon, return_inverse=True)  # per session: cheap
    customers, s_cust = _session_customers(persons, s)
    customer = np.where(identified, s_cust[e_s], -1)
    return WebEvents(
        devices, s_dev[e_s], customers, customer, e_type, e_prod, url, occurred, received
    )


def _session_customers(persons: Persons, s: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """(customer numbers, index per session; -1 for visitors) of the sessions' records."""
    p = np.maximum(s.person, 0)
    number = np.where(s.rec == 1, persons.dup_num[p], persons.rec_num[p])
    known = s.person >= 0
    customers = np.unique(number[known])
    return customers, np.where(known, np.searchsorted(customers, number), -1)


def _remember_devices(
    persons: Persons, person: np.ndarray, slot: np.ndarray, rec: np.ndarray, identified: np.ndarray
) -> None:
    """Which devices have events, and as which records they were identified."""
    p = person >= 0
    # buffered fancy-index updates are exact here: every write of one statement ORs the
    # same bit (np.bitwise_or.at would be ten times slower)
    for sl, bound in ((0, persons.bound0), (1, persons.bound1)):
        on = p & (slot == sl)
        persons.used[person[on]] |= np.int8(1 << sl)
        for r in (0, 1):
            bound[person[on & identified & (rec == r)]] |= np.int8(1 << r)


def _times(ctx: Ctx, s: Sessions, ev: _Ev) -> np.ndarray:
    """occurred_at: gaps at the persona's pace; purchase sessions end at ordered_at, the
    others start at their time."""
    gap = ctx.rng.exponential(P["event_gap"][s.persona[ev.s]]).astype(np.int64) + 4
    gap = np.minimum(gap, np.where(ev.buy & (ev.pos >= ev.pre), 240, 600))
    gap[ev.pos == 0] = 0
    cs = np.cumsum(gap)
    first = np.cumsum(s.length) - s.length
    rel = cs - cs[first][ev.s]
    total = rel[first + s.length - 1]
    return np.where(s.kind == BUY, s.t - total, s.t)[ev.s] + rel


def _types(ctx: Ctx, s: Sessions, ev: _Ev) -> np.ndarray:
    pos, e_k, e_len, is_pu = ev.pos, ev.pre, ev.length, ev.buy
    u = ctx.rng.random(len(ev.s))
    ea, ec = s.add[ev.s], s.chk[ev.s]
    t_search = 1.0 - 0.12 - 1.3 * ea - ec
    e_type = np.select(
        [u < 0.2, u < t_search, u < t_search + 0.12, u < t_search + 0.12 + ea, u < 1.0 - ec],
        [PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD, REMOVE],
        CHECKOUT,
    )
    pre = is_pu & (pos < e_k)
    e_type[pre] = np.searchsorted([0.2, 0.85, 1.0], u[pre], side="right").clip(0, 2)
    e_type[is_pu & (pos >= e_k)] = ADD
    e_type[is_pu & (pos == e_len - 2)] = CHECKOUT
    e_type[is_pu & (pos == e_len - 1)] = PURCHASE
    p0 = pos == 0
    e_type[p0] = np.where(is_pu[p0] & (e_k[p0] == 0), ADD, PAGE_VIEW)
    is_k = ev.kind == CONSIDER
    e_type[is_k] = PRODUCT_VIEW
    e_type[is_k & (pos == e_len - 2)] = ADD
    e_type[is_k & (pos == e_len - 1)] = CHECKOUT
    e_type[is_k & (pos == 0)] = PAGE_VIEW
    # no removal or checkout before something is in the cart
    _, has_add = ffill(e_type == ADD, ev.s)
    e_type[(e_type == REMOVE) & ~has_add] = PRODUCT_VIEW
    e_type[(e_type == CHECKOUT) & ~has_add] = PAGE_VIEW
    return e_type


def _products(ctx: Ctx, s: Sessions, orders: Orders, ev: _Ev, e_type: np.ndarray) -> np.ndarray:
    """Product per event (-1: none): purchase sessions add the order's lines and often
    view them before; browsing adds the product viewed last, removes one added."""
    rng, n_e = ctx.rng, len(ev.s)
    e_prod = np.full(n_e, -1, dtype=np.int64)
    need = np.isin(e_type, (PRODUCT_VIEW, ADD, REMOVE))
    shopper = np.where(s.person >= 0, s.anon - s.slot, s.anon)[ev.s[need]]  # person: dev0
    e_prod[need] = sample_products(
        ctx.shop.catalog, rng, s.persona[ev.s[need]], s.fav[ev.s[need]], shopper
    )
    kv = (ev.kind == CONSIDER) & (e_type == PRODUCT_VIEW)
    e_prod[kv] = s.kprod[ev.s[kv]]
    pu_add = ev.buy & (e_type == ADD)
    e_order = s.order[ev.s]
    line = orders.first_line[e_order[pu_add]] + (ev.pos[pu_add] - ev.pre[pu_add])
    e_prod[pu_add] = orders.lines.prod[line]
    pre = ev.buy & (ev.pos < ev.pre)
    pv = np.flatnonzero(pre & (e_type == PRODUCT_VIEW) & (rng.random(n_e) < 0.6))
    o = e_order[pv]
    e_prod[pv] = orders.lines.prod[
        orders.first_line[o] + np.floor(rng.random(len(pv)) * orders.n_lines[o]).astype(np.int64)
    ]
    view_idx, has_view = ffill(e_type == PRODUCT_VIEW, ev.s)
    b_add = ~ev.buy & (e_type == ADD) & has_view
    e_prod[b_add] = e_prod[view_idx[b_add]]
    add_idx, has_add = ffill(e_type == ADD, ev.s)
    rem = (e_type == REMOVE) & has_add
    e_prod[rem] = e_prod[add_idx[rem]]
    return e_prod


def _pages(ctx: Ctx, s: Sessions, ev: _Ev, e_type: np.ndarray, e_prod: np.ndarray) -> np.ndarray:
    """Index into the URL vocabulary per event."""
    rng, u = ctx.rng, ctx.urls
    url = np.full(len(ev.s), URL_STATIC["/"], dtype=np.int64)
    pvw = np.flatnonzero(e_type == PAGE_VIEW)
    uu = rng.random(len(pvw))
    static_pick = np.searchsorted(np.cumsum(PAGE_W) / PAGE_W.sum(), uu / 0.7, side="right")
    url[pvw] = np.where(uu < 0.7, np.minimum(static_pick, 7), u.cat + s.fav[ev.s[pvw]])
    persona = s.persona[ev.s[pvw]]
    bh = pvw[(persona == PERSONA["bargain_hunter"]) & (rng.random(len(pvw)) < 0.4)]
    url[bh] = URL_STATIC["/sale"]
    landing = (ev.kind == LANDING) & (ev.pos == 0)
    url[landing] = u.landing + s.camp[ev.s[landing]]
    srch = e_type == SEARCH
    url[srch] = u.search + rng.integers(0, len(SEARCH_TERMS), int(srch.sum()))
    has_p = e_prod >= 0
    url[has_p] = u.product + e_prod[has_p]
    url[e_type == REMOVE] = URL_STATIC["/cart"]
    url[e_type == CHECKOUT] = URL_STATIC["/checkout"]
    url[e_type == PURCHASE] = URL_STATIC["/checkout/confirmation"]
    return url
