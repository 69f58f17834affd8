"""Sends to the warehouse's audiences: the e-mail platform's side of the loop.

An append can be given the lists the warehouse exported (the treatment members of
activation.audience_members); each audience then gets one campaign a week (Wednesday
11:00) sent to every member still opted in at send time. The holdout and the global
control group are not on the lists, so they get nothing. A delivered audience e-mail
brings an extra order within days with the persona's ``email_lift`` (the planted effect
that performance.campaign_uplift should recover): an order that would not happen
otherwise, placed 1 hour to 3 days after the delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from segmentation.personas import AUDIENCE_KIND, CAMPAIGN_KINDS
from segmentation.simulator.calendar import DAY, HOUR, dt
from segmentation.simulator.catalog import Catalog, add_campaigns
from segmentation.simulator.profiles import P
from segmentation.simulator.state import Persons

SEND_WEEKDAY, SEND_HOUR = 2, 11  # Wednesday morning
BOUNCE_RATE = 0.015
MAX_DELAY = 3 * DAY  # a caused order comes within 3 days of the delivery


@dataclass
class AudienceLists:
    """The exported lists: audience names and (audience index, customer number) pairs."""

    names: list[str]
    audience: np.ndarray
    customer: np.ndarray

    @classmethod
    def from_warehouse(cls, db_file: Path) -> AudienceLists:
        """The treatment members of each audience in a built warehouse (read-only)."""
        import duckdb

        con = duckdb.connect(str(db_file), read_only=True)
        try:
            rows = con.execute(
                "select audience, person_id from activation.audience_members "
                "where split_group = 'treatment' order by audience, person_id"
            ).fetchall()
        finally:
            con.close()
        names = sorted({a for a, _ in rows})
        index = {n: i for i, n in enumerate(names)}
        return cls(
            names,
            np.array([index[a] for a, _ in rows], np.int64),
            np.array([int(p[1:]) for _, p in rows], np.int64),  # C0000123 -> 123
        )


def audience_campaigns(
    rng: np.random.Generator, catalog: Catalog, lists: AudienceLists, lo: int, hi: int
) -> pa.Table:
    """One campaign per audience and week in (lo, hi]; adds them to the catalogue."""
    times, names, subjects, audiences = [], [], [], []
    subs = CAMPAIGN_KINDS[AUDIENCE_KIND][1]
    for day in range(lo // DAY, hi // DAY + 1):
        d = date(1970, 1, 1) + timedelta(days=day)
        if d.weekday() != SEND_WEEKDAY:
            continue
        for minute, name in enumerate(lists.names):
            t = day * DAY + SEND_HOUR * HOUR + 60 * minute
            if lo < t <= hi:
                year, week, _ = dt(t).isocalendar()
                times.append(t)
                names.append(f"{name} {year}-W{week:02d}")
                subjects.append(subs[int(rng.integers(0, len(subs)))])
                audiences.append(name)
    kinds = [AUDIENCE_KIND] * len(times)
    return add_campaigns(catalog, np.array(times, np.int64), kinds, names, subjects, audiences)


@dataclass
class AudienceSends:
    """The chunk's audience sends (person index, campaign index, sent, delivered, bounced)."""

    person: np.ndarray
    camp: np.ndarray
    sent: np.ndarray
    deliv: np.ndarray
    bounced: np.ndarray


def audience_sends(
    rng: np.random.Generator, persons: Persons, catalog: Catalog, lists: AudienceLists,
    lo: int, hi: int,
) -> AudienceSends:  # fmt: skip
    """Every listed member of this chunk (a person whose primary or duplicate record is
    on the list) opted in at the send gets each of its audience's campaigns of (lo, hi]."""
    camps = np.flatnonzero(
        (catalog.camp_kinds == AUDIENCE_KIND) & (catalog.camp_times > lo)
        & (catalog.camp_times <= hi)
    )  # fmt: skip
    number = np.r_[persons.rec_num, persons.dup_num]
    owner = np.r_[np.arange(len(persons)), np.arange(len(persons))]
    order = np.argsort(number, kind="stable")
    pos = np.searchsorted(number[order], lists.customer).clip(0, len(number) - 1)
    found = number[order][pos] == lists.customer
    member, member_aud = owner[order][pos][found], lists.audience[found]
    index = {n: i for i, n in enumerate(lists.names)}
    parts = []
    for c in camps:
        who = member[member_aud == index[catalog.camp_audience[c]]]
        t = catalog.camp_times[c]
        who = np.unique(who[(persons.c_in[who] < t) & (persons.t_out[who] - 1800 > t)])
        parts.append((who, np.full(len(who), c, np.int64)))
    person = np.concatenate([p for p, _ in parts] or [np.empty(0, np.int64)])
    camp = np.concatenate([c for _, c in parts] or [np.empty(0, np.int64)])
    sent = catalog.camp_times[camp] + rng.integers(0, 1800, len(camp))
    keep = sent <= hi
    person, camp, sent = person[keep], camp[keep], sent[keep]
    deliv = np.minimum(sent + rng.integers(1, 90, len(person)), hi)
    bounced = rng.random(len(person)) < BOUNCE_RATE
    return AudienceSends(person, camp, sent, deliv, bounced)


def caused_orders(
    rng: np.random.Generator, persons: Persons, sends: AudienceSends, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """(person, ordered_at) of the orders the delivered audience e-mails bring: each with
    the persona's email_lift, 1 hour to 3 days after the delivery (at most the period's
    end: an append ends there)."""
    delivered = ~sends.bounced
    lift = P["email_lift"][persons.persona[sends.person].astype(np.int64)]
    hit = delivered & (rng.random(len(sends.person)) < lift)
    delay = rng.integers(HOUR, MAX_DELAY, int(hit.sum()))
    return sends.person[hit], np.minimum(sends.deliv[hit] + delay, hi)
