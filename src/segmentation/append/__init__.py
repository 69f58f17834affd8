"""Continue an existing raw directory by N days: ``segmentation generate --append --days N``.

``append_days()`` reads what is already in ``<raw>`` (one file ``<t>.parquet`` or a folder
``<t>/**/*.parquet`` per table, see :mod:`segmentation.raw_store`), derives per-customer and
per-visitor behaviour from that history, simulates the next ``days`` days for the same
people and writes them as one new part per table,
``<raw>/<table>/append-<new end as YYYYMMDDTHHMMSS>.parquet`` (a single-file table is first
moved to ``<raw>/<table>/part-00000.parquet``).

Time window. The old end is ``end`` in ``<truth>/generation.json`` (written by
``generate()``); without that file it is the newest received_at / updated_at of the web and
e-mail events, orders and customers, leaving out the rows the truth lists as
``future_timestamp``. The new end is old end + days. Every new row has its
received_at / updated_at / changed_at / sent_at in (old end, new end] and
occurred_at <= received_at.

What is simulated (rates are estimated from the history, with a small prior so customers
with little history get sensible values):

* web: browse sessions per visitor (anonymous_id) at the visitor's historic session rate,
  damped for visitors silent for more than 3 typical gaps (lapsing); the visitor's
  customer(s), share of identified sessions, add-to-cart propensity and abandoned checkouts
  per session come from its events. Anonymous-only traffic continues at the historic rate
  (a quarter returning visitors, the rest new anonymous_ids). One purchase session per new
  order (views, one add_to_cart per line, checkout_started, purchase, ending at ordered_at),
  landing sessions after 60 % of e-mail clicks, and a sign-up session per new customer.
* orders: per customer at the historic order rate (damped when lapsing); lines, discounts
  and favourite category / price level from the customer's order lines; status 92 %
  completed, 5 % cancelled, 3 % returned (updated_at as in the generator). Existing orders
  of the last 30 days get a new version: completed -> returned (~0.13 % per order and day,
  orders at least 5 days old) or -> cancelled (~1 % per day, orders of the last 2 days).
* e-mail: campaigns on the generator's calendar (Tuesday newsletter, Friday sale, Sunday
  flash sales in the season), sent to opted-in customers with their historic audience
  share (so a 1-day append often has no new campaign); bounce, open and click rates per
  customer from history. Deliveries of the last 14 days that were not opened yet are opened
  in the new days with the right conditional probability (so there is e-mail activity
  every day, also without a new campaign).
* consents: opt-outs (60 % via the unsubscribe link of a new e-mail, else the preference
  centre) and later opt-ins at the historic rates; new customers opt in at sign-up at the
  historic share.
* customers: new customers at the average sign-up rate of the history (new ids continue
  ``C<number>``, person ids continue in the truth), ~1 %/year profile updates (new city, a
  new version of the row).

Messiness, like the generator: ~2 % of the new events arrive hours to days late (clamped to
the new end); about 0.5 % of browse sessions are "offline" sessions synced later, whose
events occurred hours to days before they arrive, often before the old end; opens of old
deliveries that happened before the old end arrive late as well. ~1 % of the new events are
delivered again (10 % of them twice) and, in addition, ~0.3 % (of the new event count)
pre-existing events received in the last day before the old end are re-delivered in the
new window (same event_id and content, later received_at). Contract-breaking rows at the
generator's rate per reason (0.3 % of a table's new rows over the generator's reasons for
that table, rounded at random): null keys and unknown event types / order status in web and
e-mail events and orders, null order_id and negative unit_price in order items, null
customer_id in customers. No future-timestamp rows are planted (they
would break the window); generator-planted future rows whose timestamp is now inside the
window become ordinary rows and leave the truth's broken_rows.

Truth (``<truth>``, default ``<raw>/../truth``): the three truth Parquet files are
rewritten with the new rows added (customers_truth: new customers, persona
``new_customer``; broken_rows: the new broken rows; planted_duplicates: extra copies added
to existing keys or new keys), and ``generation.json`` gets ``end`` = new end and an entry in
``appends``.

Ids are PREFIX + zero-padded number (as the generator writes them) and continue after the
largest existing one (from the Parquet statistics where possible); new anonymous_ids are
random 16-hex ids checked against the existing ones.

Deterministic: the same raw state, days and seed give byte-identical files. Runs with one
DuckDB pass per table over the history: a 1-day append to 1M customers (35M web events)
takes about 15 s and 1.9 GB on 2 cores.

Modules: ``history`` (and ``db``, ``ids``) read the existing data; ``sim`` holds the shared
state and writes event tables; ``customers``, ``orders``, ``email``, ``sessions`` and
``web`` simulate, in that order (the order of the random draws); ``truth`` writes the truth.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from segmentation import contract, raw_store
from segmentation.append.common import dt
from segmentation.append.customers import customers_table, new_customers
from segmentation.append.db import connect, old_end
from segmentation.append.email import simulate_email
from segmentation.append.history import load_history
from segmentation.append.orders import simulate_orders
from segmentation.append.sim import Sim
from segmentation.append.truth import future_rows_now_valid, write_generation, write_truth
from segmentation.append.web import simulate_web
from segmentation.generate import DAY, GENERATION_FILE

__all__ = ["append_days", "part_name"]


def part_name(new_end: datetime) -> str:
    """File stem of the parts an append ending at ``new_end`` writes."""
    return f"append-{new_end:%Y%m%dT%H%M%S}"


def append_days(
    raw_dir: Path,
    days: int,
    seed: int = 0,
    progress: bool = True,
    truth_out: Path | None = None,
) -> dict[str, int]:
    """Add the next ``days`` days to the raw data in ``raw_dir`` (see the module docstring).

    Writes one part per table that gets rows, ``<raw>/<table>/append-<end>.parquet``,
    updates the truth in ``truth_out`` (default ``raw_dir.parent / "truth"``) and its
    ``generation.json``. Returns rows written per raw table (0 for untouched tables).
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    raw_dir = Path(raw_dir)
    truth_dir = Path(truth_out) if truth_out is not None else raw_dir.parent / "truth"
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress:
            print(f"[append] {msg} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)

    files = {t: raw_store.table_files(raw_dir, t) for t in contract.TABLES}
    for t in ("customers", "products"):
        if not files[t]:
            raise ValueError(f"no raw {t} in {raw_dir}: generate data first")
    gen_path = truth_dir / GENERATION_FILE
    gen = json.loads(gen_path.read_text()) if gen_path.is_file() else None
    con = connect(files)
    o, end_from = old_end(con, gen, truth_dir)
    e = o + days * DAY
    part = part_name(dt(e))
    for t in contract.TABLES:
        if (raw_dir / t / f"{part}.parquet").exists():
            raise ValueError(f"{raw_dir / t / part}.parquet exists: this append was done already")
    say(f"{days} day(s) after {dt(o).isoformat()} ({end_from}) until {dt(e).isoformat()}")

    h = load_history(con, files, o, truth_dir, say)
    seed_u = int(seed) % (1 << 64)
    rng = np.random.default_rng(np.random.SeedSequence([seed_u, o, days, 0xA99E]))
    sim = Sim(h, rng, days)
    # the order of the steps is the order of the random draws: keep it
    new = new_customers(sim)
    orders = simulate_orders(sim, new)
    mailing = simulate_email(sim, new)
    simulate_web(sim, new, orders, mailing)
    customers_table(sim, new, con)
    out = sim.out
    now_valid = future_rows_now_valid(con, truth_dir, o, e)
    con.close()
    say("simulated: " + ", ".join(f"{k} {v:,}" for k, v in out.notes.items()))

    rows = dict.fromkeys(contract.TABLES, 0)
    for t in contract.TABLES:
        data = out.tables.get(t)
        if data is not None and data.num_rows:
            raw_store.append_part(raw_dir, t, data, part)
            rows[t] = data.num_rows
    for t, n in rows.items():
        say(f"{t} {n:,} rows")
    counts = write_truth(truth_dir, out.truth, now_valid)
    entry = {
        "from": dt(o).isoformat(),
        "end": dt(e).isoformat(),
        "days": days,
        "seed": seed,
        "part": part,
        "old_end_from": end_from,
        "rows": rows,
        "truth": counts,
    }
    write_generation(gen_path, gen, entry, dt(e).isoformat())
    say(
        f"truth in {truth_dir}: +{counts['broken_rows']:,} broken rows, "
        f"+{counts['duplicated_keys']:,} duplicated keys, +{counts['new_customers']:,} customers"
    )
    return rows
