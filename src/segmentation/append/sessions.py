"""Web sessions of the new days: browsing at each visitor's historic rate, one purchase
session per new order, landing sessions after e-mail clicks, sign-up sessions."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from segmentation.append.common import cat, shrink
from segmentation.append.customers import NewCustomers, favourites
from segmentation.append.email import Mailing
from segmentation.append.orders import NewOrders
from segmentation.append.sim import Sim
from segmentation.generate import DAY, HOUR

BROWSE, PURCHASE_S, CLICK_S, SIGNUP_S = range(4)
OFFLINE_SESSION_RATE = 0.005  # browse sessions synced late
NEW_STRANGER_SHARE = 0.75  # anonymous-only sessions by new visitors
NO_ID = 99  # ident_from past any session's end: anonymous throughout


@dataclass
class Sessions:
    """One entry per session."""

    kind: np.ndarray
    t: np.ndarray  # start; end for purchase and sign-up sessions (anchored to the order)
    length: np.ndarray  # events
    anon: np.ndarray  # visitor index
    cust: np.ndarray  # customer index, -1: none
    ident_from: np.ndarray  # events from this position on carry the customer_id
    add: np.ndarray  # add-to-cart propensity per browsing event
    abandon: np.ndarray  # ends with an abandoned checkout
    fav_cat: np.ndarray
    fav_pos: np.ndarray
    pre: np.ndarray  # purchase: browsing events before the cart
    order: np.ndarray  # purchase: new order index, else -1
    camp: np.ndarray  # landing: campaign index, else -1
    offline: np.ndarray  # seconds from occurring to the device syncing (0: online)

    @classmethod
    def concat(cls, parts: list[Sessions]) -> Sessions:
        out = cls(*(cat(*(getattr(p, f.name) for p in parts)) for f in fields(cls)))
        out.length = out.length.astype(np.int64)
        return out


def build_sessions(sim: Sim, new: NewCustomers, orders: NewOrders, mailing: Mailing) -> Sessions:
    """All sessions: browse, purchase, landing, sign-up, in this order."""
    browse, g_add = _browse(sim, new)
    dev = _devices(sim, new)
    # customers who order or click without a known device get a new one
    click_p = mailing.clicks[0]
    need = np.unique(np.r_[orders.cust, click_p])
    need = need[dev[need] < 0]
    dev[need] = sim.new_anon(len(need))
    parts = [
        browse,
        _purchase(sim, new, orders, dev),
        _landing(sim, new, mailing, dev, g_add),
        _signup(sim, new),
    ]
    return Sessions.concat(parts)


def _browse(sim: Sim, new: NewCustomers) -> tuple[Sessions, float]:
    """Browse sessions per visitor at the visitor's historic rate, damped when lapsing;
    anonymous-only traffic at the historic rate (a quarter by returning visitors).
    Also returns the average add-to-cart propensity, which landing sessions use."""
    h, rng, o, n_v = sim.h, sim.rng, sim.o, sim.n_v
    v = h.v
    days = sim.w / DAY
    # per-visitor behaviour from its events
    n = v["n"].astype(np.float64)
    n_pur = v["n_pur"].astype(np.float64)
    sess = np.maximum(np.maximum((v["n_pv"] - 0.2 * n) / 0.8, n / 8.0), 1.0)
    browse = np.maximum(sess - n_pur, 0.25)
    rest = np.maximum(n - 5.0 * n_pur, 1.0)
    v_len = np.clip(rest / browse, 1.5, 8.0)
    adds = np.maximum(v["n_add"] - 2.2 * n_pur, 0)
    g_add = adds.sum() / max(rest.sum(), 1.0)
    v_add = np.clip(shrink(adds, rest, g_add, 10.0), 0.005, 0.35)
    # abandoned checkouts (checkout_started without purchase) per browse session
    aband = np.maximum(v["n_chk"] - n_pur, 0)
    g_ab = aband.sum() / max(browse.sum(), 1.0)
    v_abandon = np.clip(shrink(aband, browse, g_ab, 5.0), 0, 0.5)
    v_ident = (v["n_id"] + 1.0) / (n + 2.0)
    c1, c2 = v["c1"], v["c2"]
    known = c1 >= 0
    active = np.where(known, np.maximum(h.signup[np.maximum(c1, 0)], h.start), v["first"])
    span = np.maximum((o - active) / DAY, 1.0)
    rate = np.where(known, browse / np.maximum(span, 14.0), 0.0)
    since = (o - v["last"]) / DAY
    rate[(browse >= 2) & (since > np.maximum(3 * span / browse, 45))] *= 0.1
    k = rng.poisson(rate * days)
    b_vis = np.repeat(np.arange(n_v), k)
    # anonymous-only traffic: some returning visitors, mostly new ones
    n_s = int(rng.poisson(browse[~known].sum() / sim.span_days * days))
    back = np.flatnonzero(~known & (v["last"] > o - 30 * DAY))
    ret = rng.random(n_s) >= NEW_STRANGER_SHARE if len(back) else np.zeros(n_s, bool)
    ret_vis = back[rng.integers(0, max(len(back), 1), int(ret.sum()))]
    new_vis = sim.new_anon(n_s - int(ret.sum()))
    s_vis = np.r_[b_vis, ret_vis, new_vis]
    nb = len(s_vis)
    is_new_vis = s_vis >= n_v
    vi = np.where(is_new_vis, 0, s_vis)
    pick2 = rng.random(nb) < 0.5
    b_cust = np.where(is_new_vis, -1, np.where(pick2, c2[vi], c1[vi]))
    b_ident = ~is_new_vis & (rng.random(nb) < v_ident[vi]) & (b_cust >= 0)
    b_t = sim.times(nb)
    b_len = 1 + rng.poisson(np.where(is_new_vis, 3.5, v_len[vi]) - 1)
    b_add = np.where(is_new_vis, 0.05, v_add[vi])
    b_ab = rng.random(nb) < np.where(is_new_vis, 0.0, v_abandon[vi])
    b_len = np.where(b_ab, np.maximum(b_len, 3), b_len)
    b_fc, b_fp = favourites(h, new, np.where(is_new_vis, -1, c1[vi]))
    offline = rng.random(nb) < OFFLINE_SESSION_RATE
    b_off = np.where(
        offline,
        np.minimum(rng.lognormal(np.log(8 * HOUR), 1.2, nb), 10 * DAY).astype(np.int64) + 60,
        0,
    )
    sessions = Sessions(
        kind=np.full(nb, BROWSE),
        t=b_t,
        length=b_len,
        anon=s_vis,
        cust=b_cust,
        ident_from=np.where(b_ident, 0, NO_ID),
        add=b_add,
        abandon=b_ab,
        fav_cat=b_fc,
        fav_pos=b_fp,
        pre=np.zeros(nb, np.int64),
        order=np.full(nb, -1),
        camp=np.full(nb, -1),
        offline=b_off,
    )
    return sessions, g_add


def _devices(sim: Sim, new: NewCustomers) -> np.ndarray:
    """The main anonymous_id (visitor index) of every customer, new ones included."""
    v, n_c = sim.h.v, sim.n_c
    c1, c2 = v["c1"], v["c2"]
    vv = np.r_[np.flatnonzero(c1 >= 0), np.flatnonzero((c2 >= 0) & (c2 != c1))]
    vc = np.r_[c1[c1 >= 0], c2[(c2 >= 0) & (c2 != c1)]]
    order = np.lexsort((vv, -v["n_id"][vv], vc))
    vv, vc = vv[order], vc[order]
    first = np.ones(len(vc), bool)
    first[1:] = vc[1:] != vc[:-1]
    dev = np.full(n_c + new.k, -1, dtype=np.int64)
    dev[vc[first]] = vv[first]
    dev[n_c:] = new.dev
    return dev


def _purchase(sim: Sim, new: NewCustomers, orders: NewOrders, dev: np.ndarray) -> Sessions:
    """One per new order, ending at ordered_at: views, one add_to_cart per line,
    checkout_started, purchase."""
    rng, n_o = sim.rng, len(orders.cust)
    k_pre = np.minimum(rng.poisson(0.8, n_o), 4)
    p_from = np.where(rng.random(n_o) < 0.3, k_pre + orders.lines, 0)
    p_fc, p_fp = favourites(sim.h, new, orders.cust)
    return Sessions(
        kind=np.full(n_o, PURCHASE_S),
        t=orders.time,
        length=k_pre + orders.lines + 2,
        anon=dev[orders.cust],
        cust=orders.cust,
        ident_from=p_from,
        add=np.zeros(n_o),
        abandon=np.zeros(n_o, bool),
        fav_cat=p_fc,
        fav_pos=p_fp,
        pre=k_pre,
        order=np.arange(n_o),
        camp=np.full(n_o, -1),
        offline=np.zeros(n_o, np.int64),
    )


def _landing(
    sim: Sim, new: NewCustomers, mailing: Mailing, dev: np.ndarray, g_add: float
) -> Sessions:
    """A short session a few seconds after an e-mail click, on the campaign's landing page."""
    rng = sim.rng
    click_p, click_c, click_t = mailing.clicks
    l_t = click_t + rng.integers(2, 40, len(click_p))
    ok = l_t <= sim.e
    click_p, click_c, l_t = click_p[ok], click_c[ok], l_t[ok]
    nc = len(click_p)
    l_len = 1 + rng.poisson(1.5, nc)
    l_from = np.where(rng.random(nc) < 0.9, 0, NO_ID)
    l_fc, l_fp = favourites(sim.h, new, click_p)
    return Sessions(
        kind=np.full(nc, CLICK_S),
        t=l_t,
        length=l_len,
        anon=dev[click_p],
        cust=click_p,
        ident_from=l_from,
        add=np.full(nc, g_add),
        abandon=np.zeros(nc, bool),
        fav_cat=l_fc,
        fav_pos=l_fp,
        pre=np.zeros(nc, np.int64),
        order=np.full(nc, -1),
        camp=click_c,
        offline=np.zeros(nc, np.int64),
    )


def _signup(sim: Sim, new: NewCustomers) -> Sessions:
    """Sign-up sessions of new customers, identified at the last event (the sign-up)."""
    ns = new.k
    s_len = 2 + sim.rng.poisson(1.0, ns)
    cust = sim.n_c + np.arange(ns)
    s_fc, s_fp = favourites(sim.h, new, cust)
    return Sessions(
        kind=np.full(ns, SIGNUP_S),
        t=new.signup,
        length=s_len,
        anon=new.dev,
        cust=cust,
        ident_from=s_len - 1,
        add=np.zeros(ns),
        abandon=np.zeros(ns, bool),
        fav_cat=s_fc,
        fav_pos=s_fp,
        pre=np.zeros(ns, np.int64),
        order=np.full(ns, -1),
        camp=np.full(ns, -1),
        offline=np.zeros(ns, np.int64),
    )
