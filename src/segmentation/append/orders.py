"""Orders and order lines of the new days, and new versions (returned, cancelled) of
recent existing orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation import contract
from segmentation.append.common import n_bad, shrink, sort_by
from segmentation.append.customers import NewCustomers, favourites
from segmentation.append.sim import Sim
from segmentation.generate import (
    BAD_ORDER_STATUS,
    DAY,
    HOUR,
    NULL_PRODUCT_RATE,
    STATUS_P,
    _freshen,
    _money,
    _take,
    _ts,
    _uniform_int,
    _within,
)
from segmentation.generate import _sample_times as sample_times

RETURN_PER_DAY = 0.03 / 23  # completed order of 5-30 days turns returned
CANCEL_PER_DAY = 0.01  # completed order of the last 2 days is cancelled
STATUS_VOCAB = pa.array(contract.ORDER_STATUSES)


@dataclass
class NewOrders:
    """The new orders by ordered_at; the web step replays a purchase session for each."""

    cust: np.ndarray  # customer index
    time: np.ndarray  # ordered_at
    lines: np.ndarray  # number of lines
    first_line: np.ndarray  # position of the order's first line in ``prod``
    prod: np.ndarray  # product index per line


@dataclass
class _Lines:
    order: np.ndarray  # order index
    number: np.ndarray  # line_number
    prod: np.ndarray  # product index
    qty: np.ndarray
    unit: np.ndarray  # cents
    disc: np.ndarray  # cents
    null: np.ndarray  # product_id is missing


def simulate_orders(sim: Sim, new: NewCustomers) -> NewOrders:
    """Writes the orders and order_items parts; returns the new orders."""
    rng, e, seq = sim.rng, sim.e, sim.h.seq["order"]
    o_cust, o_time = _when(sim, new)
    n_o = len(o_cust)
    status, upd = _status(rng, o_time, e)
    n_lines, lines = _lines(sim, new, o_cust)
    o_ids = seq.ids(seq.numbers(n_o))
    cust_col = _take(new.all_ids, o_cust)
    parts = {
        "order_id": [o_ids],
        "customer_id": [cust_col],
        "ordered_at": [o_time],
        "status": [_take(STATUS_VOCAB, status)],
        "currency": [pa.array(np.full(n_o, "EUR"))],
        "updated_at": [upd],
    }
    _new_versions(sim, parts)
    _broken_orders(sim, parts, cust_col, o_time, status, upd)
    all_upd = np.concatenate(parts["updated_at"])
    if len(all_upd):
        _freshen(rng, all_upd[:n_o], o_time, e)  # in place: a view of all_upd
    table = pa.table(
        {
            "order_id": pa.concat_arrays(parts["order_id"]),
            "customer_id": pa.concat_arrays(parts["customer_id"]),
            "ordered_at": _ts(np.concatenate(parts["ordered_at"])),
            "status": pa.concat_arrays(parts["status"]),
            "currency": pa.concat_arrays(parts["currency"]),
            "updated_at": _ts(all_upd),
        }
    )
    sim.out.tables["orders"] = sort_by(table, all_upd)
    sim.out.tables["order_items"] = _items_table(sim, o_ids, n_lines, lines)
    return NewOrders(o_cust, o_time, n_lines, np.cumsum(n_lines) - n_lines, lines.prod)


def _when(sim: Sim, new: NewCustomers) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, ordered_at) of the new orders, sorted by time."""
    h, rng, o, e, n_c = sim.h, sim.rng, sim.o, sim.e, sim.n_c
    active = np.maximum(h.signup, h.start)
    span = np.maximum((o - active) / DAY, 1.0)
    n = h.n_orders.astype(np.float64)
    rate = (n + 0.1) / np.maximum(span, 30.0)
    since = np.where(h.last_order >= 0, (o - h.last_order) / DAY, span)
    gap = span / np.maximum(n, 1)
    # lapsing: silent for more than 3 typical gaps
    rate[(n >= 2) & (since > np.maximum(3 * gap, 60))] *= 0.1
    rate[(n == 1) & (since > 90)] *= 0.3
    k = rng.poisson(rate * sim.w / DAY)
    o_cust = np.repeat(np.arange(n_c), k)
    o_time = sim.times(len(o_cust))
    # new customers: about half order within days of signing up
    first = rng.random(new.k) < 0.5
    f_time = new.signup + 600 + rng.exponential(1.5 * DAY, new.k).astype(np.int64)
    first &= f_time <= e
    o_cust = np.r_[o_cust, n_c + np.flatnonzero(first)]
    o_time = np.r_[o_time, f_time[first]]
    order = np.argsort(o_time, kind="stable")
    return o_cust[order], o_time[order]


def _status(rng: np.random.Generator, o_time: np.ndarray, e: int) -> tuple[np.ndarray, np.ndarray]:
    """Status index and updated_at as in the generator, updated_at clamped to the window."""
    n_o = len(o_time)
    status = np.searchsorted(np.cumsum(STATUS_P), rng.random(n_o), side="right").clip(0, 2)
    delay = np.select(
        [status == 0, status == 1],
        [rng.integers(HOUR, 5 * DAY, n_o), rng.integers(300, 2 * DAY, n_o)],
        rng.integers(7 * DAY, 30 * DAY, n_o),
    )
    upd = o_time + delay
    over = upd > e
    upd[over] = _uniform_int(rng, o_time[over], e)
    return status, upd


def _lines(sim: Sim, new: NewCustomers, o_cust: np.ndarray) -> tuple[np.ndarray, _Lines]:
    """Lines per order and the lines: products near the customer's favourite, discounts
    at the customer's historic share and depth."""
    h, rng, n_c = sim.h, sim.rng, sim.n_c
    n_o = len(o_cust)
    is_old = o_cust < n_c
    oc = np.where(is_old, o_cust, 0)
    mean_lines = np.where(is_old, shrink(h.n_lines[oc], h.n_orders[oc], 2.0, 2.0), 2.0)
    n_lines = np.clip(1 + rng.poisson(np.maximum(mean_lines - 1, 0)), 1, 5)
    l_order = np.repeat(np.arange(n_o), n_lines)
    l_num = _within(n_lines) + 1
    l_cust = o_cust[l_order]
    fav_cat, fav_pos = favourites(h, new, l_cust)
    l_prod = h.prod.sample(rng, fav_cat, fav_pos)
    n_l = len(l_order)
    l_qty = 1 + (rng.random(n_l) < 0.15) + (rng.random(n_l) < 0.04)
    base = h.prod.cents[l_prod]
    drift = rng.random(n_l) < 0.2
    l_unit = np.where(drift, np.round(base * (1 + rng.normal(0, 0.03, n_l))), base)
    l_unit = np.maximum(l_unit.astype(np.int64), 1)
    lc = np.where(l_cust < n_c, l_cust, 0)
    old_l = l_cust < n_c
    p_disc = np.where(old_l, shrink(h.n_disc[lc], h.n_lines[lc], 0.15, 5.0), 0.15)
    frac_mean = np.where(old_l & ~np.isnan(h.disc_frac[lc]), h.disc_frac[lc], 0.15)
    frac = np.clip(frac_mean * (0.7 + 0.6 * rng.random(n_l)), 0.02, 0.6)
    disc = rng.random(n_l) < p_disc
    l_disc = np.where(disc, np.round(l_qty * l_unit * frac), 0).astype(np.int64)
    l_null = rng.random(n_l) < NULL_PRODUCT_RATE
    return n_lines, _Lines(l_order, l_num, l_prod, l_qty, l_unit, l_disc, l_null)


def _new_versions(sim: Sim, parts: dict[str, list]) -> None:
    """New versions of recent existing orders: completed -> returned or cancelled."""
    h, rng, o, e = sim.h, sim.rng, sim.o, sim.e
    ro = h.recent_orders
    r_t = ro["t"].to_numpy()
    r_upd = ro["upd"].to_numpy()
    r_done = pc.equal(ro["status"], "completed").to_numpy(zero_copy_only=False)
    age = (o - r_t) / DAY
    days = sim.w / DAY
    p_ret = np.where(r_done & (age >= 5), 1 - (1 - RETURN_PER_DAY) ** days, 0.0)
    p_can = np.where(r_done & (age <= 2), 1 - (1 - CANCEL_PER_DAY) ** days, 0.0)
    u = rng.random(len(r_t))
    new_status = np.where(u < p_ret, 2, np.where(u < p_ret + p_can, 1, -1))
    sel = np.flatnonzero(new_status >= 0)
    v_upd = sample_times(rng, np.maximum(r_upd[sel], o) + 1, np.full(len(sel), e))
    if len(sel):
        take = pa.array(sel)
        ids = ro["order_id"].take(take).combine_chunks()
        parts["order_id"].append(ids)
        parts["customer_id"].append(ro["customer_id"].take(take).combine_chunks())
        parts["ordered_at"].append(r_t[sel])
        parts["status"].append(_take(STATUS_VOCAB, new_status[sel]))
        parts["currency"].append(ro["currency"].take(take).combine_chunks())
        parts["updated_at"].append(v_upd)
        sim.out.truth.dup("orders", ids, np.ones(len(sel)))
    sim.out.notes["order_versions"] = len(sel)


def _broken_orders(
    sim: Sim,
    parts: dict[str, list],
    cust_col: pa.Array,
    o_time: np.ndarray,
    status: np.ndarray,
    upd: np.ndarray,
) -> None:
    """Contract-breaking orders: null-key copies, unknown status with a fresh id (no lines)."""
    rng, seq, truth = sim.rng, sim.h.seq["order"], sim.out.truth
    n_o = len(o_time)
    nb_null, nb_stat = n_bad(rng, n_o, 3), n_bad(rng, n_o, 3)
    if not (n_o and nb_null + nb_stat):
        return
    src = rng.integers(0, n_o, nb_null + nb_stat)
    bad_ids = seq.ids(seq.numbers(nb_stat))
    parts["order_id"].append(pa.concat_arrays([pa.nulls(nb_null, pa.string()), bad_ids]))
    parts["customer_id"].append(cust_col.take(pa.array(src)))
    parts["ordered_at"].append(o_time[src])
    parts["status"].append(
        pa.concat_arrays(
            [
                _take(STATUS_VOCAB, status[src[:nb_null]]),
                pa.array([BAD_ORDER_STATUS] * nb_stat, pa.string()),
            ]
        )
    )
    parts["currency"].append(pa.array(np.full(nb_null + nb_stat, "EUR")))
    parts["updated_at"].append(upd[src])
    truth.broke("orders", pa.nulls(nb_null, pa.string()), "null_key")
    truth.broke("orders", bad_ids, "unknown_event_type")


def _items_table(sim: Sim, o_ids: pa.Array, n_lines: np.ndarray, lines: _Lines) -> pa.Table:
    """The order lines, null order_id copies and extra lines with a negative unit price."""
    h, rng, truth = sim.h, sim.rng, sim.out.truth
    n_o, n_l = len(n_lines), len(lines.order)
    nb = n_bad(rng, n_l, 2)
    oid = [_take(o_ids, lines.order)]
    src = rng.integers(0, max(n_l, 1), nb) if n_l else np.empty(0, np.int64)
    neg = rng.choice(n_o, min(nb, n_o), replace=False) if n_o and nb else np.empty(0, np.int64)
    neg = np.sort(neg)
    neg_prod = rng.integers(0, len(h.prod.cents), len(neg))
    if len(src):
        oid.append(pa.nulls(len(src), pa.string()))
        truth.broke("order_items", pa.nulls(len(src), pa.string()), "null_key")
    if len(neg):
        oid.append(_take(o_ids, neg))
        keys = pc.binary_join_element_wise(
            _take(o_ids, neg), pc.cast(pa.array(n_lines[neg] + 1), pa.string()), "-"
        )
        truth.broke("order_items", keys, "negative_price")
    k = len(neg)
    prod = np.r_[lines.prod, lines.prod[src], neg_prod]
    null = np.r_[lines.null, lines.null[src], np.zeros(k, bool)]
    return pa.table(
        {
            "order_id": pa.concat_arrays(oid) if len(oid) > 1 else oid[0],
            "line_number": pa.array(
                np.r_[lines.number, lines.number[src], n_lines[neg] + 1].astype(np.int32)
            ),
            "product_id": _take(h.prod.ids, prod, null),
            "quantity": pa.array(
                np.r_[lines.qty, lines.qty[src], np.ones(k, np.int64)].astype(np.int32)
            ),
            "unit_price": _money(np.r_[lines.unit, lines.unit[src], -h.prod.cents[neg_prod]]),
            "discount": _money(np.r_[lines.disc, lines.disc[src], np.zeros(k, np.int64)]),
        }
    )
