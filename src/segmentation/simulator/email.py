"""E-mail: campaigns go to the customers opted in at their send time, each in a
campaign's audience with its own probability; bounces, opens (2.5 h median, lapsing
customers rarely), clicks, spam complaints. 60 % of the opt-outs go through the
unsubscribe link of the customer's last e-mail before it. Opens, clicks and complaints
after the period stay pending in the state, so later periods have opens of old
deliveries; consent changes follow each person's schedule (see customers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.personas import AUDIENCE_KIND
from segmentation.simulator.activity import Activity
from segmentation.simulator.arrays import take, ts, within
from segmentation.simulator.audiences import AudienceSends
from segmentation.simulator.calendar import DAY, HOUR
from segmentation.simulator.context import Ctx
from segmentation.simulator.customers import record_ids
from segmentation.simulator.profiles import BOUNCE, CLICK, DELIVERED, OPEN, SENT, SPAM, UNSUBSCRIBE
from segmentation.simulator.state import PENDING_EMAIL, Persons


@dataclass
class Mail:
    """The period's e-mail events (person, campaign, type, occurred_at), its clicks and
    consent rows, and the events left pending (PENDING_EMAIL, person numbers)."""

    person: np.ndarray
    camp: np.ndarray
    etype: np.ndarray
    occurred: np.ndarray
    consents: pa.Table
    pending: pa.Table

    @property
    def clicks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.etype == CLICK
        return self.person[c], self.camp[c], self.occurred[c]


@dataclass
class _Sends:
    person: np.ndarray
    camp: np.ndarray
    sent: np.ndarray
    deliv: np.ndarray
    bounced: np.ndarray


def simulate_email(
    ctx: Ctx,
    persons: Persons,
    act: Activity,
    created: np.ndarray,
    due: pa.Table,
    audience: AudienceSends | None = None,
) -> Mail:
    """``due``: pending events of these persons (person index in the chunk) that now fall
    in the period or later; ``audience``: the sends to the warehouse's lists, if any."""
    hi = ctx.period.hi
    s = _sends(ctx, persons)
    if audience is not None and len(audience.person):
        s = _merged(s, audience)
    parts, linked, pend = _reactions(ctx, persons, s)
    due_now = due.filter(pc.less_equal(due["occurred"], hi))
    still = due.filter(pc.greater(due["occurred"], hi))
    parts.append((due_now["person"].to_numpy(), due_now["campaign"].to_numpy(),
                  due_now["event_type"].to_numpy(), due_now["occurred"].to_numpy()))  # fmt: skip
    person, camp, etype, occurred = (np.concatenate([p[i] for p in parts]) for i in range(4))
    pend = pa.concat_tables([still.cast(PENDING_EMAIL), pend])
    consents = _consents(ctx, persons, created, linked)
    return Mail(person, camp, etype.astype(np.int64), np.minimum(occurred, hi), consents, pend)


def _sends(ctx: Ctx, persons: Persons) -> _Sends:
    """Recipients of the period's campaigns: opted in before the send, not opted out
    until 30 minutes after it (a send takes up to 30 minutes)."""
    rng, lo, hi = ctx.rng, ctx.period.lo, ctx.period.hi
    catalog = ctx.shop.catalog
    # the shop's own campaigns (in time order); the audience sends go to their lists only
    regular = np.flatnonzero(catalog.camp_kinds != AUDIENCE_KIND)
    times = catalog.camp_times[regular]
    first = int(np.searchsorted(times, lo, side="right"))
    t_p = times[first:]
    t_p = t_p[t_p <= hi]
    camp_lo = np.searchsorted(t_p, persons.c_in, side="left")
    camp_hi = np.searchsorted(t_p, persons.t_out - 1800, side="left")
    n_elig = np.maximum(camp_hi - camp_lo, 0)
    person = np.repeat(np.arange(len(persons)), n_elig)
    camp = np.repeat(camp_lo, n_elig) + within(n_elig)
    keep = rng.random(len(person)) < persons.recv_p[person]
    person, camp = person[keep], camp[keep]
    sent = t_p[camp] + rng.integers(0, 1800, len(camp))
    keep = sent <= hi
    person, camp, sent = person[keep], regular[camp[keep] + first], sent[keep]
    bounced = rng.random(len(person)) < 0.015
    deliv = np.minimum(sent + rng.integers(1, 90, len(person)), hi)
    return _Sends(person, camp, sent, deliv, bounced)


def _merged(s: _Sends, a: AudienceSends) -> _Sends:
    """The shop's and the audience sends, by person and time (as _reactions expects)."""
    cols = [np.r_[getattr(s, f), getattr(a, f)] for f in ("person", "camp", "sent", "deliv")]
    bounced = np.r_[s.bounced, a.bounced]
    order = np.lexsort((cols[2], cols[0]))
    return _Sends(*(c[order] for c in cols), bounced[order])


def _reactions(
    ctx: Ctx, persons: Persons, s: _Sends
) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray, pa.Table]:
    """Events of the sends: (parts of (person, campaign, type, time)), the persons who
    unsubscribed through a link now, the pending events."""
    rng, lo, hi = ctx.rng, ctx.period.lo, ctx.period.hi
    n_r, p = len(s.person), s.person
    lapsed = s.sent > persons.active_until[p]
    opened = ~s.bounced & (rng.random(n_r) < persons.open_p[p] * np.where(lapsed, 0.12, 1.0))
    r_open = (
        s.deliv
        + np.minimum(rng.lognormal(np.log(2.5 * HOUR), 1.3, n_r), 14 * DAY).astype(np.int64)
        + 5
    )
    # unsubscribe via the link of the last delivered e-mail before the opt-out
    is_last = np.ones(n_r, bool)
    is_last[:-1] = p[1:] != p[:-1]
    out_now = (persons.t_out > lo) & (persons.t_out <= hi) & persons.via_link
    unsub = np.flatnonzero(is_last & ~s.bounced & out_now[p])
    opened[unsub] = True
    room = hi - s.deliv[unsub]
    r_open[unsub] = s.deliv[unsub] + np.minimum(
        r_open[unsub] - s.deliv[unsub],
        np.floor(rng.random(len(unsub)) * room * 0.9).astype(np.int64),
    )
    unsub_t = np.minimum(r_open[unsub] + rng.integers(10, 180, len(unsub)), hi)
    persons.t_out[p[unsub]] = unsub_t
    linked = np.zeros(len(persons), bool)
    linked[p[unsub]] = True
    clicked = opened & (rng.random(n_r) < persons.click_p[p])
    r_click = r_open + 3 + rng.exponential(90, n_r).astype(np.int64)
    spam = ~s.bounced & (rng.random(n_r) < 0.0008)
    r_spam = s.deliv + rng.integers(60, 3 * DAY, n_r)
    b = s.bounced
    parts = [
        (p, s.camp, np.full(n_r, SENT), s.sent),
        (p[~b], s.camp[~b], np.full(int((~b).sum()), DELIVERED), s.deliv[~b]),
        (
            p[b],
            s.camp[b],
            np.full(int(b.sum()), BOUNCE),
            s.sent[b] + rng.integers(1, 300, int(b.sum())),
        ),
        (p[unsub], s.camp[unsub], np.full(len(unsub), UNSUBSCRIBE), unsub_t),
    ]
    later = []
    for mask, etype, t in ((opened, OPEN, r_open), (clicked, CLICK, r_click), (spam, SPAM, r_spam)):
        now, after = mask & (t <= hi), mask & (t > hi)
        parts.append((p[now], s.camp[now], np.full(int(now.sum()), etype), t[now]))
        later.append((p[after], s.camp[after], np.full(int(after.sum()), etype), t[after]))
    pend = pa.table(
        {
            "person": np.concatenate([x[0] for x in later]).astype(np.int64),
            "campaign": np.concatenate([x[1] for x in later]).astype(np.int64),
            "event_type": np.concatenate([x[2] for x in later]).astype(np.int64),
            "occurred": np.concatenate([x[3] for x in later]).astype(np.int64),
        },
        schema=PENDING_EMAIL,
    )
    return parts, linked, pend


def _consents(ctx: Ctx, persons: Persons, created: np.ndarray, linked: np.ndarray) -> pa.Table:
    """Consent rows whose time is in the period (for persons created now: up to its end,
    their history included); duplicate records opt in at their own sign-up (60 %)."""
    rng, lo, hi = ctx.rng, ctx.period.lo, ctx.period.hi

    def due(t: np.ndarray) -> np.ndarray:
        return (t <= hi) & (created | (t > lo))

    c_in, t_out = persons.c_in, persons.t_out
    ins, outs = np.flatnonzero(due(c_in)), np.flatnonzero(due(t_out))
    dups = np.flatnonzero(created & (persons.dup_num >= 0) & (rng.random(len(persons)) < 0.6))
    d_time = persons.dup_signup[dups] + rng.integers(2, 90, len(dups))
    at_signup = c_in[ins] <= persons.signup[ins] + 90
    in_src = np.where(
        at_signup,
        "signup_form",
        np.where(rng.random(len(ins)) < 0.5, "preference_center", "checkout"),
    )
    idx = np.r_[ins, outs, dups]
    dup = np.r_[np.zeros(len(ins) + len(outs), bool), np.ones(len(dups), bool)]
    status = np.r_[
        np.zeros(len(ins), np.int64), np.ones(len(outs), np.int64), np.zeros(len(dups), np.int64)
    ]
    time = np.r_[c_in[ins], t_out[outs], d_time]
    src = np.r_[
        in_src,
        np.where(linked[outs], "unsubscribe_link", "preference_center"),
        np.full(len(dups), "checkout"),
    ]
    order = np.lexsort((status, time))
    return pa.table(
        {
            "customer_id": record_ids(persons, idx[order], dup[order]),
            "channel": pa.array(np.full(len(idx), "email")),
            "status": take(pa.array(["opted_in", "opted_out"]), status[order]),
            "changed_at": ts(time[order]),
            "source": pa.array(src[order].astype(str), pa.string()),
        }
    )
