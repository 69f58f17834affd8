"""Web events of the new days: the sessions' events with types, products and pages, and
when they arrive (late events, offline sessions synced later)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.append.common import WEB_TYPES, arrive_late
from segmentation.append.customers import NewCustomers
from segmentation.append.email import Mailing
from segmentation.append.orders import NewOrders
from segmentation.append.sessions import CLICK_S, PURCHASE_S, SIGNUP_S, Sessions, build_sessions
from segmentation.append.sim import Sim, event_table
from segmentation.generate import (
    ADD,
    BAD_WEB_TYPE,
    CHECKOUT,
    PAGE_VIEW,
    PRODUCT_VIEW,
    PURCHASE,
    REMOVE,
    SEARCH,
    _ffill,
    _hex_ids,
    _latency,
    _within,
)
from segmentation.personas import SEARCH_TERMS, STATIC_PAGES

STATIC = (*STATIC_PAGES, "/checkout", "/checkout/confirmation")
URL_STATIC = {u: i for i, u in enumerate(STATIC)}
PAGE_W = np.array([0.35, 0.09, 0.08, 0.05, 0.02, 0.02, 0.03, 0.06])  # STATIC_PAGES


@dataclass
class _Events:
    """One entry per event, in session order."""

    s: np.ndarray  # session index
    pos: np.ndarray  # position in the session
    kind: np.ndarray  # session kind
    pre: np.ndarray  # purchase sessions: browsing events before the cart
    length: np.ndarray  # session length

    @classmethod
    def of(cls, s: Sessions) -> _Events:
        e_s = np.repeat(np.arange(len(s.length)), s.length)
        return cls(e_s, _within(s.length), s.kind[e_s], s.pre[e_s], s.length[e_s])

    @property
    def is_purchase(self) -> np.ndarray:
        return self.kind == PURCHASE_S

    @property
    def signup_last(self) -> np.ndarray:
        """The sign-up itself: the last event of a sign-up session."""
        return (self.kind == SIGNUP_S) & (self.pos == self.length - 1)


def simulate_web(sim: Sim, new: NewCustomers, orders: NewOrders, mailing: Mailing) -> None:
    """Writes the web_events part."""
    h, rng, o, e = sim.h, sim.rng, sim.o, sim.e
    s = build_sessions(sim, new, orders, mailing)
    ev = _Events.of(s)
    e_t = _times(rng, s, ev)
    e_type = _types(rng, s, ev)
    e_prod = _products(sim, s, orders, ev, e_type)
    urls, url = _pages(sim, s, mailing, ev, e_type, e_prod)

    # arrival: offline sessions arrive when the device is back online
    keep = e_t <= e
    e_s, e_t, e_type, e_prod, url, pos = (a[keep] for a in (ev.s, e_t, e_type, e_prod, url, ev.pos))
    off = s.offline[e_s]
    occurred = e_t - off
    received = _latency(rng, occurred, e, 3)
    is_off = off > 0
    received[is_off] = np.minimum(e_t[is_off] + rng.integers(0, 4, int(is_off.sum())), e)
    early = (occurred <= o) & ~is_off
    received[early] = arrive_late(rng, int(early.sum()), o, e)
    e_cust = np.where(pos >= s.ident_from[e_s], s.cust[e_s], -1)
    sim.out.notes["web_sessions"] = len(s.length)
    sim.out.notes["offline_sessions"] = int((s.offline > 0).sum())

    anon_vocab = pa.concat_arrays([h.anon_ids, _new_anon_ids(sim)])
    sim.out.tables["web_events"] = event_table(
        sim,
        "web_events",
        "web",
        {
            "anonymous_id": (anon_vocab, s.anon[e_s]),
            "customer_id": (new.all_ids, e_cust),
            "event_type": (pa.array(WEB_TYPES), e_type),
            "product_id": (h.prod.ids, e_prod),
            "page_url": (urls, url),
        },
        occurred,
        received,
        BAD_WEB_TYPE,
        h.recent_web,
    )


def _times(rng: np.random.Generator, s: Sessions, ev: _Events) -> np.ndarray:
    """occurred_at: gaps of about a minute; purchase and sign-up sessions end at their
    anchor (ordered_at, signup_at), the others start at theirs."""
    pos, is_pu = ev.pos, ev.is_purchase
    gap = rng.exponential(60.0, len(ev.s)).astype(np.int64) + 4
    gap = np.minimum(gap, np.where(is_pu & (pos >= ev.pre), 240, 600))
    gap[pos == 0] = 0
    cs = np.cumsum(gap)
    first = np.cumsum(s.length) - s.length
    rel = cs - cs[first][ev.s]
    total = rel[first + s.length - 1]
    anchored = (s.kind == PURCHASE_S) | (s.kind == SIGNUP_S)
    start = np.where(anchored, s.t - total, s.t)
    return start[ev.s] + rel


def _types(rng: np.random.Generator, s: Sessions, ev: _Events) -> np.ndarray:
    pos, e_k, e_len, is_pu = ev.pos, ev.pre, ev.length, ev.is_purchase
    u = rng.random(len(ev.s))
    # browsing: page_view 20 %, search 12 %, add_to_cart by the visitor's propensity,
    # remove_from_cart at 30 % of that, product_view the rest (as in the generator)
    ea = s.add[ev.s]
    t_search = 1.0 - 0.12 - 1.3 * ea
    e_type = np.select(
        [u < 0.2, u < t_search, u < t_search + 0.12, u < t_search + 0.12 + ea],
        [PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD],
        REMOVE,
    )
    # abandoned checkouts: view, add to cart, start the checkout, leave
    ab = s.abandon[ev.s]
    e_type[ab & (pos == e_len - 3)] = PRODUCT_VIEW
    e_type[ab & (pos == e_len - 2)] = ADD
    e_type[ab & (pos == e_len - 1)] = CHECKOUT
    pre = is_pu & (pos < e_k)
    e_type[pre] = np.searchsorted([0.2, 0.85, 1.0], u[pre], side="right").clip(0, 2)
    e_type[is_pu & (pos >= e_k)] = ADD
    e_type[is_pu & (pos == e_len - 2)] = CHECKOUT
    e_type[is_pu & (pos == e_len - 1)] = PURCHASE
    p0 = pos == 0
    e_type[p0] = np.where(is_pu[p0] & (e_k[p0] == 0), ADD, PAGE_VIEW)
    e_type[ev.signup_last] = PAGE_VIEW
    # no removal or checkout before something is in the cart
    _, has_add = _ffill(e_type == ADD, ev.s)
    e_type[(e_type == REMOVE) & ~has_add] = PRODUCT_VIEW
    e_type[(e_type == CHECKOUT) & ~has_add] = PAGE_VIEW
    return e_type


def _products(
    sim: Sim, s: Sessions, orders: NewOrders, ev: _Events, e_type: np.ndarray
) -> np.ndarray:
    """Product index per event (-1: none): purchase sessions add the order's lines and
    often view them before; browsing adds the product viewed last."""
    rng, pos, e_k, is_pu = sim.rng, ev.pos, ev.pre, ev.is_purchase
    n_e = len(ev.s)
    e_prod = np.full(n_e, -1, dtype=np.int64)
    needp = np.isin(e_type, (PRODUCT_VIEW, ADD, REMOVE))
    e_prod[needp] = sim.h.prod.sample(rng, s.fav_cat[ev.s[needp]], s.fav_pos[ev.s[needp]])
    pu_add = is_pu & (e_type == ADD)
    e_order = s.order[ev.s]
    line = orders.first_line[e_order[pu_add]] + (pos[pu_add] - e_k[pu_add])
    e_prod[pu_add] = orders.prod[line]
    pre = is_pu & (pos < e_k)
    pv = np.flatnonzero(pre & (e_type == PRODUCT_VIEW) & (rng.random(n_e) < 0.6))
    oo = e_order[pv]
    e_prod[pv] = orders.prod[
        orders.first_line[oo] + np.floor(rng.random(len(pv)) * orders.lines[oo]).astype(np.int64)
    ]
    view_idx, has_view = _ffill(e_type == PRODUCT_VIEW, ev.s)
    b_add = ~is_pu & (e_type == ADD) & has_view
    e_prod[b_add] = e_prod[view_idx[b_add]]
    add_idx, has_add = _ffill(e_type == ADD, ev.s)
    rem = (e_type == REMOVE) & has_add
    e_prod[rem] = e_prod[add_idx[rem]]
    return e_prod


def _pages(
    sim: Sim,
    s: Sessions,
    mailing: Mailing,
    ev: _Events,
    e_type: np.ndarray,
    e_prod: np.ndarray,
) -> tuple[pa.Array, np.ndarray]:
    """page_url vocabulary (static pages, categories, searches, products, campaign landing
    pages) and the index into it per event."""
    rng, prod = sim.rng, sim.h.prod
    n_cat = len(prod.cat_names)
    url_cat = len(STATIC)
    url_search = url_cat + n_cat
    url_product = url_search + len(SEARCH_TERMS)
    url_landing = url_product + len(prod.cents)
    landing = [
        ("/sale" if n.startswith(("Weekend Sale", "Flash Sale")) else "/new-arrivals")
        + "?utm_source=newsletter&utm_medium=email&utm_campaign="
        for n in mailing.camp_names
    ]
    urls = pa.concat_arrays(
        [
            pa.array(list(STATIC), pa.string()),
            pa.array(["/c/" + c.replace("_", "-") for c in prod.cat_names], pa.string()),
            pa.array(["/search?q=" + t.replace(" ", "+") for t in SEARCH_TERMS], pa.string()),
            pc.binary_join_element_wise("/p/", prod.ids, ""),
            pc.binary_join_element_wise(pa.array(landing, pa.string()), mailing.camp_vocab, ""),
        ]
    )
    url = np.full(len(ev.s), URL_STATIC["/"], dtype=np.int64)
    pvw = np.flatnonzero(e_type == PAGE_VIEW)
    uu = rng.random(len(pvw))
    static_pick = np.searchsorted(np.cumsum(PAGE_W) / PAGE_W.sum(), uu / 0.7, side="right")
    fc = s.fav_cat[ev.s[pvw]]
    fc = np.where(fc >= 0, fc, rng.integers(0, n_cat, len(pvw)))
    url[pvw] = np.where(uu < 0.7, np.minimum(static_pick, len(PAGE_W) - 1), url_cat + fc)
    land = (ev.kind == CLICK_S) & (ev.pos == 0)
    url[land] = url_landing + s.camp[ev.s[land]]
    srch = e_type == SEARCH
    url[srch] = url_search + rng.integers(0, len(SEARCH_TERMS), int(srch.sum()))
    has_p = e_prod >= 0
    url[has_p] = url_product + e_prod[has_p]
    url[e_type == REMOVE] = URL_STATIC["/cart"]
    url[e_type == CHECKOUT] = URL_STATIC["/checkout"]
    url[e_type == PURCHASE] = URL_STATIC["/checkout/confirmation"]
    url[ev.signup_last] = URL_STATIC["/account"]
    return urls, url


def _new_anon_ids(sim: Sim) -> pa.Array:
    """Random 16-hex ids for the new devices that exist nowhere yet."""
    rng = sim.rng
    salt = int(rng.integers(0, 1 << 63))
    for _ in range(20):
        new_ids = _hex_ids(np.arange(sim.n_new_anon), salt)
        if not pc.any(pc.is_in(sim.h.anon_ids, value_set=new_ids)).as_py():
            return new_ids
        salt = int(rng.integers(0, 1 << 63))
    raise RuntimeError("could not draw unused anonymous_ids")  # pragma: no cover - 64-bit
