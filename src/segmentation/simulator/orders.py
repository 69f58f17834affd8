"""Orders and order lines: per person at its yearly order rate over the active time,
regular buyers with a floor of orders, one-time buyers exactly one, new customers mostly
order within days of signing up. Line net amount = ``quantity * unit_price - discount``;
partial-return lines have quantity -1 and carry the net unit price that was paid.

Status: 92 % completed, 5 % cancelled (within 2 days), 3 % returned (7-30 days later).
The row written is the order's state at the end of the period; a change after it is kept
as a pending version that the period it falls in writes (a planted duplicate)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmentation.simulator.activity import Activity, pick_record
from segmentation.simulator.arrays import uniform_int, within
from segmentation.simulator.calendar import DAY, HOUR, sample_times
from segmentation.simulator.catalog import basket_companions, follow_up_products, sample_products
from segmentation.simulator.context import Ctx
from segmentation.simulator.mess import NULL_PRODUCT_RATE, ORDER_VERSION_RATE
from segmentation.simulator.profiles import CANCELLED, COMPLETED, PERSONA, P
from segmentation.simulator.state import PENDING_ORDERS, Persons

STATUS_P = (0.92, 0.05, 0.03)  # completed, cancelled, returned
PARTIAL_RETURN_RATE = 0.05  # completed orders with 2+ items


@dataclass
class Lines:
    order: np.ndarray  # order index
    number: np.ndarray  # line_number
    prod: np.ndarray  # product index
    qty: np.ndarray
    unit: np.ndarray  # cents
    disc: np.ndarray  # cents
    null: np.ndarray  # product_id is missing


@dataclass
class Orders:
    """Orders placed in the period, by ordered_at, with their rows' versions."""

    person: np.ndarray
    time: np.ndarray
    rec: np.ndarray  # 0 primary, 1 duplicate record
    num: np.ndarray  # order number
    status: np.ndarray  # as written
    upd: np.ndarray
    n_lines: np.ndarray  # positive lines (the purchase session adds them)
    first_line: np.ndarray  # index of the first positive line in ``lines``
    lines: Lines  # positive lines first, returns after
    prev: np.ndarray  # orders with an older version written too
    prev_upd: np.ndarray
    pending: pa.Table  # versions after the period (PENDING_ORDERS)


def simulate_orders(
    ctx: Ctx,
    persons: Persons,
    act: Activity,
    created: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Orders:
    """``extra``: (person, ordered_at) of further orders (those audience e-mails bring)."""
    rng = ctx.rng
    person, time = _when(ctx, persons, act, created)
    if extra is not None and len(extra[0]):
        person, time = np.r_[person, extra[0]], np.r_[time, extra[1]]
        order = np.argsort(time, kind="stable")
        person, time = person[order], time[order]
    n_o = len(person)
    persons.n_orders += np.bincount(person, minlength=len(persons)).astype(np.int32)
    rec = pick_record(rng, persons, person, time)
    num = ctx.shop.counters.take("order", n_o)
    final = np.searchsorted(np.cumsum(STATUS_P), rng.random(n_o), side="right").clip(0, 2)
    delay = np.select(
        [final == COMPLETED, final == CANCELLED],
        [rng.integers(HOUR, 5 * DAY, n_o), rng.integers(300, 2 * DAY, n_o)],
        rng.integers(7 * DAY, 30 * DAY, n_o),
    )
    status, upd, pending = _versions(ctx, persons, person, rec, num, time, final, time + delay)
    n_lines, lines = _lines(ctx, persons, person, status)
    # earlier versions of ~0.5 % of orders (status changed later)
    cand = np.flatnonzero(upd - time >= 120)
    k = min(len(cand), int(rng.binomial(n_o, ORDER_VERSION_RATE)))
    prev = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    prev_upd = time[prev] + np.floor(
        (0.05 + 0.45 * rng.random(k)) * (upd[prev] - time[prev])
    ).astype(np.int64)
    first_line = np.cumsum(n_lines) - n_lines
    return Orders(person, time, rec, num, status, upd, n_lines, first_line, lines, prev,
                  prev_upd, pending)  # fmt: skip


def _when(
    ctx: Ctx, persons: Persons, act: Activity, created: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(person, ordered_at) of the period's orders, sorted by time."""
    rng, n = ctx.rng, len(persons)
    persona = persons.persona.astype(np.int64)
    span = act.a1 - act.a0
    # regular buyers have a floor of orders, scaled down for short active times
    floor = np.round(P["min_orders"][persona] * np.minimum(1.0, span / (180 * DAY)))
    n_orders = np.maximum(rng.poisson(persons.order_rate * act.years), floor.astype(np.int64))
    first_new = (
        created & (persona == PERSONA["new_customer"]) & (persons.n_orders == 0)
        & (rng.random(n) < 0.95) & (span > 0)
    )  # fmt: skip
    n_orders = n_orders + first_new
    once = persona == PERSONA["one_time_buyer"]
    n_orders[once] = ((persons.n_orders[once] == 0) & (span[once] > 0)).astype(np.int64)
    person = np.repeat(np.arange(n), n_orders)
    hi = np.where(once, act.a0 + (span * 0.6).astype(np.int64), act.a1)
    time = sample_times(rng, act.a0[person], hi[person])
    fn = first_new[person] & (within(n_orders) == 0)
    time[fn] = np.minimum(
        act.a0[person[fn]] + rng.exponential(1.5 * DAY, int(fn.sum())).astype(np.int64),
        act.a1[person[fn]],
    )
    order = np.argsort(time, kind="stable")
    return person[order], time[order]


def _versions(
    ctx: Ctx,
    persons: Persons,
    person: np.ndarray,
    rec: np.ndarray,
    num: np.ndarray,
    time: np.ndarray,
    final: np.ndarray,
    upd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """The written (status, updated_at) and the pending versions: a change after the
    period is written as completed now (updated when last touched) and the change later."""
    rng, hi = ctx.rng, ctx.period.hi
    over = upd > hi
    status = np.where(over, COMPLETED, final)
    written = upd.copy()
    written[over] = uniform_int(rng, time[over], hi)
    later = over & (final != COMPLETED)
    customer = np.where(rec == 1, persons.dup_num[person], persons.rec_num[person])
    pending = pa.table(
        {
            "order": num[later],
            "customer": customer[later],
            "ordered": time[later],
            "status": final[later].astype(np.int64),
            "updated": upd[later],
        },
        schema=PENDING_ORDERS,
    )
    return status, written, pending


def _lines(
    ctx: Ctx, persons: Persons, person: np.ndarray, status: np.ndarray
) -> tuple[np.ndarray, Lines]:
    """1-5 lines per order at the persona's mean; products near the favourite category
    at the persona's price level, later lines often the first one's companions; discounts
    at the persona's share and depth; partial returns of one unit of one line of ~5 % of
    the completed orders with 2+ items."""
    rng, n_o = ctx.rng, len(person)
    o_persona = persons.persona[person].astype(np.int64)
    n_lines = np.clip(1 + rng.poisson(P["lines_mean"][o_persona] - 1), 1, 5)
    l_order = np.repeat(np.arange(n_o), n_lines)
    l_persona = o_persona[l_order]
    catalog = ctx.shop.catalog
    l_person = person[l_order]
    l_prod = sample_products(
        catalog, rng, l_persona, persons.fav[l_person].astype(np.int64), persons.dev0[l_person]
    )
    first_line = np.cumsum(n_lines) - n_lines
    first_prod = follow_up_products(
        catalog, rng, l_prod[first_line], _previous_first(persons, person, l_prod[first_line])
    )
    l_prod[first_line] = first_prod
    _store_latest(persons, person, first_prod)
    l_prod = basket_companions(catalog, rng, l_prod, first_line[l_order])
    n_l = len(l_order)
    l_qty = 1 + (rng.random(n_l) < 0.15) + (rng.random(n_l) < 0.04)
    base = ctx.shop.catalog.prod_cents[l_prod]
    drift = rng.random(n_l) < 0.2
    l_unit = np.where(drift, np.round(base * (1 + rng.normal(0, 0.03, n_l))), base).astype(np.int64)
    l_unit = np.maximum(l_unit, 1)
    disc = rng.random(n_l) < P["discount_prob"][l_persona]
    lo, hi = P["discount_lo"][l_persona], P["discount_hi"][l_persona]
    frac = lo + rng.random(n_l) * (hi - lo)
    l_disc = np.where(disc, np.round(l_qty * l_unit * frac), 0).astype(np.int64)
    l_null = rng.random(n_l) < NULL_PRODUCT_RATE
    items = np.add.reduceat(l_qty, first_line) if n_l else np.zeros(0, np.int64)
    ret = np.flatnonzero(
        (status == COMPLETED) & (items >= 2) & (rng.random(n_o) < PARTIAL_RETURN_RATE)
    )
    src = first_line[ret] + np.floor(rng.random(len(ret)) * n_lines[ret]).astype(np.int64)
    r_unit = np.maximum(l_unit[src] - np.round(l_disc[src] / l_qty[src]).astype(np.int64), 1)
    lines = Lines(
        order=np.r_[l_order, ret],
        number=np.r_[within(n_lines) + 1, n_lines[ret] + 1],
        prod=np.r_[l_prod, l_prod[src]],
        qty=np.r_[l_qty, -np.ones(len(ret), np.int64)],
        unit=np.r_[l_unit, r_unit],
        disc=np.r_[l_disc, np.zeros(len(ret), np.int64)],
        null=np.r_[l_null, l_null[src]],
    )
    return n_lines, lines


def _previous_first(persons: Persons, person: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per order (sorted by time): the first product of the person's previous order, from
    this period or the stored state (-1: none)."""
    by_person = np.argsort(person, kind="stable")  # time order within each person
    p = person[by_person]
    same = np.r_[False, p[1:] == p[:-1]]
    prev = np.full(len(person), -1, np.int64)
    prev[by_person[same]] = first[by_person[np.flatnonzero(same) - 1]]
    prev[by_person[~same]] = persons.last_prod[p[~same]]
    return prev


def _store_latest(persons: Persons, person: np.ndarray, first: np.ndarray) -> None:
    """Each person's latest first product into the state (orders sorted by time)."""
    rev = len(person) - 1 - np.unique(person[::-1], return_index=True)[1]  # last of each
    persons.last_prod[person[rev]] = first[rev]
