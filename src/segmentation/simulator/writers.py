"""The table writers: one per raw table kind, shared by every period, and the sinks that
put a run's rows into the raw folder. Rows are cast to the contract
(:mod:`segmentation.contract`); the currency is ``CURRENCY``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation import contract, raw_store
from segmentation.simulator import ids as idf
from segmentation.simulator.arrays import conform, money, sort_by, strings, take, ts
from segmentation.simulator.calendar import DAY, HOUR
from segmentation.simulator.context import Ctx
from segmentation.simulator.mess import (
    BAD_ORDER_STATUS,
    EVENT_DUPLICATE_RATE,
    REDELIVERY_SHARE,
    arrive_late,
    event_duplicates,
    freshen,
    n_broken,
)
from segmentation.simulator.orders import Orders

CURRENCY = "EUR"
STATUS_VOCAB = pa.array(contract.ORDER_STATUSES)
_COUNTER = {"web_events": "web", "email_events": "email"}


def event_table(
    ctx: Ctx,
    table: str,
    cols: dict[str, tuple[pa.Array, np.ndarray]],
    occurred: np.ndarray,
    received: np.ndarray,
    bad_type: str,
) -> pa.Table:
    """An event table: ids in occurred order, ~1 % delivered again, contract-breaking
    rows (null key, unknown type, and future rows in the initial period); sorted by
    received_at. ``cols`` maps a column to (vocabulary, index per event; -1 = null)."""
    rng, hi, truth, initial = ctx.rng, ctx.period.hi, ctx.truth, ctx.period.initial
    fmt, counter = idf.EVENT_IDS[table], _COUNTER[table]
    order = np.argsort(occurred, kind="stable")
    occurred, received = occurred[order], received[order]
    n = len(occurred)
    nums = ctx.shop.counters.take(counter, n)
    freshen(rng, received, occurred, hi)
    src, copies, dup_recv = event_duplicates(rng, received, hi)
    truth.dup(table, fmt.ids(nums[src]), copies)
    dup_rows = np.repeat(src, copies)
    nb_null, nb_type = n_broken(rng, n, 3, initial), n_broken(rng, n, 3, initial)
    nb_fut = n_broken(rng, n, 3, initial) if initial else 0
    bsrc = rng.integers(0, max(n, 1), nb_null + nb_type + nb_fut)
    new_nums = ctx.shop.counters.take(counter, nb_type + nb_fut)
    b_occ, b_recv = occurred[bsrc], received[bsrc]
    fut = slice(nb_null + nb_type, None)
    b_occ[fut] = hi + rng.integers(10 * 60, 20 * DAY, nb_fut)
    b_recv[fut] = b_occ[fut] + rng.integers(0, 5, nb_fut)
    truth.nulls(table, nb_null)
    truth.broke(table, fmt.ids(new_nums[:nb_type]), "unknown_event_type")
    truth.planted_future(table, fmt.ids(new_nums[nb_type:]), b_occ[fut])
    # columns are built in received_at order (cheaper than sorting the table)
    recv = np.r_[received, dup_recv, b_recv]
    by_recv = np.argsort(recv, kind="stable")
    rows = (np.r_[order, order[dup_rows], order[bsrc]] if n else np.empty(0, np.int64))[by_recv]
    nums_all = np.r_[nums, nums[dup_rows], np.full(nb_null, -1), new_nums][by_recv]
    bad = np.zeros(len(recv), bool)
    bad[n + len(dup_rows) + nb_null : n + len(dup_rows) + nb_null + nb_type] = True
    bad = bad[by_recv]
    out = {"event_id": fmt.ids(np.maximum(nums_all, 0))}
    if nb_null:
        out["event_id"] = pc.if_else(
            pa.array(nums_all < 0), pa.scalar(None, pa.string()), out["event_id"]
        )
    for name, (vocab, idx) in cols.items():
        i = idx[rows]
        if name == "event_type":
            vocab = pa.concat_arrays([vocab, pa.array([bad_type])])
            i = np.where(bad, len(vocab) - 1, i)
        out[name] = take(vocab, i, i < 0)
    out["occurred_at"] = ts(np.r_[occurred, occurred[dup_rows], b_occ][by_recv])
    out["received_at"] = ts(recv[by_recv])
    return conform(pa.table(out), table)


def orders_table(ctx: Ctx, orders: Orders, customer: np.ndarray) -> pa.Table:
    """Orders as written at the period's end, ~0.5 % with an older version, and
    contract-breaking orders (null key, unknown status; future in the initial period)
    that have no lines. ``customer``: customer number per order."""
    rng, hi, truth, initial = ctx.rng, ctx.period.hi, ctx.truth, ctx.period.initial
    o = orders
    n_o = len(o.num)
    freshen(rng, o.upd, o.time, hi)
    ids = idf.ORDER.ids(o.num)
    truth.dup("orders", take(ids, o.prev))
    nb_null, nb_stat = n_broken(rng, n_o, 3, initial), n_broken(rng, n_o, 3, initial)
    nb_fut = n_broken(rng, n_o, 3, initial) if initial else 0
    src = rng.integers(0, max(n_o, 1), nb_null + nb_stat + nb_fut)
    new_ids = idf.ORDER.ids(ctx.shop.counters.take("order", nb_stat + nb_fut))
    b_time, b_upd = o.time[src], o.upd[src]
    fut = slice(nb_null + nb_stat, None)
    b_time[fut] = hi + rng.integers(HOUR, 30 * DAY, nb_fut)
    b_upd[fut] = b_time[fut]
    truth.nulls("orders", nb_null)
    truth.broke("orders", new_ids[:nb_stat], "unknown_event_type")
    truth.planted_future("orders", new_ids[nb_stat:], b_time[fut])
    statuses = np.r_[o.status, np.zeros(len(o.prev), np.int64), o.status[src]]
    status = take(STATUS_VOCAB, statuses)
    bad = np.zeros(len(statuses), bool)
    bad[n_o + len(o.prev) + nb_null : n_o + len(o.prev) + nb_null + nb_stat] = True
    status = pc.if_else(pa.array(bad), pa.scalar(BAD_ORDER_STATUS), status)
    upd = np.r_[o.upd, o.prev_upd, b_upd]
    table = pa.table(
        {
            "order_id": pa.concat_arrays(
                [ids, take(ids, o.prev), pa.nulls(nb_null, pa.string()), new_ids]
            ),
            "customer_id": idf.CUSTOMER.ids(np.r_[customer, customer[o.prev], customer[src]]),
            "ordered_at": ts(np.r_[o.time, o.time[o.prev], b_time]),
            "status": status,
            "currency": strings(len(upd), CURRENCY),
            "updated_at": ts(upd),
        }
    )
    return sort_by(conform(table, "orders"), upd)


def order_versions(ctx: Ctx, pending: pa.Table) -> pa.Table:
    """Rows of pending order versions (PENDING_ORDERS) that the period writes."""
    ctx.truth.dup("orders", idf.ORDER.ids(pending["order"].to_numpy()))
    upd = pending["updated"].to_numpy()
    table = pa.table(
        {
            "order_id": idf.ORDER.ids(pending["order"].to_numpy()),
            "customer_id": idf.CUSTOMER.ids(pending["customer"].to_numpy()),
            "ordered_at": ts(pending["ordered"].to_numpy()),
            "status": take(STATUS_VOCAB, pending["status"].to_numpy()),
            "currency": strings(len(upd), CURRENCY),
            "updated_at": ts(upd),
        }
    )
    return sort_by(conform(table, "orders"), upd)


def items_table(ctx: Ctx, orders: Orders) -> pa.Table:
    """Order lines (returns after the order's lines), null order_id copies and extra
    lines with a negative unit price (contract-breaking)."""
    rng, truth, li = ctx.rng, ctx.truth, orders.lines
    prod_ids, cents = ctx.shop.catalog.prod_ids, ctx.shop.catalog.prod_cents
    ids = idf.ORDER.ids(orders.num)
    n_o, n_li = len(orders.num), len(li.order)
    order = np.lexsort((li.number, li.order))
    l_order, l_num, l_prod, l_null, l_qty, l_unit, l_disc = (
        a[order] for a in (li.order, li.number, li.prod, li.null, li.qty, li.unit, li.disc)
    )
    nb = n_broken(rng, n_li, 2, ctx.period.initial)
    src = rng.integers(0, max(n_li, 1), nb) if n_li else np.empty(0, np.int64)
    neg = (
        np.sort(rng.choice(n_o, min(nb, n_o), replace=False))
        if nb and n_o
        else np.empty(0, np.int64)
    )
    neg_prod = rng.integers(0, len(cents), len(neg))
    next_line = np.bincount(li.order, minlength=n_o)
    neg_line = next_line[neg] + 1
    truth.nulls("order_items", len(src))
    keys = pc.binary_join_element_wise(
        take(ids, neg), pc.cast(pa.array(neg_line), pa.string()), "-"
    )
    truth.broke("order_items", keys, "negative_price")
    k = len(neg)
    table = pa.table(
        {
            "order_id": pa.concat_arrays(
                [take(ids, l_order), pa.nulls(len(src), pa.string()), take(ids, neg)]
            ),
            "line_number": pa.array(np.r_[l_num, l_num[src], neg_line].astype(np.int32)),
            "product_id": take(
                prod_ids,
                np.r_[l_prod, l_prod[src], neg_prod],
                np.r_[l_null, l_null[src], np.zeros(k, bool)],
            ),
            "quantity": pa.array(np.r_[l_qty, l_qty[src], np.ones(k, np.int64)].astype(np.int32)),
            "unit_price": money(np.r_[l_unit, l_unit[src], -cents[neg_prod]]),
            "discount": money(np.r_[l_disc, l_disc[src], np.zeros(k, np.int64)]),
        }
    )
    return conform(table, "order_items")


def redeliver_candidates(ctx: Ctx, table: str, data: pa.Table) -> pa.Table:
    """Valid events received in the period's last day, ~0.3 % of which are delivered
    once more in the next period (kept in the state until then)."""
    rng, hi = ctx.rng, ctx.period.hi
    types = contract.WEB_EVENT_TYPES if table == "web_events" else contract.EMAIL_EVENT_TYPES
    recv = data["received_at"].combine_chunks().cast(pa.int64()).to_numpy() // 1_000_000
    # planted future rows are no candidates (they are received after hi)
    last_day = data.take(pa.array(np.flatnonzero((recv > hi - DAY) & (recv <= hi))))
    ok = pc.and_(
        pc.is_valid(last_day["event_id"]),
        pc.is_in(last_day["event_type"], value_set=pa.array(types)),
    )
    cand = np.flatnonzero(ok.to_numpy(zero_copy_only=False))
    k = int(rng.binomial(len(cand), EVENT_DUPLICATE_RATE * REDELIVERY_SHARE))
    pick = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    return last_day.take(pa.array(pick))


def redelivered(ctx: Ctx, table: str, rows: pa.Table) -> pa.Table:
    """Pending re-deliveries written now: same event, a new received_at early in the period."""
    n = rows.num_rows
    recv = arrive_late(ctx.rng, n, ctx.period.lo, ctx.period.hi)
    rows = rows.set_column(rows.schema.get_field_index("received_at"), "received_at", ts(recv))
    ctx.truth.dup(table, rows["event_id"].combine_chunks())
    return rows


class Sink:
    """Writes a run's tables: ``<out>/<table>.parquet`` (generate, one row group per
    chunk) or one new part per table, ``<raw>/<table>/<part>.parquet`` (append)."""

    def __init__(self, out: Path, part: str | None, chunked: bool) -> None:
        self.out, self.part, self.chunked = out, part, chunked
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.parts: dict[str, list[pa.Table]] = {t: [] for t in contract.TABLES}
        self.rows: dict[str, int] = dict.fromkeys(contract.TABLES, 0)

    def write(self, table: str, data: pa.Table) -> None:
        self.rows[table] += data.num_rows
        data = conform(data, table)
        if self.part is not None or not self.chunked:
            self.parts[table].append(data)
            return
        if table not in self.writers:
            self.writers[table] = pq.ParquetWriter(self.out / f"{table}.parquet", data.schema)
        self.writers[table].write_table(data)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        for table, parts in self.parts.items():
            if self.part is None and parts:
                contract.write_table(table, pa.concat_tables(parts), self.out)
            elif self.part is not None and self.rows[table]:
                raw_store.append_part(self.out, table, pa.concat_tables(parts), self.part)
