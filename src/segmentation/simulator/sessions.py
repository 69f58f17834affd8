"""Web sessions of a period: browse sessions at each person's yearly rate (a third follow
the previous one within hours), one purchase session per order (ending at ordered_at),
landing sessions after 60 % of the e-mail clicks, consideration episodes (2-3 visits
within days putting the same product into the cart and starting the checkout without
buying), and visitors who never sign up (0.2 per person and year). Each person browses
on one or two devices; a device whose events are already in the raw data is only
identified as the records it was identified as before."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from segmentation.personas import STRANGER
from segmentation.simulator.activity import Activity, pick_record
from segmentation.simulator.arrays import within
from segmentation.simulator.calendar import DAY, HOUR, YEAR, sample_times
from segmentation.simulator.catalog import sample_products
from segmentation.simulator.context import Ctx
from segmentation.simulator.email import Mail
from segmentation.simulator.mess import offline_delay
from segmentation.simulator.orders import Orders
from segmentation.simulator.profiles import STRANGER_IDX, P
from segmentation.simulator.state import Persons

BROWSE, BUY, LANDING, VISITOR, CONSIDER = range(5)
STRANGER_VISITORS_PER_PERSON_YEAR = 0.2
NO_ID = 99  # ident_from past any session's end: anonymous throughout


@dataclass
class Sessions:
    kind: np.ndarray
    person: np.ndarray  # -1: a visitor who never signs up
    persona: np.ndarray
    rec: np.ndarray  # 0 primary, 1 duplicate record
    slot: np.ndarray  # device 0 or 1 of the person
    anon: np.ndarray  # device number (visitors: filled in later)
    fav: np.ndarray
    length: np.ndarray
    ident_from: np.ndarray  # events from this position on carry the customer_id
    pre: np.ndarray  # purchase: browsing events before the cart
    add: np.ndarray  # add-to-cart propensity per browsing event
    chk: np.ndarray  # checkout propensity per browsing event
    order: np.ndarray  # purchase: order index, else -1
    camp: np.ndarray  # landing: campaign index, else -1
    kprod: np.ndarray  # consideration: the product, else -1
    t: np.ndarray  # start, or end for purchase sessions (ordered_at)
    offline: np.ndarray  # seconds until the device syncs (0: online)

    @classmethod
    def concat(cls, parts: list[Sessions]) -> Sessions:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


def _of(
    ctx: Ctx, persons: Persons, kind: int, person: np.ndarray, t: np.ndarray, **kw: np.ndarray
) -> Sessions:
    """Sessions of persons with the defaults of their persona; ``kw`` overrides."""
    n = len(person)
    persona = persons.persona[person].astype(np.int64)
    slot = ((persons.n_dev[person] == 2) & (ctx.rng.random(n) < 0.5)).astype(np.int64)
    base = {
        "kind": np.full(n, kind),
        "person": person,
        "persona": persona,
        "rec": np.zeros(n, np.int64),
        "slot": slot,
        "anon": persons.dev0[person] + slot,
        "fav": persons.fav[person].astype(np.int64),
        "length": np.ones(n, np.int64),
        "ident_from": np.zeros(n, np.int64),
        "pre": np.zeros(n, np.int64),
        "add": persons.p_add[person],
        "chk": persons.p_chk[person],
        "order": np.full(n, -1),
        "camp": np.full(n, -1),
        "kprod": np.full(n, -1),
        "t": t,
        "offline": np.zeros(n, np.int64),
    }
    base.update(kw)
    return Sessions(**base)


def build_sessions(
    ctx: Ctx, persons: Persons, act: Activity, orders: Orders, mail: Mail
) -> Sessions:
    parts = [
        _browse(ctx, persons, act),
        _purchase(ctx, persons, orders),
        _landing(ctx, persons, act, mail),
        _visitors(ctx, len(persons)),
        _consider(ctx, persons, act),
    ]
    s = Sessions.concat(parts)
    _bind(persons, s)
    return s


def _browse(ctx: Ctx, persons: Persons, act: Activity) -> Sessions:
    rng = ctx.rng
    n_b = rng.poisson(persons.browse_rate * act.years)
    person = np.repeat(np.arange(len(persons)), n_b)
    t = sample_times(rng, act.a0[person], act.a1[person])
    # visits come in bursts: a third of the sessions follow the previous one within hours
    order = np.lexsort((t, person))
    person, t = person[order], t[order]
    follow = np.zeros(len(person), bool)
    follow[1:] = (person[1:] == person[:-1]) & (rng.random(max(len(person) - 1, 0)) < 0.35)
    idx = np.flatnonzero(follow)
    t[idx] = np.minimum(
        t[idx - 1] + 600 + rng.exponential(18 * HOUR, len(idx)).astype(np.int64),
        act.a1[person[idx]],
    )
    rec = pick_record(rng, persons, person, t)
    persona = persons.persona[person].astype(np.int64)
    ident = rng.random(len(person)) >= P["p_anonymous"][persona]
    length = 1 + rng.poisson(P["session_len"][persona] - 1)
    # an offline device syncs later; its events never precede the sign-up
    offline = np.minimum(offline_delay(rng, len(person)), np.maximum(t - act.a0[person], 0))
    return _of(ctx, persons, BROWSE, person, t, rec=rec, length=length,
               ident_from=np.where(ident, 0, NO_ID), offline=offline)  # fmt: skip


def _purchase(ctx: Ctx, persons: Persons, orders: Orders) -> Sessions:
    """Views, one add_to_cart per line, checkout_started, purchase at ordered_at; 30 %
    log in only at the checkout."""
    rng, n_o = ctx.rng, len(orders.person)
    k_pre = np.minimum(rng.poisson(0.8, n_o), 4)
    ident_from = np.where(rng.random(n_o) < 0.3, k_pre + orders.n_lines, 0)
    return _of(ctx, persons, BUY, orders.person, orders.time, rec=orders.rec,
               length=k_pre + orders.n_lines + 2, ident_from=ident_from, pre=k_pre,
               order=np.arange(n_o))  # fmt: skip


def _landing(ctx: Ctx, persons: Persons, act: Activity, mail: Mail) -> Sessions:
    rng = ctx.rng
    person, camp, t = mail.clicks
    sel = rng.random(len(person)) < 0.6
    person, camp = person[sel], camp[sel]
    t = t[sel] + rng.integers(2, 40, int(sel.sum()))
    ok = (t <= act.a1[person]) & (t <= ctx.period.hi)
    person, camp, t = person[ok], camp[ok], t[ok]
    n = len(person)
    return _of(ctx, persons, LANDING, person, t, length=1 + rng.poisson(1.5, n),
               ident_from=np.where(rng.random(n) >= 0.1, 0, NO_ID), camp=camp)  # fmt: skip


def _visitors(ctx: Ctx, n_persons: int) -> Sessions:
    """Visitors who never sign up, each on a new device (numbered by the caller)."""
    rng, lo, hi = ctx.rng, ctx.period.lo, ctx.period.hi
    n_vis = rng.poisson(STRANGER_VISITORS_PER_PERSON_YEAR * n_persons * (hi - lo) / YEAR)
    per = 1 + rng.poisson(0.4, n_vis)
    visitor = np.repeat(np.arange(n_vis), per)
    n = len(visitor)
    t = sample_times(rng, np.full(n, lo), np.full(n, hi))
    return Sessions(
        kind=np.full(n, VISITOR), person=np.full(n, -1), persona=np.full(n, STRANGER_IDX),
        rec=np.full(n, -1), slot=np.zeros(n, np.int64), anon=visitor,
        fav=rng.integers(0, 8, n), length=1 + rng.poisson(STRANGER.session_len - 1, n),
        ident_from=np.full(n, NO_ID), pre=np.zeros(n, np.int64),
        add=np.full(n, STRANGER.p_add), chk=np.full(n, STRANGER.p_checkout),
        order=np.full(n, -1), camp=np.full(n, -1), kprod=np.full(n, -1), t=t,
        offline=offline_delay(rng, n),
    )  # fmt: skip


def _consider(ctx: Ctx, persons: Persons, act: Activity) -> Sessions:
    """Consideration episodes (abandoned checkouts, "high intent at risk")."""
    rng = ctx.rng
    persona = persons.persona.astype(np.int64)
    n_ep = rng.poisson(P["consider_rate"][persona] * act.years)
    ep_person = np.repeat(np.arange(len(persons)), n_ep)
    ep_time = sample_times(rng, act.a0[ep_person], act.a1[ep_person])
    ep_prod = sample_products(
        ctx.shop.catalog,
        rng,
        persona[ep_person],
        persons.fav[ep_person].astype(np.int64),
        persons.dev0[ep_person],
    )
    ep_n = 2 + (rng.random(len(ep_person)) < 0.4)
    k_ep = np.repeat(np.arange(len(ep_person)), ep_n)
    k_off = np.where(within(ep_n) == 0, 0, rng.integers(2 * HOUR, 2 * DAY, len(k_ep)))
    k_cs = np.cumsum(k_off)
    t = ep_time[k_ep] + k_cs - k_cs[(np.cumsum(ep_n) - ep_n)[k_ep]]
    person = ep_person[k_ep]
    return _of(ctx, persons, CONSIDER, person, t, rec=pick_record(rng, persons, person, t),
               length=3 + rng.poisson(1.0, len(k_ep)), kprod=ep_prod[k_ep])  # fmt: skip


def _bind(persons: Persons, s: Sessions) -> None:
    """A device with events in the raw data is identified only as the records it was
    before (so a returning visitor is who it was): switch to the device, else the record
    that fits, else stay anonymous. New devices are identified freely."""
    p = s.person >= 0
    i, slot, rec = s.person[p], s.slot[p], s.rec[p]

    def allows(sl: np.ndarray, r: np.ndarray) -> np.ndarray:
        used = (persons.used[i] >> sl) & 1
        bound = np.where(sl == 0, persons.bound0[i], persons.bound1[i])
        exists = sl < persons.n_dev[i]
        return exists & ((used == 0) | (((bound >> r) & 1) == 1))

    other = 1 - slot
    ok = allows(slot, rec)
    use_other = ~ok & allows(other, rec)
    slot = np.where(use_other, other, slot)
    ok |= use_other
    keep_rec = s.kind[p] == BUY  # the order's record is fixed
    switch = ~ok & ~keep_rec & allows(slot, 1 - rec)
    rec = np.where(switch, 1 - rec, rec)
    ok |= switch
    s.slot[p], s.rec[p] = slot, rec
    s.anon[p] = persons.dev0[i] + slot
    s.ident_from[np.flatnonzero(p)[~ok]] = NO_ID
