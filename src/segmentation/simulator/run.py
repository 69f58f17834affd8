"""A run simulates one period for the whole population, chunk by chunk of persons:
``generate`` from an empty state (the population is created in its first period),
``append`` from the state a previous run stored. Both go through :func:`_period`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation import contract
from segmentation.simulator import ids as idf
from segmentation.simulator.activity import activity
from segmentation.simulator.audiences import (
    AudienceLists,
    audience_campaigns,
    audience_sends,
    caused_orders,
)
from segmentation.simulator.calendar import DAY, dt, sec
from segmentation.simulator.catalog import (
    Catalog,
    make_products,
    new_campaigns,
    products_table,
    urls,
)
from segmentation.simulator.context import Ctx, Period
from segmentation.simulator.customers import (
    LATER_OPTIN_SHARE,
    customers_table,
    initial_population,
    new_signups,
)
from segmentation.simulator.email import Mail, simulate_email
from segmentation.simulator.mess import BAD_EMAIL_TYPE, BAD_WEB_TYPE, arrival
from segmentation.simulator.orders import simulate_orders
from segmentation.simulator.profiles import EMAIL_TYPES, WEB_TYPES
from segmentation.simulator.state import (
    PENDING_EMAIL,
    PENDING_ORDERS,
    REDELIVER_TABLES,
    Counters,
    Pending,
    Persons,
    Shop,
    load_state,
    save_state,
    state_dir,
)
from segmentation.simulator.truth import GENERATION_FILE, Truth, write_generation, write_truth
from segmentation.simulator.web import WebEvents, simulate_web
from segmentation.simulator.writers import (
    Sink,
    event_table,
    items_table,
    order_versions,
    orders_table,
    redeliver_candidates,
    redelivered,
)

CHUNK_SIZE = 50_000  # persons per chunk (bounds memory: ~1 GB per chunk)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([k % (1 << 63) for k in key]))


def _say(tag: str, progress: bool) -> Callable[[str], None]:
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress:
            print(f"[{tag}] {msg} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)

    return say


@dataclass
class _Out:
    """What the chunks of a run leave for the state."""

    persons: list[Persons] = field(default_factory=list)
    email: list[pa.Table] = field(default_factory=list)
    orders: list[pa.Table] = field(default_factory=list)
    redeliver: dict[str, list[pa.Table]] = field(
        default_factory=lambda: {t: [] for t in REDELIVER_TABLES}
    )

    def pending(self) -> Pending:
        return Pending(
            email=pa.concat_tables([PENDING_EMAIL.empty_table(), *self.email]),
            orders=pa.concat_tables([PENDING_ORDERS.empty_table(), *self.orders]),
            redeliver={
                t: pa.concat_tables([contract.empty_table(t), *v])
                for t, v in self.redeliver.items()
            },
        )


def _web_table(ctx: Ctx, w: WebEvents) -> pa.Table:
    cols = {
        "anonymous_id": (idf.anonymous_ids(w.devices, ctx.shop.salt), w.device),
        "customer_id": (idf.CUSTOMER.ids(w.customers), w.customer),
        "event_type": (pa.array(WEB_TYPES), w.etype),
        "product_id": (ctx.shop.catalog.prod_ids, w.prod),
        "page_url": (ctx.urls.values, w.url),
    }
    return event_table(ctx, "web_events", cols, w.occurred, w.received, BAD_WEB_TYPE)


def _email_table(ctx: Ctx, persons: Persons, m: Mail) -> pa.Table:
    cols = {
        "customer_id": (idf.CUSTOMER.ids(persons.rec_num), m.person),
        "campaign_id": (ctx.shop.catalog.camp_ids, m.camp),
        "event_type": (pa.array(EMAIL_TYPES), m.etype),
    }
    received = arrival(ctx.rng, m.occurred, ctx.period.lo, ctx.period.hi, 120)
    return event_table(ctx, "email_events", cols, m.occurred, received, BAD_EMAIL_TYPE)


def _period(
    ctx: Ctx,
    persons: Persons,
    created: np.ndarray,
    due: pa.Table,
    p0: int,
    out: _Out,
    lists: tuple[AudienceLists, np.random.Generator] | None = None,
) -> dict[str, pa.Table]:
    """One chunk of persons (numbers p0 + 1 ...) through the period; the order of the
    steps is the order of the random draws. ``lists``: the warehouse's exported lists and
    a random stream of their own (the rest of the data stays what it would be without)."""
    act = activity(ctx, persons)
    sends, extra = None, None
    if lists is not None:
        lo, hi = ctx.period.lo, ctx.period.hi
        sends = audience_sends(lists[1], persons, ctx.shop.catalog, lists[0], lo, hi)
        extra = caused_orders(lists[1], persons, sends, hi)
    orders = simulate_orders(ctx, persons, act, created, extra)
    mail = simulate_email(ctx, persons, act, created, due, sends)
    web = simulate_web(ctx, persons, act, orders, mail)
    customer = np.where(
        orders.rec == 1, persons.dup_num[orders.person], persons.rec_num[orders.person]
    )
    tables = {
        "customers": customers_table(ctx, persons, created),
        "orders": orders_table(ctx, orders, customer),
        "order_items": items_table(ctx, orders),
        "web_events": _web_table(ctx, web),
        "email_events": _email_table(ctx, persons, mail),
        "consents": mail.consents,
    }
    pend = mail.pending
    out.email.append(pend.set_column(0, "person", pc.add(pend["person"], p0)))
    out.orders.append(orders.pending)
    for t in REDELIVER_TABLES:
        out.redeliver[t].append(redeliver_candidates(ctx, t, tables[t]))
    return tables


def _chunks(n: int, chunk_size: int) -> list[tuple[int, int]]:
    k = -(-n // max(1, chunk_size))
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    ends = np.cumsum(sizes)
    return [(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def resolve_end(end: datetime | None) -> datetime:
    if end is None:
        end = datetime.now(UTC)
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    return end.replace(microsecond=0)


def _new_shop(
    rng: np.random.Generator, customers: int, period: Period, sink: Sink, truth: Truth
) -> Shop:
    """Products and the device salt of a new shop; writes the products table. Later
    opt-ins: LATER_OPTIN_SHARE of the first period's customers, then at that pace."""
    hi = period.hi
    prod_cat, cents, names, brands = make_products(rng)
    numbers = rng.permutation(len(prod_cat)) + 1
    empty = np.empty(0, np.int64)
    catalog = Catalog(prod_cat, cents, numbers, empty, empty)
    salt = int(rng.integers(0, 1 << 63))
    optin = -np.log(1 - LATER_OPTIN_SHARE) / period.years
    shop = Shop(hi, salt, 0.0, optin, catalog, Counters(customer=customers, person=customers))
    products, bad_ids = products_table(rng, catalog, names, brands, hi)
    truth.broke("products", bad_ids, "negative_price")
    sink.write("products", products)
    return shop


def generate_run(
    customers: int, days: int, seed: int, end: datetime, out: Path, truth_out: Path,
    progress: bool, chunk_size: int,
) -> dict[str, int]:  # fmt: skip
    say = _say("generate", progress)
    hi = sec(end)
    period = Period(hi - days * DAY, hi, initial=True)
    seed_u = int(seed) % (1 << 64)
    g_rng = _rng(seed_u, 0)
    chunks = _chunks(customers, chunk_size)
    sink, truth, res = Sink(out, None, chunked=len(chunks) > 1), Truth(), _Out()
    try:
        shop = _new_shop(g_rng, customers, period, sink, truth)
        sink.write("email_campaigns", new_campaigns(g_rng, shop.catalog, period.lo, hi))
        vocab = urls(shop.catalog)
        say(f"{customers:,} persons, {days} days until {end.isoformat()}, seed {seed}")
        for ci, (p0, p1) in enumerate(chunks):
            ctx = Ctx(_rng(seed_u, ci + 1), period, shop, truth, vocab)
            persons = initial_population(ctx, p1 - p0, p0)
            tables = _period(
                ctx, persons, np.ones(p1 - p0, bool), PENDING_EMAIL.empty_table(), p0, res
            )
            for name, data in tables.items():
                sink.write(name, data)
            res.persons.append(persons)
            say(f"chunk {ci + 1}/{len(chunks)} (persons {p1:,}/{customers:,}): "
                + ", ".join(f"{k} {v.num_rows:,}" for k, v in tables.items()))  # fmt: skip
    finally:
        sink.close()
    persons = Persons.concat(res.persons)
    shop.signups_per_day = float(
        ((persons.signup > period.lo) & (persons.signup <= hi)).sum() / days
    )
    save_state(truth_out, shop, persons.to_table(), res.pending())
    counts = write_truth(truth_out, state_dir(truth_out), truth, hi, fresh=True)
    spec = {"customers": customers, "days": days, "seed": seed, "end": end.isoformat()}
    (truth_out / GENERATION_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    for name, rows in sink.rows.items():
        say(f"{name} {rows:,} rows")
    say(f"truth in {truth_out}: {counts['broken_rows']:,} broken rows, "
        f"{counts['duplicated_keys']:,} duplicated keys")  # fmt: skip
    return dict(sink.rows)


def _due_email(pending: pa.Table, p0: int, p1: int) -> pa.Table:
    """The chunk's pending e-mail events, person numbers made chunk indexes."""
    p = pending["person"].to_numpy()
    sel = pending.filter(pa.array((p >= p0) & (p < p1)))
    return sel.set_column(0, "person", pc.subtract(sel["person"], p0))


def _carry_over(ctx: Ctx, pending: Pending, sink: Sink, res: _Out) -> None:
    """Pending order versions and re-deliveries that fall in the period."""
    upd = pending.orders["updated"].to_numpy()
    due = upd <= ctx.period.hi
    sink.write("orders", order_versions(ctx, pending.orders.filter(pa.array(due))))
    res.orders.append(pending.orders.filter(pa.array(~due)))
    for t in REDELIVER_TABLES:
        sink.write(t, redelivered(ctx, t, pending.redeliver[t]))


def append_run(
    raw_dir: Path,
    days: int,
    seed: int,
    progress: bool,
    truth_dir: Path,
    part: Callable[[datetime], str],
    lists: AudienceLists | None = None,
) -> dict[str, int]:
    say = _say("append", progress)
    shop, persons, pending = load_state(truth_dir)
    lo, hi = shop.end, shop.end + days * DAY
    name = part(dt(hi))
    for t in contract.TABLES:
        if (raw_dir / t / f"{name}.parquet").exists():
            raise ValueError(f"{raw_dir / t / name}.parquet exists: this append was done already")
    say(f"{days} day(s) after {dt(lo).isoformat()} until {dt(hi).isoformat()}")
    seed_u = int(seed) % (1 << 64)
    period, truth, res = Period(lo, hi, initial=False), Truth(), _Out()
    g_rng = _rng(seed_u, lo, days, 0xA99E)
    sink = Sink(raw_dir, name, chunked=True)
    try:
        sink.write("email_campaigns", new_campaigns(g_rng, shop.catalog, lo, hi))
        if lists is not None:
            a_rng = _rng(seed_u, lo, days, 0xA0D1)
            sink.write("email_campaigns", audience_campaigns(a_rng, shop.catalog, lists, lo, hi))
            say(f"audience sends to {len(lists.names)} lists, {len(lists.customer):,} members")
        ctx = Ctx(g_rng, period, shop, truth, urls(shop.catalog))
        _carry_over(ctx, pending, sink, res)
        new = new_signups(ctx, int(g_rng.poisson(shop.signups_per_day * days)))
        created = np.r_[np.zeros(len(persons), bool), np.ones(len(new), bool)]
        persons = Persons.concat([persons, new])
        for ci, (p0, p1) in enumerate(_chunks(len(persons), CHUNK_SIZE)):
            ctx = Ctx(_rng(seed_u, lo, days, 0xA99E, ci + 1), period, shop, truth, ctx.urls)
            chunk_lists = None if lists is None else (lists, _rng(seed_u, lo, days, 0xA0D1, ci + 1))
            tables = _period(ctx, persons.take(slice(p0, p1)), created[p0:p1],
                             _due_email(pending.email, p0, p1), p0, res, chunk_lists)  # fmt: skip
            for t, data in tables.items():
                sink.write(t, data)
    finally:
        sink.close()
    shop.end = hi
    save_state(truth_dir, shop, persons.to_table(), res.pending())
    counts = write_truth(truth_dir, state_dir(truth_dir), truth, hi, fresh=False)
    gen_path = truth_dir / GENERATION_FILE
    gen = json.loads(gen_path.read_text()) if gen_path.is_file() else None
    entry = {"from": dt(lo).isoformat(), "end": dt(hi).isoformat(), "days": days, "seed": seed,
             "part": name, "rows": dict(sink.rows), "truth": counts}  # fmt: skip
    write_generation(gen_path, gen, entry, dt(hi).isoformat())
    for t, n in sink.rows.items():
        say(f"{t} {n:,} rows")
    added = (
        f"+{counts['broken_rows']:,} broken rows, +{counts['duplicated_keys']:,} duplicated "
        f"keys, +{counts['new_customers']:,} customers"
    )
    say(f"truth in {truth_dir}: {added}")
    return dict(sink.rows)
