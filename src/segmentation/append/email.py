"""E-mail: new campaigns and their events, late opens of recent deliveries, and the
consent changes (opt-outs via the unsubscribe link of a new e-mail or elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy import special

from segmentation.append.common import EMAIL_TYPES, arrive_late, dt, shrink
from segmentation.append.customers import NewCustomers
from segmentation.append.sim import Sim, event_table
from segmentation.generate import (
    BAD_EMAIL_TYPE,
    BOUNCE,
    CLICK,
    DAY,
    DELIVERED,
    HOUR,
    LATE_EVENT_RATE,
    OPEN,
    SENT,
    SPAM,
    UNSUBSCRIBE,
    _latency,
    _take,
    _ts,
    campaign_slots,
)
from segmentation.personas import CAMPAIGN_KINDS

OPEN_LOOKBACK = 2 * DAY  # opens this long before the old end may still arrive late
LINK_OPTOUT_SHARE = 0.6  # opt-outs through the link of a new e-mail
OPEN_MU, OPEN_SIGMA = float(np.log(2.5 * HOUR)), 1.3  # open delay after delivery (lognormal)


@dataclass
class Mailing:
    """What the web step needs: campaign ids and names (old and new, by campaign index)
    and the e-mail clicks that open a landing session (customer, campaign, clicked_at)."""

    camp_vocab: pa.Array
    camp_names: list[str]
    clicks: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Rates:
    """Per customer index (new customers at the population average)."""

    p_open: np.ndarray  # per delivery
    p_click: np.ndarray  # per open
    p_receive: np.ndarray  # per campaign while opted in
    p_bounce: float  # per sent e-mail, everybody


@dataclass
class _Sends:
    """One row per new campaign e-mail, sorted by (customer, sent_at); masks per row."""

    person: np.ndarray
    camp: np.ndarray
    sent: np.ndarray
    deliv: np.ndarray
    open: np.ndarray
    click: np.ndarray
    spam_at: np.ndarray
    stay: np.ndarray  # sent before the customer opted out
    bounced: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    spam: np.ndarray
    unsub: np.ndarray
    via_link: np.ndarray  # per customer: opted out through the link


def _open_cdf(x: np.ndarray) -> np.ndarray:
    """P(open delay <= x) for a delivery that is opened."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, special.ndtr((np.log(np.maximum(x, 1.0)) - OPEN_MU) / OPEN_SIGMA), 0.0)


def simulate_email(sim: Sim, new: NewCustomers) -> Mailing:
    """Writes the email_campaigns, email_events and consents parts."""
    h, rng, o, e = sim.h, sim.rng, sim.o, sim.e
    rates = _rates(sim, new)
    opt_out, t_out, out_idx, in_idx, t_in = _consent_changes(sim, new)
    c_times, c_ids, c_names = _new_campaigns(sim)
    camp_vocab = pa.concat_arrays([h.camp_ids, c_ids])
    s = _send(sim, new, rates, c_times, opt_out, t_out)
    c_person, c_camp, c_open, c_clicked, c_click = _late_opens(sim, rates)

    stay, bounced = s.stay, s.bounced
    parts = [
        (s.person[stay], s.camp[stay], SENT, s.sent[stay]),
        (s.person[stay & ~bounced], s.camp[stay & ~bounced], DELIVERED, s.deliv[stay & ~bounced]),
        (s.person[bounced], s.camp[bounced], BOUNCE, s.deliv[bounced]),
        (s.person[s.opened], s.camp[s.opened], OPEN, s.open[s.opened]),
        (s.person[s.clicked], s.camp[s.clicked], CLICK, s.click[s.clicked]),
        (s.person[s.unsub], s.camp[s.unsub], UNSUBSCRIBE, t_out[s.person[s.unsub]]),
        (s.person[s.spam], s.camp[s.spam], SPAM, s.spam_at[s.spam]),
        (c_person, c_camp, OPEN, c_open),
        (c_person[c_clicked], c_camp[c_clicked], CLICK, c_click[c_clicked]),
    ]
    ee_p = np.concatenate([x[0] for x in parts])
    ee_c = np.concatenate([x[1] for x in parts])
    ee_type = np.concatenate([np.full(len(x[0]), x[2]) for x in parts])
    ee_t = np.minimum(np.concatenate([x[3] for x in parts]), e)
    ee_recv = _latency(rng, ee_t, e, 120)
    early = ee_t <= o
    ee_recv[early] = arrive_late(rng, int(early.sum()), o, e)
    sim.out.tables["email_events"] = event_table(
        sim,
        "email_events",
        "email",
        {
            "customer_id": (new.all_ids, ee_p),
            "campaign_id": (camp_vocab, ee_c),
            "event_type": (pa.array(EMAIL_TYPES), ee_type),
        },
        ee_t,
        ee_recv,
        BAD_EMAIL_TYPE,
        h.recent_email,
    )
    # clicks that open a landing session
    click_p = np.r_[s.person[s.clicked], c_person[c_clicked]]
    click_c = np.r_[s.camp[s.clicked], c_camp[c_clicked]]
    click_t = np.r_[s.click[s.clicked], c_click[c_clicked]]
    land = (click_t > o) & (rng.random(len(click_t)) < 0.6)
    _consents_table(sim, new, out_idx, in_idx, t_out, t_in, s.via_link)
    clicks = (click_p[land], click_c[land], click_t[land])
    return Mailing(camp_vocab, h.camp_names + c_names, clicks)


def _rates(sim: Sim, new: NewCustomers) -> _Rates:
    """Open, click and receive rates per customer with a prior at the population average."""
    h, o, k_new = sim.h, sim.o, new.k
    g_open = h.n_open.sum() / max(h.n_deliv.sum(), 1)
    g_click = h.n_click.sum() / max(h.n_open.sum(), 1)
    g_bounce = h.n_bounce.sum() / max(h.n_sent.sum(), 1)
    p_open = np.r_[shrink(h.n_open, h.n_deliv, g_open, 3.0), np.full(k_new, g_open)]
    p_click = np.r_[shrink(h.n_click, h.n_open, g_click, 3.0), np.full(k_new, g_click)]
    # audience share: e-mails received per campaign since the consent
    since = np.maximum(h.cs_time, h.start)
    camp_sorted = np.sort(h.camp_times[h.camp_times <= o])
    n_camp = len(camp_sorted) - np.searchsorted(camp_sorted, since, side="left")
    elig_hist = h.cs_in & (n_camp > 0)
    g_recv = h.n_sent[elig_hist].sum() / max(n_camp[elig_hist].sum(), 1)
    recv_p = np.r_[
        np.clip(shrink(h.n_sent, n_camp.astype(np.float64), g_recv, 2.0), 0, 0.95),
        np.full(k_new, g_recv),
    ]
    return _Rates(np.clip(p_open, 0, 0.98), np.clip(p_click, 0, 0.95), recv_p, g_bounce)


def _consent_changes(
    sim: Sim, new: NewCustomers
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Opt-outs and later opt-ins of existing customers at the historic rates.

    Returns (opts out, opt-out time per customer index (e + 1: none), opt-out customers,
    opt-in customers, opt-in times); link opt-outs move their time later."""
    h, rng, e, n_c = sim.h, sim.rng, sim.e, sim.n_c
    days = sim.w / DAY
    cc = h.consent_counts
    h_out = cc["n_out"] / max(cc["n_ever_in"] * sim.span_days, 1)
    h_in = cc["n_in_later"] / max(n_c * sim.span_days, 1)
    opt_out = h.cs_in & ~h.email_null & (rng.random(n_c) < 1 - np.exp(-h_out * days))
    opt_in = ~h.cs_in & ~h.email_null & (rng.random(n_c) < 1 - np.exp(-h_in * days))
    t_out = np.full(n_c + new.k, e + 1)
    out_idx = np.flatnonzero(opt_out)
    t_out[out_idx] = sim.times(len(out_idx))
    in_idx = np.flatnonzero(opt_in)
    t_in = sim.times(len(in_idx))
    return opt_out, t_out, out_idx, in_idx, t_in


def _campaign_calendar(rng: np.random.Generator, o: int, e: int) -> tuple[np.ndarray, list[int]]:
    """The generator's calendar (generate.campaign_slots). Returns (sent_at, kind) in (o, e]."""
    t, kinds = campaign_slots(rng, o, e)
    keep = (t > o) & (t <= e)
    return t[keep], [k for k, ok in zip(kinds, keep, strict=True) if ok]


def _new_campaigns(sim: Sim) -> tuple[np.ndarray, pa.Array, list[str]]:
    """Writes the email_campaigns part; returns (sent_at, campaign_id, name)."""
    rng, seq = sim.rng, sim.h.seq["campaign"]
    c_times, c_kinds = _campaign_calendar(rng, sim.o, sim.e)
    c_ids = seq.ids(seq.numbers(len(c_times)))
    c_names, c_subjects = [], []
    for t, kind in zip(c_times, c_kinds, strict=True):
        year, week, _ = dt(int(t)).isocalendar()
        name, subs = CAMPAIGN_KINDS[kind]
        c_names.append(f"{name} {year}-W{week:02d}")
        c_subjects.append(subs[int(rng.integers(0, len(subs)))])
    sim.out.tables["email_campaigns"] = pa.table(
        {
            "campaign_id": c_ids,
            "campaign_name": pa.array(c_names, pa.string()),
            "subject": pa.array(c_subjects, pa.string()),
            "sent_at": _ts(c_times),
        }
    )
    return c_times, c_ids, c_names


def _send(
    sim: Sim,
    new: NewCustomers,
    rates: _Rates,
    c_times: np.ndarray,
    opt_out: np.ndarray,
    t_out: np.ndarray,
) -> _Sends:
    """Recipients of the new campaigns and what they do; 60 % of the opt-outs happen
    through the link of their first delivered new e-mail (``t_out`` is updated)."""
    h, rng, e, n_c = sim.h, sim.rng, sim.e, sim.n_c
    N = n_c + new.k
    cs_in = np.r_[h.cs_in, new.consent]
    cs_t = np.r_[h.cs_time, new.consent_t]
    email_ok = ~np.r_[h.email_null, new.email_null]
    n_old_c = len(h.camp_ids)
    r_person, r_camp = [], []
    for j, t in enumerate(c_times):
        sel = cs_in & email_ok & (cs_t < t) & (rng.random(N) < rates.p_receive)
        idx = np.flatnonzero(sel)
        r_person.append(idx)
        r_camp.append(np.full(len(idx), n_old_c + j))
    r_person = np.concatenate(r_person) if r_person else np.empty(0, np.int64)
    r_camp = np.concatenate(r_camp) if r_camp else np.empty(0, np.int64)
    r_sent = (
        np.r_[c_times][r_camp - n_old_c] + rng.integers(0, 1800, len(r_camp))
        if len(r_camp)
        else np.empty(0, np.int64)
    )
    keep = r_sent <= e
    r_person, r_camp, r_sent = r_person[keep], r_camp[keep], r_sent[keep]
    order = np.lexsort((r_sent, r_person))
    r_person, r_camp, r_sent = r_person[order], r_camp[order], r_sent[order]
    n_r = len(r_person)
    bounced = rng.random(n_r) < rates.p_bounce
    r_deliv = np.minimum(r_sent + rng.integers(1, 90, n_r), e)
    opened = ~bounced & (rng.random(n_r) < rates.p_open[r_person])
    r_open = (
        r_deliv + np.minimum(rng.lognormal(OPEN_MU, OPEN_SIGMA, n_r), 14 * DAY).astype(np.int64) + 5
    )
    # opt-outs through the link of their first delivered new e-mail
    first = np.ones(n_r, bool)
    first[1:] = r_person[1:] != r_person[:-1]
    cand = first & ~bounced & opt_out[np.minimum(r_person, n_c - 1)] & (r_person < n_c)
    cand &= r_deliv < e - 300
    unsub = np.flatnonzero(cand & (rng.random(n_r) < LINK_OPTOUT_SHARE))
    opened[unsub] = True
    room = e - r_deliv[unsub]
    r_open[unsub] = r_deliv[unsub] + np.minimum(
        r_open[unsub] - r_deliv[unsub],
        np.floor(rng.random(len(unsub)) * room * 0.9).astype(np.int64),
    )
    unsub_t = np.minimum(r_open[unsub] + rng.integers(10, 180, len(unsub)), e)
    via_link = np.zeros(N, bool)
    via_link[r_person[unsub]] = True
    t_out[r_person[unsub]] = unsub_t
    # nothing is sent after an opt-out
    stay = r_sent < t_out[r_person]
    opened &= r_open <= e
    clicked = opened & (rng.random(n_r) < rates.p_click[r_person])
    r_click = r_open + 3 + rng.exponential(90, n_r).astype(np.int64)
    clicked &= r_click <= e
    spam = ~bounced & (rng.random(n_r) < 0.0008)
    r_spam = r_deliv + rng.integers(60, 3 * DAY, n_r)
    spam &= r_spam <= e
    is_unsub = np.zeros(n_r, bool)
    is_unsub[unsub] = True
    for mask in (bounced, opened, clicked, spam, is_unsub):
        mask &= stay
    sim.out.notes["campaign_recipients"] = int(stay.sum())
    return _Sends(
        r_person,
        r_camp,
        r_sent,
        r_deliv,
        r_open,
        r_click,
        r_spam,
        stay,
        bounced,
        opened,
        clicked,
        spam,
        is_unsub,
        via_link,
    )


def _late_opens(
    sim: Sim, rates: _Rates
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Opens of recent unopened deliveries with the right conditional probability (so
    there is e-mail activity every day); some happened before the old end and arrive late.
    Returns (customer, campaign, opened_at, clicked, clicked_at)."""
    h, rng, o, e, w = sim.h, sim.rng, sim.o, sim.e, sim.w
    rd = h.recent_deliv
    rc, rk, rdl = rd["cust"], rd["camp"], rd["deliv"]
    a = (o - rdl).astype(np.float64)
    fa, fhi = _open_cdf(a), _open_cdf(a + w)
    flo = _open_cdf(np.maximum(a - OPEN_LOOKBACK, 0))
    p = rates.p_open[rc]
    denom = np.maximum(1 - p * fa, 1e-9)
    p_after = p * (fhi - fa) / denom
    p_before = LATE_EVENT_RATE * p * (fa - flo) / denom
    u = rng.random(len(rc))
    after = u < p_after
    before = ~after & (u < p_after + p_before)
    lo_u = np.where(after, fa, flo)
    hi_u = np.where(after, fhi, fa)
    q = np.clip(lo_u + rng.random(len(rc)) * (hi_u - lo_u), 1e-12, 1 - 1e-12)
    d_open = np.exp(OPEN_MU + OPEN_SIGMA * special.ndtri(q)).astype(np.int64) + 5
    c_open = rdl + d_open
    c_open = np.where(after, np.clip(c_open, o + 1, e), np.clip(c_open, rdl + 5, o))
    c_sel = np.flatnonzero(after | before)
    c_open = c_open[c_sel]
    c_person, c_camp = rc[c_sel], rk[c_sel]
    c_clicked = rng.random(len(c_sel)) < rates.p_click[c_person]
    c_click = c_open + 3 + rng.exponential(90, len(c_sel)).astype(np.int64)
    c_clicked &= c_click <= e
    sim.out.notes["late_opens"] = len(c_sel)
    return c_person, c_camp, c_open, c_clicked, c_click


def _consents_table(
    sim: Sim,
    new: NewCustomers,
    out_idx: np.ndarray,
    in_idx: np.ndarray,
    t_out: np.ndarray,
    t_in: np.ndarray,
    via_link: np.ndarray,
) -> None:
    """Opt-outs, later opt-ins and the sign-up opt-ins of new customers."""
    rng, n_c = sim.rng, sim.n_c
    link = via_link[:n_c][out_idx]
    cs_cust = np.r_[out_idx, in_idx, n_c + np.flatnonzero(new.consent)]
    cs_status = np.r_[
        np.ones(len(out_idx), np.int64),
        np.zeros(len(in_idx) + int(new.consent.sum()), np.int64),
    ]
    cs_time = np.r_[t_out[out_idx], t_in, new.consent_t[new.consent]]
    cs_src = np.r_[
        np.where(link, "unsubscribe_link", "preference_center"),
        np.where(rng.random(len(in_idx)) < 0.5, "preference_center", "checkout"),
        np.full(int(new.consent.sum()), "signup_form"),
    ]
    order = np.lexsort((cs_status, cs_time))
    sim.out.tables["consents"] = pa.table(
        {
            "customer_id": _take(new.all_ids, cs_cust[order]),
            "channel": pa.array(np.full(len(cs_cust), "email")),
            "status": _take(pa.array(["opted_in", "opted_out"]), cs_status[order]),
            "changed_at": _ts(cs_time[order]),
            "source": pa.array(cs_src[order].astype(str), pa.string()),
        }
    )
