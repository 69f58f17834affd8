"""State shared by the simulation steps, and the event-table writer web and e-mail share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.append.common import arrive_late, conform, n_bad, replace_column, sort_by
from segmentation.append.history import History
from segmentation.append.truth import Truth
from segmentation.generate import (
    DAY,
    EVENT_DUPLICATE_RATE,
    _event_duplicates,
    _freshen,
    _take,
    _ts,
)
from segmentation.generate import _sample_times as sample_times

# re-delivered pre-existing events, relative to the 1 % duplicates of new events
REDELIVERY_SHARE = 0.3


@dataclass
class Out:
    """The new rows, as pa.Tables per raw table, and the truth additions."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    truth: Truth = field(default_factory=Truth)
    notes: dict[str, int] = field(default_factory=dict)


class Sim:
    """The window (o, e], one random stream and the output. The steps draw from ``rng``
    in a fixed order, which keeps an append byte-identical for the same seed."""

    def __init__(self, h: History, rng: np.random.Generator, days: int) -> None:
        self.h, self.rng = h, rng
        self.o = h.o
        self.e = h.o + days * DAY
        self.w = days * DAY
        self.out = Out()
        self.n_c = len(h.cust_ids)
        self.n_v = len(h.anon_ids)
        self.n_new_anon = 0
        self.span_days = max((self.o - h.start) / DAY, 1.0)

    def new_anon(self, k: int) -> np.ndarray:
        """Visitor indexes for k new devices (after the existing visitors)."""
        out = self.n_v + self.n_new_anon + np.arange(k, dtype=np.int64)
        self.n_new_anon += k
        return out

    def times(self, k: int) -> np.ndarray:
        """k times in the new window with the generator's traffic pattern."""
        return sample_times(self.rng, np.full(k, self.o + 1), np.full(k, self.e))


def event_table(
    sim: Sim,
    table: str,
    counter: str,
    cols: dict[str, tuple[pa.Array, np.ndarray]],
    occurred: np.ndarray,
    received: np.ndarray,
    bad_type: str,
    recent: pa.Table,
) -> pa.Table:
    """The new rows of an event table: ids in occurred order, planted duplicates and broken
    rows, re-delivered pre-existing events; sorted by received_at.

    ``cols`` maps a column to (vocabulary, index per event); index -1 is null.
    """
    rng, o, e, truth = sim.rng, sim.o, sim.e, sim.out.truth
    seq = sim.h.seq[counter]
    n = len(occurred)
    order = np.argsort(occurred, kind="stable")
    occurred, received = occurred[order], received[order]
    cols = {k: (voc, idx[order]) for k, (voc, idx) in cols.items()}
    nums = seq.numbers(n)
    if n:
        _freshen(rng, received, occurred, e)
    src, copies, dup_recv = _event_duplicates(rng, received, e)
    truth.dup(table, seq.ids(nums[src]), copies)
    dup_rows = np.repeat(src, copies)
    nb_null, nb_type = n_bad(rng, n, 3), n_bad(rng, n, 3)
    bsrc = rng.integers(0, n, nb_null + nb_type) if n else np.empty(0, np.int64)
    bad_nums = seq.numbers(nb_type)
    truth.broke(table, pa.nulls(nb_null, pa.string()), "null_key")
    truth.broke(table, seq.ids(bad_nums), "unknown_event_type")
    rows = np.r_[np.arange(n), dup_rows, bsrc].astype(np.int64)
    nums_all = np.r_[nums, nums[dup_rows], np.full(nb_null, -1), bad_nums].astype(np.int64)
    bad = np.zeros(len(rows), bool)
    bad[n + len(dup_rows) + nb_null :] = True
    out = {"event_id": seq.ids(np.maximum(nums_all, 0))}
    if nb_null:
        out["event_id"] = pc.if_else(
            pa.array(nums_all < 0), pa.scalar(None, pa.string()), out["event_id"]
        )
    for name, (vocab, idx) in cols.items():
        i = idx[rows]
        if name == "event_type":
            vocab = pa.concat_arrays([vocab, pa.array([bad_type])])
            i = np.where(bad, len(vocab) - 1, i)
        out[name] = _take(vocab, i, i < 0)
    out["occurred_at"] = _ts(occurred[rows])
    out["received_at"] = _ts(np.r_[received, dup_recv, received[bsrc]])
    data = conform(pa.table(out), table)
    # pre-existing events delivered once more
    k = min(recent.num_rows, int(rng.binomial(n, EVENT_DUPLICATE_RATE * REDELIVERY_SHARE)))
    if k:
        pick = np.sort(rng.choice(recent.num_rows, k, replace=False))
        old = conform(recent.take(pa.array(pick)), table)
        old = replace_column(old, "received_at", _ts(arrive_late(rng, k, o, e)))
        truth.dup(table, old["event_id"].combine_chunks(), np.ones(k))
        data = pa.concat_tables([data, old])
    sim.out.notes[f"{table}_redelivered"] = k
    sim.out.notes[f"{table}_duplicates"] = int(copies.sum())
    return sort_by(data, data["received_at"].combine_chunks().cast(pa.int64()).to_numpy())
