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
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import special

from segmentation import contract, raw_store
from segmentation.generate import (
    ADD,
    BAD_EMAIL_TYPE,
    BAD_ORDER_STATUS,
    BAD_WEB_TYPE,
    BOUNCE,
    BROKEN_RATE,
    CHECKOUT,
    CLICK,
    DAY,
    DELIVERED,
    EPOCH,
    EVENT_DUPLICATE_RATE,
    GENERATION_FILE,
    HOUR,
    LATE_EVENT_RATE,
    NULL_EMAIL_RATE,
    NULL_PRODUCT_RATE,
    OPEN,
    PAGE_VIEW,
    PRODUCT_VIEW,
    PROFILE_UPDATE_RATE,
    PURCHASE,
    REMOVE,
    SEARCH,
    SENT,
    SPAM,
    STATUS_P,
    UNSUBSCRIBE,
    _event_duplicates,
    _ffill,
    _freshen,
    _hex_ids,
    _ids,
    _latency,
    _money,
    _take,
    _ts,
    _within,
)
from segmentation.generate import _sample_times as sample_times
from segmentation.personas import (
    CAMPAIGN_KINDS,
    CITIES,
    FIRST_NAMES_FEMALE,
    FIRST_NAMES_MALE,
    LAST_NAMES,
    SEARCH_TERMS,
    STATIC_PAGES,
)

__all__ = ["append_days", "part_name"]

# history windows
RECENT_EMAIL = 14 * DAY  # deliveries this recent may still be opened
RECENT_ORDERS = 30 * DAY  # orders this recent may still change status
REDELIVERY_WINDOW = DAY  # pre-existing events re-delivered come from the last day
OPEN_LOOKBACK = 2 * DAY  # opens this long before the old end may still arrive late

# rates (per event / session / order unless said otherwise)
REDELIVERY_SHARE = 0.3  # re-delivered pre-existing events, relative to the 1 % new duplicates
OFFLINE_SESSION_RATE = 0.005  # browse sessions synced late
RETURN_PER_DAY = 0.03 / 23  # completed order of 5-30 days turns returned
CANCEL_PER_DAY = 0.01  # completed order of the last 2 days is cancelled
NEW_STRANGER_SHARE = 0.75  # anonymous-only sessions by new visitors
LINK_OPTOUT_SHARE = 0.6
OPEN_MU, OPEN_SIGMA = float(np.log(2.5 * HOUR)), 1.3  # open delay after delivery (lognormal)

WEB_TYPES = contract.WEB_EVENT_TYPES
EMAIL_TYPES = contract.EMAIL_EVENT_TYPES
BROWSE, PURCHASE_S, CLICK_S, SIGNUP_S = range(4)
STATIC = (*STATIC_PAGES, "/checkout", "/checkout/confirmation")
URL_STATIC = {u: i for i, u in enumerate(STATIC)}
PAGE_W = np.array([0.35, 0.09, 0.08, 0.05, 0.02, 0.02, 0.03, 0.06])  # STATIC_PAGES


def part_name(new_end: datetime) -> str:
    """File stem of the parts an append ending at ``new_end`` writes."""
    return f"append-{new_end:%Y%m%dT%H%M%S}"


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


def _dt(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=int(seconds))


def _sec(value: datetime | str) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None) - (value.utcoffset() or timedelta(0))
    return int((value - EPOCH).total_seconds())


def _sql_ts(seconds: int) -> str:
    return f"timestamp '{_dt(seconds).isoformat(sep=' ')}'"


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _round_random(rng: np.random.Generator, x: float) -> int:
    """x rounded down or up at random, so the expected value is x."""
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def _n_bad(rng: np.random.Generator, n_rows: int, n_reasons: int) -> int:
    return _round_random(rng, n_rows * BROKEN_RATE / n_reasons) if n_rows else 0


def _shrink(k: np.ndarray, n: np.ndarray, prior: float, weight: float) -> np.ndarray:
    return (k + prior * weight) / (n + weight)


def _arrive_late(rng: np.random.Generator, m: int, o: int, e: int) -> np.ndarray:
    """received_at for events that occurred before the old end: minutes to hours into the
    new window."""
    delay = np.minimum(rng.lognormal(np.log(HOUR), 1.2, m).astype(np.int64), e - o - 1)
    return o + 1 + np.maximum(delay, 0)


def _cat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(p) for p in parts])


def _open_cdf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, special.ndtr((np.log(np.maximum(x, 1.0)) - OPEN_MU) / OPEN_SIGMA), 0.0)


_ID = re.compile(r"^(\D*)(\d+)$")


@dataclass
class _IdSeq:
    """Continues ids of the form PREFIX + zero-padded number."""

    prefix: str
    width: int
    last: int

    @classmethod
    def after(cls, max_id: str | None, prefix: str, width: int, what: str) -> _IdSeq:
        if max_id is None:
            return cls(prefix, width, 0)
        m = _ID.match(max_id)
        if not m:
            raise ValueError(f"cannot continue the {what} ids: {max_id!r} is not PREFIX + number")
        return cls(m[1], len(m[2]), int(m[2]))

    def numbers(self, k: int) -> np.ndarray:
        out = self.last + 1 + np.arange(k, dtype=np.int64)
        self.last += k
        return out

    def ids(self, numbers: np.ndarray) -> pa.Array:
        return _ids(self.prefix, numbers, self.width)


def _max_string(files: list[Path], column: str) -> tuple[bool, str | None]:
    """Max of a string column from the Parquet statistics: (known, value)."""
    best: str | None = None
    for f in files:
        md = pq.ParquetFile(f).metadata
        names = md.schema.to_arrow_schema().names
        if column not in names:
            continue
        j = names.index(column)
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            st = rg.column(j).statistics
            if st is None or not st.has_min_max:
                if st is not None and st.null_count == rg.num_rows:
                    continue
                return False, None
            v = st.max.decode() if isinstance(st.max, bytes) else st.max
            best = v if best is None else max(best, v)
    return True, best


# ---------------------------------------------------------------------------------------
# truth bookkeeping
# ---------------------------------------------------------------------------------------


@dataclass
class _Truth:
    broken: list[pa.Table] = field(default_factory=list)
    dups: list[pa.Table] = field(default_factory=list)
    customers: list[pa.Table] = field(default_factory=list)

    def broke(self, table: str, keys: pa.Array, reason: str) -> None:
        n = len(keys)
        if n:
            self.broken.append(
                pa.table(
                    {
                        "table_name": pa.array([table] * n, pa.string()),
                        "record_key": keys.cast(pa.string()),
                        "reason_code": pa.array([reason] * n, pa.string()),
                    }
                )
            )

    def dup(self, table: str, keys: pa.Array, copies: np.ndarray) -> None:
        if len(keys):
            self.dups.append(
                pa.table(
                    {
                        "table_name": pa.array([table] * len(keys), pa.string()),
                        "record_key": keys.cast(pa.string()),
                        "extra_copies": pa.array(np.asarray(copies, dtype=np.int32)),
                    }
                )
            )


def _merge_duplicates(old: pa.Table | None, new: list[pa.Table]) -> pa.Table | None:
    """Add the new extra copies to existing keys, append new keys in order of appearance."""
    if not new:
        return old
    add = pa.concat_tables(new)
    key = pc.binary_join_element_wise(add["table_name"], add["record_key"], "\x00")
    uniq, first, inv = np.unique(
        np.asarray(key.to_numpy(zero_copy_only=False), dtype=object),
        return_index=True,
        return_inverse=True,
    )
    copies = np.zeros(len(uniq), np.int64)
    np.add.at(copies, inv, add["extra_copies"].to_numpy())
    order = np.argsort(first)
    add = add.take(pa.array(first[order])).set_column(
        2, "extra_copies", pa.array(copies[order].astype(np.int32))
    )
    if old is None or old.num_rows == 0:
        return add
    old_key = pc.binary_join_element_wise(old["table_name"], old["record_key"], "\x00")
    add_key = pc.binary_join_element_wise(add["table_name"], add["record_key"], "\x00")
    pos = pc.index_in(add_key, value_set=old_key).to_numpy(zero_copy_only=False)
    found = ~np.isnan(pos.astype(np.float64))
    counts = old["extra_copies"].to_numpy().astype(np.int64)
    np.add.at(counts, pos[found].astype(np.int64), add["extra_copies"].to_numpy()[found])
    old = old.set_column(
        old.schema.get_field_index("extra_copies"),
        "extra_copies",
        pa.array(counts.astype(np.int32)),
    )
    return pa.concat_tables([old, add.filter(pa.array(~found)).cast(old.schema)])


# ---------------------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------------------


@dataclass
class _Products:
    ids: pa.Array  # sorted by (category, price)
    cents: np.ndarray
    cat: np.ndarray
    cat_names: list[str]
    cat_offset: np.ndarray
    cat_count: np.ndarray
    pos: np.ndarray  # price position inside the category, 0..1
    pop_cdf: np.ndarray  # popularity in past order lines

    def sample(
        self, rng: np.random.Generator, fav_cat: np.ndarray, fav_pos: np.ndarray
    ) -> np.ndarray:
        """Product index per draw: 45 % near the favourite (category, price), else popular."""
        m = len(fav_cat)
        out = np.searchsorted(self.pop_cdf, rng.random(m), side="right")
        out = np.minimum(out, len(self.cents) - 1)
        use = (fav_cat >= 0) & (rng.random(m) < 0.45)
        jitter = rng.normal(0.0, 0.15, m)
        c = np.maximum(fav_cat, 0)
        p = np.clip(fav_pos + jitter, 0.0, 0.999)
        near = self.cat_offset[c] + np.minimum(
            (p * self.cat_count[c]).astype(np.int64), self.cat_count[c] - 1
        )
        return np.where(use, near, out)


@dataclass
class _History:
    o: int  # old end, epoch seconds
    start: int  # first activity in the data
    # customers, sorted by customer_id
    cust_ids: pa.Array
    signup: np.ndarray
    email_null: np.ndarray
    n_orders: np.ndarray
    last_order: np.ndarray
    n_lines: np.ndarray
    n_disc: np.ndarray
    disc_frac: np.ndarray
    fav_prod: np.ndarray
    n_sent: np.ndarray
    n_deliv: np.ndarray
    n_open: np.ndarray
    n_click: np.ndarray
    n_bounce: np.ndarray
    cs_in: np.ndarray  # latest e-mail consent is opted_in
    cs_time: np.ndarray
    consent_counts: dict[str, int]
    # visitors, sorted by anonymous_id
    anon_ids: pa.Array
    v: dict[str, np.ndarray]
    # catalogue and campaigns
    prod: _Products
    camp_ids: pa.Array
    camp_names: list[str]
    camp_times: np.ndarray
    # recent state
    recent_deliv: dict[str, np.ndarray]
    recent_orders: pa.Table
    recent_web: pa.Table
    recent_email: pa.Table
    # id sequences
    seq: dict[str, _IdSeq]


def _connect(files: dict[str, list[Path]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    limit = os.environ.get("SEGMENTATION_MEMORY_LIMIT")
    if limit:
        con.execute(f"set memory_limit = '{limit}'")
    for t, paths in files.items():
        if paths:
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
            con.execute(
                f"create view {t} as select * from read_parquet([{listed}], "
                "union_by_name = true, hive_partitioning = false)"
            )
        else:
            con.register(f"_empty_{t}", contract.empty_table(t))
            con.execute(f"create view {t} as select * from _empty_{t}")
    return con


def _np(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    tbl = con.sql(sql).to_arrow_table()
    return {c: tbl[c].to_numpy() for c in tbl.column_names}


def _scatter(n: int, idx: np.ndarray, values: np.ndarray, fill: float | int = 0) -> np.ndarray:
    out = np.full(n, fill, dtype=np.asarray(values).dtype)
    out[idx] = values
    return out


def _ep(col: str) -> str:
    return f"epoch_us({col}) // 1000000"


def _old_end(con: duckdb.DuckDBPyConnection, gen: dict | None, truth_dir: Path) -> tuple[int, str]:
    if gen and gen.get("end"):
        return _sec(gen["end"]), GENERATION_FILE
    broken = truth_dir / "broken_rows.parquet"
    if broken.is_file():
        fut = pq.read_table(broken).filter(pc.equal(pc.field("reason_code"), "future_timestamp"))
    else:
        fut = pa.table(
            {"table_name": pa.array([], pa.string()), "record_key": pa.array([], pa.string())}
        )
    con.register("_future_keys", fut.select(["table_name", "record_key"]))
    parts = [f"select max({_ep('updated_at')}) from customers"]
    for table, ts, key in (
        ("web_events", "received_at", "event_id"),
        ("email_events", "received_at", "event_id"),
        ("orders", "updated_at", "order_id"),
    ):
        parts.append(
            f"select max({_ep(ts)}) from {table} where {key} is null or {key} not in "
            f"(select record_key from _future_keys where table_name = '{table}')"
        )
    values = [con.execute(p).fetchall()[0][0] for p in parts]
    values = [v for v in values if v is not None]
    if not values:
        raise ValueError("no timestamps in the raw data: nothing to continue")
    return int(max(values)), "newest timestamp in the raw data"


def _load_history(
    con: duckdb.DuckDBPyConnection,
    files: dict[str, list[Path]],
    o: int,
    truth_dir: Path,
    say,
) -> _History:
    ot = _sql_ts(o)
    web_types, mail_types = _in_list(WEB_TYPES), _in_list(EMAIL_TYPES)
    statuses = _in_list(contract.ORDER_STATUSES)

    # customers
    con.execute(
        f"""create temp table cust as
        select customer_id, (row_number() over (order by customer_id) - 1)::bigint as idx,
               coalesce(min({_ep("signup_at")}), 0) as signup,
               bool_or(email is null) as email_null
        from customers where customer_id is not null group by customer_id"""
    )
    ct = con.sql("select customer_id, signup, email_null from cust order by idx").to_arrow_table()
    n_c = ct.num_rows
    if n_c == 0:
        raise ValueError("the raw customers table is empty: nothing to continue")
    cust_ids = ct["customer_id"].combine_chunks()
    signup = ct["signup"].to_numpy()
    email_null = ct["email_null"].to_numpy(zero_copy_only=False).astype(bool)

    # products and their popularity
    pt = con.sql(
        """select product_id, coalesce(category, '') as category,
                  cast(round(price * 100) as bigint) as cents
           from products where product_id is not null and price > 0
           qualify row_number() over (partition by product_id
                                      order by updated_at desc nulls last, price) = 1
           order by category, cents, product_id"""
    ).to_arrow_table()
    if pt.num_rows == 0:
        raise ValueError("the raw products table has no valid product: nothing to continue")
    cat_arr = pt["category"].to_numpy(zero_copy_only=False)
    cat_names, cat = np.unique(cat_arr, return_inverse=True)
    cat_count = np.bincount(cat, minlength=len(cat_names)).astype(np.int64)
    cat_offset = np.cumsum(cat_count) - cat_count
    pos = (np.arange(len(cat)) - cat_offset[cat] + 0.5) / cat_count[cat]
    prod_ids = pt["product_id"].combine_chunks()
    pop = con.sql(
        """select product_id, count(*) as n from order_items
           where product_id is not null and quantity > 0 group by product_id"""
    ).to_arrow_table()
    weight = np.ones(len(cat))
    at = pc.index_in(pop["product_id"], value_set=prod_ids).to_numpy(zero_copy_only=False)
    ok = ~np.isnan(at.astype(np.float64))
    weight[at[ok].astype(np.int64)] += pop["n"].to_numpy()[ok]
    prod = _Products(
        ids=prod_ids,
        cents=pt["cents"].to_numpy(),
        cat=cat,
        cat_names=[str(c) for c in cat_names],
        cat_offset=cat_offset,
        cat_count=cat_count,
        pos=pos,
        pop_cdf=np.cumsum(weight) / weight.sum(),
    )
    con.register("_prod", pa.table({"product_id": prod_ids, "pidx": np.arange(len(cat))}))

    # orders (latest version per order) and lines
    con.execute(
        f"""create temp table ord as
        select order_id, min(customer_id) as customer_id, min({_ep("ordered_at")}) as t,
               max({{'u': updated_at, 's': status, 'c': currency}}) as latest
        from orders
        where order_id is not null and customer_id is not null and status in ({statuses})
          and ordered_at <= {ot}
        group by order_id"""
    )
    r = _np(
        con,
        """select c.idx, count(*) as n, max(o.t) as last
           from ord o join cust c using (customer_id) group by c.idx order by c.idx""",
    )
    n_orders = _scatter(n_c, r["idx"], r["n"])
    last_order = _scatter(n_c, r["idx"], r["last"], -1)
    r = _np(
        con,
        """select c.idx, count(*) as n_lines, count(*) filter (where i.discount > 0) as n_disc,
                  coalesce(sum(i.discount) filter (where i.discount > 0), 0)::double as d_sum,
                  coalesce(sum(i.quantity * i.unit_price) filter (where i.discount > 0), 0)::double
                    as d_base,
                  coalesce(max({'t': o.t, 'l': i.line_number, 'p': p.pidx}).p, -1) as fav
           from order_items i join ord o using (order_id) join cust c using (customer_id)
           join _prod p using (product_id)
           where i.quantity > 0 and i.unit_price >= 0
           group by c.idx order by c.idx""",
    )
    n_lines = _scatter(n_c, r["idx"], r["n_lines"])
    n_disc = _scatter(n_c, r["idx"], r["n_disc"])
    disc_frac = np.full(n_c, np.nan)
    has = r["d_base"] > 0
    disc_frac[r["idx"][has]] = r["d_sum"][has] / r["d_base"][has]
    fav_prod = _scatter(n_c, r["idx"], r["fav"].astype(np.int64), -1)
    recent_orders = con.sql(
        f"""select order_id, customer_id, t, latest.s as status, {_ep("latest.u")} as upd,
                   latest.c as currency
            from ord where t > {o - RECENT_ORDERS} order by order_id"""
    ).to_arrow_table()
    say(f"history: {n_c:,} customers, {int(n_orders.sum()):,} orders")

    # web visitors
    vt = con.sql(
        f"""select v.*, coalesce(a.idx, -1) as c1, coalesce(b.idx, -1) as c2 from (
              select anonymous_id, count(*) as n, count(customer_id) as n_id,
                     count(*) filter (where event_type = 'page_view') as n_pv,
                     count(*) filter (where event_type = 'add_to_cart') as n_add,
                     count(*) filter (where event_type = 'checkout_started') as n_chk,
                     count(*) filter (where event_type = 'purchase') as n_pur,
                     min({_ep("occurred_at")}) as first, max({_ep("occurred_at")}) as last,
                     min(customer_id) as cid1, max(customer_id) as cid2
              from web_events
              where anonymous_id is not null and event_type in ({web_types})
                and occurred_at <= {ot}
              group by anonymous_id) v
            left join cust a on a.customer_id = v.cid1
            left join cust b on b.customer_id = v.cid2
            order by v.anonymous_id"""
    ).to_arrow_table()
    anon_ids = vt["anonymous_id"].combine_chunks()
    v = {
        c: vt[c].to_numpy()
        for c in ("n", "n_id", "n_pv", "n_add", "n_chk", "n_pur", "first", "last", "c1", "c2")
    }
    say(f"history: {len(anon_ids):,} visitors, {int(v['n'].sum()):,} web events")

    # e-mail
    r = _np(
        con,
        f"""select c.idx,
                  count(*) filter (where event_type = 'sent') as sent,
                  count(*) filter (where event_type = 'delivered') as deliv,
                  count(*) filter (where event_type = 'open') as open,
                  count(*) filter (where event_type = 'click') as click,
                  count(*) filter (where event_type = 'bounce') as bounce
           from email_events join cust c using (customer_id)
           where event_type in ({mail_types}) and occurred_at <= {ot}
           group by c.idx order by c.idx""",
    )
    n_sent, n_deliv, n_open, n_click, n_bounce = (
        _scatter(n_c, r["idx"], r[k]) for k in ("sent", "deliv", "open", "click", "bounce")
    )
    ctab = con.sql(
        f"""select campaign_id, coalesce(campaign_name, '') as campaign_name,
                   coalesce({_ep("sent_at")}, 0) as t
            from email_campaigns where campaign_id is not null
            qualify row_number() over (partition by campaign_id order by sent_at desc nulls last,
                                       campaign_name) = 1
            order by campaign_id"""
    ).to_arrow_table()
    camp_ids = ctab["campaign_id"].combine_chunks()
    con.register("_camp", pa.table({"campaign_id": camp_ids, "cidx": np.arange(len(camp_ids))}))
    rd = _np(
        con,
        f"""select c.idx, m.cidx, r.d from (
              select customer_id, campaign_id,
                     max({_ep("occurred_at")}) filter (where event_type = 'delivered') as d,
                     count(*) filter (where event_type not in ('sent', 'delivered')) as n_after
              from email_events
              where occurred_at > {_sql_ts(o - RECENT_EMAIL)} and occurred_at <= {ot}
                and customer_id is not null and campaign_id is not null
                and event_type in ({mail_types})
              group by customer_id, campaign_id) r
            join cust c using (customer_id) join _camp m using (campaign_id)
            where r.d is not null and r.n_after = 0
            order by c.idx, m.cidx""",
    )
    r = _np(
        con,
        f"""select c.idx, latest.s = 'opted_in' as is_in, {_ep("latest.t")} as t from (
              select customer_id, max({{'t': changed_at, 's': status}}) as latest
              from consents where channel = 'email' and changed_at <= {ot}
                and status in ('opted_in', 'opted_out')
              group by customer_id) s join cust c using (customer_id) order by c.idx""",
    )
    cs_in = _scatter(n_c, r["idx"], r["is_in"].astype(bool), False)
    cs_time = _scatter(n_c, r["idx"], r["t"], 0)
    cc = con.execute(
        f"""select count(*) filter (where status = 'opted_out') as n_out,
                   count(*) filter (where status = 'opted_in' and source <> 'signup_form')
                     as n_in_later,
                   count(*) filter (where status = 'opted_in' and source = 'signup_form')
                     as n_in_signup,
                   count(distinct customer_id) filter (where status = 'opted_in') as n_ever_in
            from consents where channel = 'email' and changed_at <= {ot}"""
    ).fetchall()[0]
    consent_counts = dict(zip(("n_out", "n_in_later", "n_in_signup", "n_ever_in"), cc, strict=True))
    say(f"history: {int(n_sent.sum()):,} e-mails sent, {len(rd['idx']):,} recent unopened")

    # recent events that may be delivered again
    recent = {}
    for table, types in (("web_events", web_types), ("email_events", mail_types)):
        recent[table] = con.sql(
            f"""select * from {table}
                where received_at > {_sql_ts(o - REDELIVERY_WINDOW)} and received_at <= {ot}
                  and event_id is not null and event_type in ({types})
                  and occurred_at <= received_at
                qualify row_number() over (partition by event_id order by received_at) = 1
                order by event_id"""
        ).to_arrow_table()

    # id sequences
    def max_id(table: str, column: str, prefix: str) -> str | None:
        """Largest id; from the Parquet statistics when it has the generator's form, else
        the largest id of the most common PREFIX + number form (hand-made rows aside)."""
        known, value = _max_string(files[table], column)
        if known and (value is None or re.fullmatch(re.escape(prefix) + r"[0-9]+", value)):
            return value
        rows = con.execute(
            rf"""select trim(max(lpad(id, 64, ' '))) as top, count(*) as n from (
                   select {column} as id, regexp_extract({column}, '^(\D*)[0-9]+$', 1) as p
                   from {table} where regexp_full_match({column}, '\D*[0-9]+'))
                 group by p order by n desc, p limit 1"""
        ).fetchall()
        return rows[0][0] if rows else None

    seq = {
        "customer": _IdSeq.after(max_id("customers", "customer_id", "C"), "C", 7, "customer"),
        "order": _IdSeq.after(max_id("orders", "order_id", "ORD"), "ORD", 9, "order"),
        "web": _IdSeq.after(max_id("web_events", "event_id", "WE"), "WE", 10, "web event"),
        "email": _IdSeq.after(max_id("email_events", "event_id", "EE"), "EE", 10, "e-mail event"),
        "campaign": _IdSeq.after(
            max_id("email_campaigns", "campaign_id", "CMP"), "CMP", 5, "campaign"
        ),
    }
    truth_customers = truth_dir / "customers_truth.parquet"
    max_person = None
    if truth_customers.is_file():
        max_person = pc.max(pq.read_table(truth_customers, columns=["person_id"])["person_id"])
        max_person = max_person.as_py()
    seq["person"] = _IdSeq.after(max_person, "PSN", 7, "person")

    starts = [int(v["first"].min())] if len(v["first"]) else []
    first_order = con.execute("select min(t) from ord").fetchall()[0][0]
    if first_order is not None:
        starts.append(int(first_order))
    start = min(starts) if starts else o - 365 * DAY
    return _History(
        o=o,
        start=min(start, o - DAY),
        cust_ids=cust_ids,
        signup=signup,
        email_null=email_null,
        n_orders=n_orders,
        last_order=last_order,
        n_lines=n_lines,
        n_disc=n_disc,
        disc_frac=disc_frac,
        fav_prod=fav_prod,
        n_sent=n_sent,
        n_deliv=n_deliv,
        n_open=n_open,
        n_click=n_click,
        n_bounce=n_bounce,
        cs_in=cs_in,
        cs_time=cs_time,
        consent_counts=consent_counts,
        anon_ids=anon_ids,
        v=v,
        prod=prod,
        camp_ids=camp_ids,
        camp_names=[str(s) for s in ctab["campaign_name"].to_pylist()],
        camp_times=ctab["t"].to_numpy(),
        recent_deliv={"cust": rd["idx"], "camp": rd["cidx"], "deliv": rd["d"]},
        recent_orders=recent_orders,
        recent_web=recent["web_events"],
        recent_email=recent["email_events"],
        seq=seq,
    )


# ---------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------


def _campaign_calendar(rng: np.random.Generator, o: int, e: int) -> tuple[np.ndarray, list[int]]:
    """The generator's calendar: Tuesday newsletters, Friday sales, Sunday flash sales in
    late November / December. Returns (sent_at, kind) in (o, e]."""
    times, kinds = [], []
    for day in range(o // DAY, e // DAY + 1):
        d = _dt(day * DAY).date()
        dow, doy = d.weekday(), d.timetuple().tm_yday
        if dow == 1:
            kinds.append((0, 2, 3)[d.isocalendar()[1] % 3])
            times.append(day * DAY + 8 * HOUR)
        elif dow == 4:
            kinds.append(1)
            times.append(day * DAY + 15 * HOUR)
        elif dow == 6 and 320 <= doy <= 355:
            kinds.append(4)
            times.append(day * DAY + 10 * HOUR)
    t = np.array(times, dtype=np.int64) + rng.integers(0, 45 * 60, len(times))
    keep = (t > o) & (t <= e)
    return t[keep], [k for k, ok in zip(kinds, keep, strict=True) if ok]


@dataclass
class _Out:
    """The new rows, as pa.Tables per raw table, and the truth additions."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    truth: _Truth = field(default_factory=_Truth)
    notes: dict[str, int] = field(default_factory=dict)


class _Sim:
    def __init__(self, h: _History, rng: np.random.Generator, days: int) -> None:
        self.h, self.rng = h, rng
        self.o = h.o
        self.e = h.o + days * DAY
        self.w = days * DAY
        self.out = _Out()
        self.n_c = len(h.cust_ids)
        self.n_v = len(h.anon_ids)
        self.n_new_anon = 0
        self.span_days = max((self.o - h.start) / DAY, 1.0)

    def new_anon(self, k: int) -> np.ndarray:
        out = self.n_v + self.n_new_anon + np.arange(k, dtype=np.int64)
        self.n_new_anon += k
        return out

    # ---------------- customers ---------------------------------------------------------
    def new_customers(self) -> None:
        h, rng, o, e = self.h, self.rng, self.o, self.e
        signups = int(((h.signup > h.start) & (h.signup <= o)).sum())
        k = int(rng.poisson(signups / self.span_days * self.w / DAY))
        hi = max(e - 600, o + 1)
        t = np.sort(sample_times(rng, np.full(k, o + 1), np.full(k, hi)))
        self.k_new = k
        self.new_signup = t
        self.new_upd = np.minimum(t + rng.integers(0, 120, k), e)
        self.new_email_null = rng.random(k) < NULL_EMAIL_RATE
        self.new_cust_num = h.seq["customer"].numbers(k)
        self.new_person_num = h.seq["person"].numbers(k)
        self.all_ids = pa.concat_arrays([h.cust_ids, h.seq["customer"].ids(self.new_cust_num)])
        self.new_fav_cat = rng.integers(0, len(h.prod.cat_names), k)
        self.new_fav_pos = rng.random(k)
        self.new_dev = self.new_anon(k)
        cc = h.consent_counts
        share = cc["n_in_signup"] / max(self.n_c, 1)
        self.new_consent = ~self.new_email_null & (rng.random(k) < share)
        self.new_consent_t = np.minimum(t + rng.integers(2, 90, k), e)

        u = rng.random(k)
        gender = np.select([u < 0.5, u < 0.98, u < 0.99], [0, 1, 2], 3)
        fem = rng.integers(0, len(FIRST_NAMES_FEMALE), k)
        male = rng.integers(0, len(FIRST_NAMES_MALE), k)
        any_ = rng.random(k) < 0.5
        first_idx = np.where(
            (gender == 0) | ((gender >= 2) & any_), fem, len(FIRST_NAMES_FEMALE) + male
        )
        first = _take(pa.array(FIRST_NAMES_FEMALE + FIRST_NAMES_MALE), first_idx)
        last = _take(pa.array(LAST_NAMES), rng.integers(0, len(LAST_NAMES), k))
        number = pc.cast(pa.array(self.new_person_num), pa.string())
        email = pc.binary_join_element_wise(
            pc.utf8_lower(first), ".", pc.utf8_lower(last), number, "@example.com", ""
        )
        email = pc.if_else(pa.array(self.new_email_null), pa.nulls(k, pa.string()), email)
        city_w = np.array([c[2] for c in CITIES])
        city = np.searchsorted(np.cumsum(city_w) / city_w.sum(), rng.random(k), side="right")
        city = city.clip(0, len(CITIES) - 1)
        age_days = (np.clip(rng.normal(41, 13, k), 18, 85) * 365.25).astype(np.int64)
        birth = (e // DAY - age_days - rng.integers(0, 365, k)).astype(np.int32)
        new_rows = pa.table(
            {
                "customer_id": self.all_ids[self.n_c :],
                "email": email,
                "first_name": first,
                "last_name": last,
                "birth_date": pa.array(birth, pa.date32()),
                "gender": _take(pa.array(["female", "male", "diverse"]), gender, gender == 3),
                "city": _take(pa.array([c[0] for c in CITIES]), city),
                "country": _take(pa.array([c[1] for c in CITIES]), city),
                "signup_at": _ts(t),
                "updated_at": _ts(self.new_upd),
            }
        )
        self.out.truth.customers.append(
            pa.table(
                {
                    "customer_id": self.all_ids[self.n_c :],
                    "person_id": h.seq["person"].ids(self.new_person_num),
                    "persona": pa.array(["new_customer"] * k, pa.string()),
                    "is_duplicate_record": pa.array(np.zeros(k, bool)),
                }
            )
        )
        self.new_customer_rows = new_rows

    def customers_table(self, con: duckdb.DuckDBPyConnection) -> None:
        """New customers, profile updates of a few existing ones, null-key copies."""
        h, rng, o, e = self.h, self.rng, self.o, self.e
        p = 1 - (1 - PROFILE_UPDATE_RATE) ** (self.w / (365 * DAY))
        k = int(rng.binomial(self.n_c, p))
        pick = np.sort(rng.choice(self.n_c, k, replace=False)) if k else np.empty(0, np.int64)
        parts = [self.new_customer_rows]
        if k:
            con.register("_upd_ids", pa.table({"customer_id": h.cust_ids.take(pa.array(pick))}))
            cur = con.sql(
                """select c.* from customers c join _upd_ids using (customer_id)
                   qualify row_number() over (partition by customer_id
                       order by updated_at desc nulls last, city, email) = 1
                   order by customer_id"""
            ).to_arrow_table()
            names = [c[0] for c in CITIES]
            now = pc.index_in(cur["city"], value_set=pa.array(names)).to_numpy(zero_copy_only=False)
            now = np.nan_to_num(now.astype(np.float64), nan=0).astype(np.int64)
            city = (now + rng.integers(1, len(CITIES), len(now))) % len(CITIES)
            upd = sample_times(rng, np.full(len(now), o + 1), np.full(len(now), e))
            cur = cur.set_column(
                cur.schema.get_field_index("city"), "city", _take(pa.array(names), city)
            )
            cur = cur.set_column(
                cur.schema.get_field_index("country"),
                "country",
                _take(pa.array([c[1] for c in CITIES]), city),
            )
            cur = cur.set_column(cur.schema.get_field_index("updated_at"), "updated_at", _ts(upd))
            parts.append(
                cur.select(contract.SCHEMAS["customers"].names).cast(contract.SCHEMAS["customers"])
            )
            self.out.truth.dup("customers", cur["customer_id"].combine_chunks(), np.ones(len(now)))
        rows = pa.concat_tables(
            [
                t.select(contract.SCHEMAS["customers"].names).cast(contract.SCHEMAS["customers"])
                for t in parts
            ]
        )
        n = rows.num_rows
        nb = _n_bad(rng, n, 1)
        if nb:
            src = rng.integers(0, n, nb)
            bad = rows.take(pa.array(src))
            bad = bad.set_column(0, "customer_id", pa.nulls(nb, pa.string()))
            rows = pa.concat_tables([rows, bad])
            self.out.truth.broke("customers", pa.nulls(nb, pa.string()), "null_key")
        if rows.num_rows:
            upd = rows["updated_at"].cast(pa.int64()).to_numpy()
            rows = rows.take(pa.array(np.argsort(upd, kind="stable")))
        self.out.notes["profile_updates"] = k
        self.out.tables["customers"] = rows

    # ---------------- orders ------------------------------------------------------------
    def orders(self) -> None:
        h, rng, o, e = self.h, self.rng, self.o, self.e
        n_c = self.n_c
        active = np.maximum(h.signup, h.start)
        span = np.maximum((o - active) / DAY, 1.0)
        n = h.n_orders.astype(np.float64)
        rate = (n + 0.1) / np.maximum(span, 30.0)
        since = np.where(h.last_order >= 0, (o - h.last_order) / DAY, span)
        gap = span / np.maximum(n, 1)
        rate[(n >= 2) & (since > np.maximum(3 * gap, 60))] *= 0.1
        rate[(n == 1) & (since > 90)] *= 0.3
        k = rng.poisson(rate * self.w / DAY)
        o_cust = np.repeat(np.arange(n_c), k)
        o_time = sample_times(rng, np.full(len(o_cust), o + 1), np.full(len(o_cust), e))
        # new customers: about half order within days of signing up
        first = rng.random(self.k_new) < 0.5
        f_time = self.new_signup + 600 + rng.exponential(1.5 * DAY, self.k_new).astype(np.int64)
        first &= f_time <= e
        o_cust = np.r_[o_cust, n_c + np.flatnonzero(first)]
        o_time = np.r_[o_time, f_time[first]]
        order = np.argsort(o_time, kind="stable")
        o_cust, o_time = o_cust[order], o_time[order]
        n_o = len(o_cust)
        status = np.searchsorted(np.cumsum(STATUS_P), rng.random(n_o), side="right").clip(0, 2)
        delay = np.select(
            [status == 0, status == 1],
            [rng.integers(HOUR, 5 * DAY, n_o), rng.integers(300, 2 * DAY, n_o)],
            rng.integers(7 * DAY, 30 * DAY, n_o),
        )
        upd = o_time + delay
        over = upd > e
        upd[over] = o_time[over] + np.floor(
            rng.random(int(over.sum())) * (e - o_time[over] + 1)
        ).astype(np.int64)
        # lines
        is_old = o_cust < n_c
        oc = np.where(is_old, o_cust, 0)
        mean_lines = np.where(is_old, _shrink(h.n_lines[oc], h.n_orders[oc], 2.0, 2.0), 2.0)
        n_lines = np.clip(1 + rng.poisson(np.maximum(mean_lines - 1, 0)), 1, 5)
        l_order = np.repeat(np.arange(n_o), n_lines)
        l_num = _within(n_lines) + 1
        l_cust = o_cust[l_order]
        fav_cat, fav_pos = self.fav(l_cust)
        l_prod = h.prod.sample(rng, fav_cat, fav_pos)
        n_l = len(l_order)
        l_qty = 1 + (rng.random(n_l) < 0.15) + (rng.random(n_l) < 0.04)
        base = h.prod.cents[l_prod]
        drift = rng.random(n_l) < 0.2
        l_unit = np.where(drift, np.round(base * (1 + rng.normal(0, 0.03, n_l))), base)
        l_unit = np.maximum(l_unit.astype(np.int64), 1)
        lc = np.where(l_cust < n_c, l_cust, 0)
        old_l = l_cust < n_c
        p_disc = np.where(old_l, _shrink(h.n_disc[lc], h.n_lines[lc], 0.15, 5.0), 0.15)
        frac_mean = np.where(old_l & ~np.isnan(h.disc_frac[lc]), h.disc_frac[lc], 0.15)
        frac = np.clip(frac_mean * (0.7 + 0.6 * rng.random(n_l)), 0.02, 0.6)
        disc = rng.random(n_l) < p_disc
        l_disc = np.where(disc, np.round(l_qty * l_unit * frac), 0).astype(np.int64)
        l_null = rng.random(n_l) < NULL_PRODUCT_RATE
        self.o_cust, self.o_time, self.o_lines = o_cust, o_time, n_lines
        self.o_first_line = np.cumsum(n_lines) - n_lines
        self.l_prod = l_prod

        # ids
        nums = h.seq["order"].numbers(n_o)
        o_ids = h.seq["order"].ids(nums)
        status_vocab = pa.array(contract.ORDER_STATUSES)
        cust_col = _take(self.all_ids, o_cust)
        parts = {
            "order_id": [o_ids],
            "customer_id": [cust_col],
            "ordered_at": [o_time],
            "status": [_take(status_vocab, status)],
            "currency": [pa.array(np.full(n_o, "EUR"))],
            "updated_at": [upd],
        }
        # new versions of recent existing orders
        ro = h.recent_orders
        r_t = ro["t"].to_numpy()
        r_upd = ro["upd"].to_numpy()
        r_done = pc.equal(ro["status"], "completed").to_numpy(zero_copy_only=False)
        age = (o - r_t) / DAY
        days = self.w / DAY
        p_ret = np.where(r_done & (age >= 5), 1 - (1 - RETURN_PER_DAY) ** days, 0.0)
        p_can = np.where(r_done & (age <= 2), 1 - (1 - CANCEL_PER_DAY) ** days, 0.0)
        u = rng.random(len(r_t))
        new_status = np.where(u < p_ret, 2, np.where(u < p_ret + p_can, 1, -1))
        sel = np.flatnonzero(new_status >= 0)
        v_upd = sample_times(rng, np.maximum(r_upd[sel], o) + 1, np.full(len(sel), e))
        if len(sel):
            take = pa.array(sel)
            parts["order_id"].append(ro["order_id"].take(take).combine_chunks())
            parts["customer_id"].append(ro["customer_id"].take(take).combine_chunks())
            parts["ordered_at"].append(r_t[sel])
            parts["status"].append(_take(status_vocab, new_status[sel]))
            parts["currency"].append(ro["currency"].take(take).combine_chunks())
            parts["updated_at"].append(v_upd)
            self.out.truth.dup(
                "orders", ro["order_id"].take(take).combine_chunks(), np.ones(len(sel))
            )
        self.out.notes["order_versions"] = len(sel)
        # contract-breaking orders: null key copies, unknown status with a fresh id (no lines)
        nb_null, nb_stat = _n_bad(rng, n_o, 3), _n_bad(rng, n_o, 3)
        if n_o and nb_null + nb_stat:
            src = rng.integers(0, n_o, nb_null + nb_stat)
            bad_ids = h.seq["order"].ids(h.seq["order"].numbers(nb_stat))
            parts["order_id"].append(pa.concat_arrays([pa.nulls(nb_null, pa.string()), bad_ids]))
            parts["customer_id"].append(cust_col.take(pa.array(src)))
            parts["ordered_at"].append(o_time[src])
            parts["status"].append(
                pa.concat_arrays(
                    [
                        _take(status_vocab, status[src[:nb_null]]),
                        pa.array([BAD_ORDER_STATUS] * nb_stat, pa.string()),
                    ]
                )
            )
            parts["currency"].append(pa.array(np.full(nb_null + nb_stat, "EUR")))
            parts["updated_at"].append(upd[src])
            self.out.truth.broke("orders", pa.nulls(nb_null, pa.string()), "null_key")
            self.out.truth.broke("orders", bad_ids, "unknown_event_type")
        all_upd = np.concatenate(parts["updated_at"])
        if len(all_upd):
            _freshen(rng, all_upd[:n_o], o_time, e)
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
        self.out.tables["orders"] = table.take(pa.array(np.argsort(all_upd, kind="stable")))

        # order lines (+ null order_id copies, negative unit price extra lines)
        nb = _n_bad(rng, n_l, 2)
        oid = [_take(o_ids, l_order)]
        src = rng.integers(0, max(n_l, 1), nb) if n_l else np.empty(0, np.int64)
        neg = rng.choice(n_o, min(nb, n_o), replace=False) if n_o and nb else np.empty(0, np.int64)
        neg = np.sort(neg)
        neg_prod = rng.integers(0, len(h.prod.cents), len(neg))
        if len(src):
            oid.append(pa.nulls(len(src), pa.string()))
            self.out.truth.broke("order_items", pa.nulls(len(src), pa.string()), "null_key")
        if len(neg):
            oid.append(_take(o_ids, neg))
            keys = pc.binary_join_element_wise(
                _take(o_ids, neg), pc.cast(pa.array(n_lines[neg] + 1), pa.string()), "-"
            )
            self.out.truth.broke("order_items", keys, "negative_price")
        k = len(neg)
        prod = np.r_[l_prod, l_prod[src], neg_prod]
        null = np.r_[l_null, l_null[src], np.zeros(k, bool)]
        self.out.tables["order_items"] = pa.table(
            {
                "order_id": pa.concat_arrays(oid) if len(oid) > 1 else oid[0],
                "line_number": pa.array(
                    np.r_[l_num, l_num[src], n_lines[neg] + 1].astype(np.int32)
                ),
                "product_id": _take(h.prod.ids, prod, null),
                "quantity": pa.array(
                    np.r_[l_qty, l_qty[src], np.ones(k, np.int64)].astype(np.int32)
                ),
                "unit_price": _money(np.r_[l_unit, l_unit[src], -h.prod.cents[neg_prod]]),
                "discount": _money(np.r_[l_disc, l_disc[src], np.zeros(k, np.int64)]),
            }
        )

    def fav(self, cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Favourite (category, price position) of customers (-1: none), new ones included."""
        h = self.h
        old = (cust >= 0) & (cust < self.n_c)
        c = np.where(old, cust, 0)
        fp = h.fav_prod[c]
        has = old & (fp >= 0)
        fpc = np.maximum(fp, 0)
        cat = np.where(has, h.prod.cat[fpc], -1)
        pos = np.where(has, h.prod.pos[fpc], 0.5)
        new = cust >= self.n_c
        j = np.where(new, cust - self.n_c, 0)
        if self.k_new:
            cat = np.where(new, self.new_fav_cat[j], cat)
            pos = np.where(new, self.new_fav_pos[j], pos)
        return cat, pos

    # ---------------- e-mail ------------------------------------------------------------
    def email(self) -> None:
        h, rng, o, e, w = self.h, self.rng, self.o, self.e, self.w
        n_c, k_new = self.n_c, self.k_new
        N = n_c + k_new
        days = w / DAY
        cc = h.consent_counts
        # per-customer rates with a prior at the population average
        g_open = h.n_open.sum() / max(h.n_deliv.sum(), 1)
        g_click = h.n_click.sum() / max(h.n_open.sum(), 1)
        g_bounce = h.n_bounce.sum() / max(h.n_sent.sum(), 1)
        p_open = np.r_[_shrink(h.n_open, h.n_deliv, g_open, 3.0), np.full(k_new, g_open)]
        p_open = np.clip(p_open, 0, 0.98)
        p_click = np.r_[_shrink(h.n_click, h.n_open, g_click, 3.0), np.full(k_new, g_click)]
        p_click = np.clip(p_click, 0, 0.95)
        # audience share: e-mails received per campaign since the consent
        since = np.maximum(h.cs_time, h.start)
        camp_sorted = np.sort(h.camp_times[h.camp_times <= o])
        n_camp = len(camp_sorted) - np.searchsorted(camp_sorted, since, side="left")
        elig_hist = h.cs_in & (n_camp > 0)
        g_recv = h.n_sent[elig_hist].sum() / max(n_camp[elig_hist].sum(), 1)
        recv_p = np.r_[
            np.clip(_shrink(h.n_sent, n_camp.astype(np.float64), g_recv, 2.0), 0, 0.95),
            np.full(k_new, g_recv),
        ]
        cs_in = np.r_[h.cs_in, self.new_consent]
        cs_t = np.r_[h.cs_time, self.new_consent_t]
        email_ok = ~np.r_[h.email_null, self.new_email_null]

        # consent changes of existing customers
        h_out = cc["n_out"] / max(cc["n_ever_in"] * self.span_days, 1)
        h_in = cc["n_in_later"] / max(n_c * self.span_days, 1)
        opt_out = h.cs_in & ~h.email_null & (rng.random(n_c) < 1 - np.exp(-h_out * days))
        opt_in = ~h.cs_in & ~h.email_null & (rng.random(n_c) < 1 - np.exp(-h_in * days))
        t_out = np.full(N, e + 1)
        out_idx = np.flatnonzero(opt_out)
        t_out[out_idx] = sample_times(rng, np.full(len(out_idx), o + 1), np.full(len(out_idx), e))
        in_idx = np.flatnonzero(opt_in)
        t_in = sample_times(rng, np.full(len(in_idx), o + 1), np.full(len(in_idx), e))

        # new campaigns and their recipients
        c_times, c_kinds = _campaign_calendar(rng, o, e)
        n_new_c = len(c_times)
        c_nums = h.seq["campaign"].numbers(n_new_c)
        c_ids = h.seq["campaign"].ids(c_nums)
        c_names, c_subjects = [], []
        for t, kind in zip(c_times, c_kinds, strict=True):
            year, week, _ = _dt(int(t)).isocalendar()
            name, subs = CAMPAIGN_KINDS[kind]
            c_names.append(f"{name} {year}-W{week:02d}")
            c_subjects.append(subs[int(rng.integers(0, len(subs)))])
        self.camp_vocab = pa.concat_arrays([h.camp_ids, c_ids])
        self.camp_names = h.camp_names + c_names
        self.out.tables["email_campaigns"] = pa.table(
            {
                "campaign_id": c_ids,
                "campaign_name": pa.array(c_names, pa.string()),
                "subject": pa.array(c_subjects, pa.string()),
                "sent_at": _ts(c_times),
            }
        )
        n_old_c = len(h.camp_ids)
        r_person, r_camp = [], []
        for j, t in enumerate(c_times):
            sel = cs_in & email_ok & (cs_t < t) & (rng.random(N) < recv_p)
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
        bounced = rng.random(n_r) < g_bounce
        r_deliv = np.minimum(r_sent + rng.integers(1, 90, n_r), e)
        opened = ~bounced & (rng.random(n_r) < p_open[r_person])
        r_open = (
            r_deliv
            + np.minimum(rng.lognormal(OPEN_MU, OPEN_SIGMA, n_r), 14 * DAY).astype(np.int64)
            + 5
        )
        # opt-outs: 60 % through the link of their first delivered new e-mail
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
        clicked = opened & (rng.random(n_r) < p_click[r_person])
        r_click = r_open + 3 + rng.exponential(90, n_r).astype(np.int64)
        clicked &= r_click <= e
        spam = ~bounced & (rng.random(n_r) < 0.0008)
        r_spam = r_deliv + rng.integers(60, 3 * DAY, n_r)
        spam &= r_spam <= e
        is_unsub = np.zeros(n_r, bool)
        is_unsub[unsub] = True
        for mask in (bounced, opened, clicked, spam, is_unsub):
            mask &= stay
        self.out.notes["campaign_recipients"] = int(stay.sum())

        # opens of recent deliveries (and clicks after them)
        rd = h.recent_deliv
        rc, rk, rdl = rd["cust"], rd["camp"], rd["deliv"]
        a = (o - rdl).astype(np.float64)
        fa, fhi = _open_cdf(a), _open_cdf(a + w)
        flo = _open_cdf(np.maximum(a - OPEN_LOOKBACK, 0))
        p = p_open[rc]
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
        c_clicked = rng.random(len(c_sel)) < p_click[c_person]
        c_click = c_open + 3 + rng.exponential(90, len(c_sel)).astype(np.int64)
        c_clicked &= c_click <= e
        self.out.notes["late_opens"] = len(c_sel)

        parts = [
            (r_person[stay], r_camp[stay], SENT, r_sent[stay]),
            (
                r_person[stay & ~bounced],
                r_camp[stay & ~bounced],
                DELIVERED,
                r_deliv[stay & ~bounced],
            ),
            (r_person[bounced], r_camp[bounced], BOUNCE, r_deliv[bounced]),
            (r_person[opened], r_camp[opened], OPEN, r_open[opened]),
            (r_person[clicked], r_camp[clicked], CLICK, r_click[clicked]),
            (r_person[is_unsub], r_camp[is_unsub], UNSUBSCRIBE, t_out[r_person[is_unsub]]),
            (r_person[spam], r_camp[spam], SPAM, r_spam[spam]),
            (c_person, c_camp, OPEN, c_open),
            (c_person[c_clicked], c_camp[c_clicked], CLICK, c_click[c_clicked]),
        ]
        ee_p = np.concatenate([x[0] for x in parts])
        ee_c = np.concatenate([x[1] for x in parts])
        ee_type = np.concatenate([np.full(len(x[0]), x[2]) for x in parts])
        ee_t = np.minimum(np.concatenate([x[3] for x in parts]), e)
        ee_recv = _latency(self.rng, ee_t, e, 120)
        early = ee_t <= o
        ee_recv[early] = _arrive_late(rng, int(early.sum()), o, e)
        self.out.tables["email_events"] = self.event_table(
            "email_events",
            "email",
            {
                "customer_id": (self.all_ids, ee_p),
                "campaign_id": (self.camp_vocab, ee_c),
                "event_type": (pa.array(EMAIL_TYPES), ee_type),
            },
            ee_t,
            ee_recv,
            BAD_EMAIL_TYPE,
            h.recent_email,
        )
        # clicks that open a landing session
        click_p = np.r_[r_person[clicked], c_person[c_clicked]]
        click_c = np.r_[r_camp[clicked], c_camp[c_clicked]]
        click_t = np.r_[r_click[clicked], c_click[c_clicked]]
        land = (click_t > o) & (rng.random(len(click_t)) < 0.6)
        self.click_sessions = (click_p[land], click_c[land], click_t[land])

        # consents table
        link = via_link[:n_c][out_idx]
        cs_cust = np.r_[out_idx, in_idx, n_c + np.flatnonzero(self.new_consent)]
        cs_status = np.r_[
            np.ones(len(out_idx), np.int64),
            np.zeros(len(in_idx) + int(self.new_consent.sum()), np.int64),
        ]
        cs_time = np.r_[t_out[out_idx], t_in, self.new_consent_t[self.new_consent]]
        cs_src = np.r_[
            np.where(link, "unsubscribe_link", "preference_center"),
            np.where(rng.random(len(in_idx)) < 0.5, "preference_center", "checkout"),
            np.full(int(self.new_consent.sum()), "signup_form"),
        ]
        order = np.lexsort((cs_status, cs_time))
        self.out.tables["consents"] = pa.table(
            {
                "customer_id": _take(self.all_ids, cs_cust[order]),
                "channel": pa.array(np.full(len(cs_cust), "email")),
                "status": _take(pa.array(["opted_in", "opted_out"]), cs_status[order]),
                "changed_at": _ts(cs_time[order]),
                "source": pa.array(cs_src[order].astype(str), pa.string()),
            }
        )

    # ---------------- web ---------------------------------------------------------------
    def devices(self) -> np.ndarray:
        """The main anonymous_id (visitor index) of every customer, new ones included."""
        v, n_c = self.h.v, self.n_c
        c1, c2 = v["c1"], v["c2"]
        vv = np.r_[np.flatnonzero(c1 >= 0), np.flatnonzero((c2 >= 0) & (c2 != c1))]
        vc = np.r_[c1[c1 >= 0], c2[(c2 >= 0) & (c2 != c1)]]
        order = np.lexsort((vv, -v["n_id"][vv], vc))
        vv, vc = vv[order], vc[order]
        first = np.ones(len(vc), bool)
        first[1:] = vc[1:] != vc[:-1]
        dev = np.full(n_c + self.k_new, -1, dtype=np.int64)
        dev[vc[first]] = vv[first]
        dev[n_c:] = self.new_dev
        return dev

    def web(self) -> None:
        h, rng, o, e, w = self.h, self.rng, self.o, self.e, self.w
        v, n_v = h.v, self.n_v
        days = w / DAY
        # per-visitor behaviour from its events
        n = v["n"].astype(np.float64)
        n_pur = v["n_pur"].astype(np.float64)
        sess = np.maximum(np.maximum((v["n_pv"] - 0.2 * n) / 0.8, n / 8.0), 1.0)
        browse = np.maximum(sess - n_pur, 0.25)
        rest = np.maximum(n - 5.0 * n_pur, 1.0)
        v_len = np.clip(rest / browse, 1.5, 8.0)
        adds = np.maximum(v["n_add"] - 2.2 * n_pur, 0)
        g_add = adds.sum() / max(rest.sum(), 1.0)
        v_add = np.clip(_shrink(adds, rest, g_add, 10.0), 0.005, 0.35)
        # abandoned checkouts (checkout_started without purchase) per browse session
        aband = np.maximum(v["n_chk"] - n_pur, 0)
        g_ab = aband.sum() / max(browse.sum(), 1.0)
        v_abandon = np.clip(_shrink(aband, browse, g_ab, 5.0), 0, 0.5)
        v_ident = (v["n_id"] + 1.0) / (n + 2.0)
        c1, c2 = v["c1"], v["c2"]
        known = c1 >= 0
        active = np.where(known, np.maximum(h.signup[np.maximum(c1, 0)], h.start), v["first"])
        span = np.maximum((o - active) / DAY, 1.0)
        rate = np.where(known, browse / np.maximum(span, 14.0), 0.0)
        since = (o - v["last"]) / DAY
        rate[(browse >= 2) & (since > np.maximum(3 * span / browse, 45))] *= 0.1
        k = rng.poisson(rate * days)
        b_vis = np.repeat(np.arange(n_v), k)
        # anonymous-only traffic: some returning visitors, mostly new ones
        n_s = int(rng.poisson(browse[~known].sum() / self.span_days * days))
        back = np.flatnonzero(~known & (v["last"] > o - 30 * DAY))
        ret = rng.random(n_s) >= NEW_STRANGER_SHARE if len(back) else np.zeros(n_s, bool)
        ret_vis = back[rng.integers(0, max(len(back), 1), int(ret.sum()))]
        new_vis = self.new_anon(n_s - int(ret.sum()))
        s_vis = np.r_[b_vis, ret_vis, new_vis]
        nb = len(s_vis)
        is_new_vis = s_vis >= n_v
        vi = np.where(is_new_vis, 0, s_vis)
        pick2 = rng.random(nb) < 0.5
        b_cust = np.where(is_new_vis, -1, np.where(pick2, c2[vi], c1[vi]))
        b_ident = ~is_new_vis & (rng.random(nb) < v_ident[vi]) & (b_cust >= 0)
        b_t = sample_times(rng, np.full(nb, o + 1), np.full(nb, e))
        b_len = 1 + rng.poisson(np.where(is_new_vis, 3.5, v_len[vi]) - 1)
        b_add = np.where(is_new_vis, 0.05, v_add[vi])
        b_ab = rng.random(nb) < np.where(is_new_vis, 0.0, v_abandon[vi])
        b_len = np.where(b_ab, np.maximum(b_len, 3), b_len)
        b_fc, b_fp = self.fav(np.where(is_new_vis, -1, c1[vi]))
        offline = rng.random(nb) < OFFLINE_SESSION_RATE
        b_off = np.where(
            offline,
            np.minimum(rng.lognormal(np.log(8 * HOUR), 1.2, nb), 10 * DAY).astype(np.int64) + 60,
            0,
        )

        dev = self.devices()
        # purchase sessions, one per new order, ending at ordered_at
        o_cust, n_o = self.o_cust, len(self.o_cust)
        click_p, click_c, click_t = self.click_sessions
        need = np.unique(np.r_[o_cust, click_p])
        need = need[dev[need] < 0]
        dev[need] = self.new_anon(len(need))
        k_pre = np.minimum(rng.poisson(0.8, n_o), 4)
        p_len = k_pre + self.o_lines + 2
        p_from = np.where(rng.random(n_o) < 0.3, k_pre + self.o_lines, 0)
        p_fc, p_fp = self.fav(o_cust)
        # landing sessions after e-mail clicks
        nc = len(click_p)
        l_t = click_t + rng.integers(2, 40, nc)
        ok = l_t <= e
        click_p, click_c, l_t = click_p[ok], click_c[ok], l_t[ok]
        nc = len(click_p)
        l_len = 1 + rng.poisson(1.5, nc)
        l_from = np.where(rng.random(nc) < 0.9, 0, 99)
        l_fc, l_fp = self.fav(click_p)
        # sign-up sessions of new customers, identified at the last event (the sign-up)
        ns = self.k_new
        s_len = 2 + rng.poisson(1.0, ns)
        s_fc, s_fp = self.fav(self.n_c + np.arange(ns))

        S_kind = _cat(
            np.full(nb, BROWSE),
            np.full(n_o, PURCHASE_S),
            np.full(nc, CLICK_S),
            np.full(ns, SIGNUP_S),
        )
        S_t = _cat(b_t, self.o_time, l_t, self.new_signup)
        S_len = _cat(b_len, p_len, l_len, s_len).astype(np.int64)
        S_anon = _cat(s_vis, dev[o_cust], dev[click_p], self.new_dev)
        S_cust = _cat(b_cust, o_cust, click_p, self.n_c + np.arange(ns))
        S_from = _cat(np.where(b_ident, 0, 99), p_from, l_from, s_len - 1)
        S_add = _cat(
            b_add,
            np.zeros(n_o),
            np.full(nc, g_add),
            np.zeros(ns),
        )
        S_ab = _cat(b_ab, np.zeros(n_o + nc + ns, bool))
        S_fc = _cat(b_fc, p_fc, l_fc, s_fc)
        S_fp = _cat(b_fp, p_fp, l_fp, s_fp)
        S_k = _cat(np.zeros(nb, np.int64), k_pre, np.zeros(nc + ns, np.int64))
        S_order = _cat(np.full(nb, -1), np.arange(n_o), np.full(nc + ns, -1))
        S_camp = _cat(np.full(nb + n_o, -1), click_c, np.full(ns, -1))
        S_off = _cat(b_off, np.zeros(n_o + nc + ns, np.int64))

        # events
        e_s = np.repeat(np.arange(len(S_len)), S_len)
        pos = _within(S_len)
        n_e = len(e_s)
        kind = S_kind[e_s]
        is_pu = kind == PURCHASE_S
        e_k = S_k[e_s]
        e_len = S_len[e_s]
        gap = rng.exponential(60.0, n_e).astype(np.int64) + 4
        gap = np.minimum(gap, np.where(is_pu & (pos >= e_k), 240, 600))
        gap[pos == 0] = 0
        cs = np.cumsum(gap)
        first = np.cumsum(S_len) - S_len
        rel = cs - cs[first][e_s]
        total = rel[first + S_len - 1]
        anchored = (S_kind == PURCHASE_S) | (S_kind == SIGNUP_S)
        start = np.where(anchored, S_t - total, S_t)
        e_t = start[e_s] + rel

        u = rng.random(n_e)
        # browsing: page_view 20 %, search 12 %, add_to_cart by the visitor's propensity,
        # remove_from_cart at 30 % of that, product_view the rest (as in the generator)
        ea = S_add[e_s]
        t_search = 1.0 - 0.12 - 1.3 * ea
        e_type = np.select(
            [u < 0.2, u < t_search, u < t_search + 0.12, u < t_search + 0.12 + ea],
            [PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD],
            REMOVE,
        )
        # abandoned checkouts: view, add to cart, start the checkout, leave
        ab = S_ab[e_s]
        e_type[ab & (pos == e_len - 3)] = PRODUCT_VIEW
        e_type[ab & (pos == e_len - 2)] = ADD
        e_type[ab & (pos == e_len - 1)] = CHECKOUT
        pre = is_pu & (pos < e_k)
        e_type[pre] = np.searchsorted([0.2, 0.85, 1.0], u[pre], side="right").clip(0, 2)
        e_type[is_pu & (pos >= e_k)] = ADD
        e_type[is_pu & (pos == e_len - 2)] = CHECKOUT
        e_type[is_pu & (pos == e_len - 1)] = PURCHASE
        p0 = pos == 0
        e_type[p0] = np.where(is_pu[p0] & (e_k[p0] == 0), ADD, PAGE_VIEW)
        signup_last = (kind == SIGNUP_S) & (pos == e_len - 1)
        e_type[signup_last] = PAGE_VIEW
        add_idx, has_add = _ffill(e_type == ADD, e_s)
        e_type[(e_type == REMOVE) & ~has_add] = PRODUCT_VIEW
        e_type[(e_type == CHECKOUT) & ~has_add] = PAGE_VIEW

        prod = h.prod
        e_prod = np.full(n_e, -1, dtype=np.int64)
        needp = np.isin(e_type, (PRODUCT_VIEW, ADD, REMOVE))
        e_prod[needp] = prod.sample(rng, S_fc[e_s[needp]], S_fp[e_s[needp]])
        pu_add = is_pu & (e_type == ADD)
        e_order = S_order[e_s]
        line = self.o_first_line[e_order[pu_add]] + (pos[pu_add] - e_k[pu_add])
        e_prod[pu_add] = self.l_prod[line]
        pv = np.flatnonzero(pre & (e_type == PRODUCT_VIEW) & (rng.random(n_e) < 0.6))
        oo = e_order[pv]
        e_prod[pv] = self.l_prod[
            self.o_first_line[oo]
            + np.floor(rng.random(len(pv)) * self.o_lines[oo]).astype(np.int64)
        ]
        view_idx, has_view = _ffill(e_type == PRODUCT_VIEW, e_s)
        b_add_ = ~is_pu & (e_type == ADD) & has_view
        e_prod[b_add_] = e_prod[view_idx[b_add_]]
        add_idx, has_add = _ffill(e_type == ADD, e_s)
        rem = (e_type == REMOVE) & has_add
        e_prod[rem] = e_prod[add_idx[rem]]

        # urls
        n_cat = len(prod.cat_names)
        url_cat = len(STATIC)
        url_search = url_cat + n_cat
        url_product = url_search + len(SEARCH_TERMS)
        url_landing = url_product + len(prod.cents)
        landing = [
            ("/sale" if n.startswith(("Weekend Sale", "Flash Sale")) else "/new-arrivals")
            + "?utm_source=newsletter&utm_medium=email&utm_campaign="
            for n in self.camp_names
        ]
        urls = pa.concat_arrays(
            [
                pa.array(list(STATIC), pa.string()),
                pa.array(["/c/" + c.replace("_", "-") for c in prod.cat_names], pa.string()),
                pa.array(["/search?q=" + t.replace(" ", "+") for t in SEARCH_TERMS], pa.string()),
                pc.binary_join_element_wise("/p/", prod.ids, ""),
                pc.binary_join_element_wise(pa.array(landing, pa.string()), self.camp_vocab, ""),
            ]
        )
        url = np.full(n_e, URL_STATIC["/"], dtype=np.int64)
        pvw = np.flatnonzero(e_type == PAGE_VIEW)
        uu = rng.random(len(pvw))
        static_pick = np.searchsorted(np.cumsum(PAGE_W) / PAGE_W.sum(), uu / 0.7, side="right")
        fc = S_fc[e_s[pvw]]
        fc = np.where(fc >= 0, fc, rng.integers(0, n_cat, len(pvw)))
        url[pvw] = np.where(uu < 0.7, np.minimum(static_pick, len(PAGE_W) - 1), url_cat + fc)
        land = (kind == CLICK_S) & p0
        url[land] = url_landing + S_camp[e_s[land]]
        srch = e_type == SEARCH
        url[srch] = url_search + rng.integers(0, len(SEARCH_TERMS), int(srch.sum()))
        has_p = e_prod >= 0
        url[has_p] = url_product + e_prod[has_p]
        url[e_type == REMOVE] = URL_STATIC["/cart"]
        url[e_type == CHECKOUT] = URL_STATIC["/checkout"]
        url[e_type == PURCHASE] = URL_STATIC["/checkout/confirmation"]
        url[signup_last] = URL_STATIC["/account"]

        # arrival: offline sessions arrive when the device is back online
        keep = e_t <= e
        e_s, e_t, e_type, e_prod, url, pos = (a[keep] for a in (e_s, e_t, e_type, e_prod, url, pos))
        off = S_off[e_s]
        occurred = e_t - off
        received = _latency(rng, occurred, e, 3)
        is_off = off > 0
        received[is_off] = np.minimum(e_t[is_off] + rng.integers(0, 4, int(is_off.sum())), e)
        early = (occurred <= o) & ~is_off
        received[early] = _arrive_late(rng, int(early.sum()), o, e)
        e_cust = np.where(pos >= S_from[e_s], S_cust[e_s], -1)
        e_anon = S_anon[e_s]
        self.out.notes["web_sessions"] = len(S_len)
        self.out.notes["offline_sessions"] = int(offline.sum())

        # new anonymous_ids: random 16-hex ids that exist nowhere yet
        salt = int(rng.integers(0, 1 << 63))
        for _ in range(20):
            new_ids = _hex_ids(np.arange(self.n_new_anon), salt)
            if not pc.any(pc.is_in(h.anon_ids, value_set=new_ids)).as_py():
                break
            salt = int(rng.integers(0, 1 << 63))
        else:  # pragma: no cover - 64-bit collisions
            raise RuntimeError("could not draw unused anonymous_ids")
        anon_vocab = pa.concat_arrays([h.anon_ids, new_ids])
        self.out.tables["web_events"] = self.event_table(
            "web_events",
            "web",
            {
                "anonymous_id": (anon_vocab, e_anon),
                "customer_id": (self.all_ids, e_cust),
                "event_type": (pa.array(WEB_TYPES), e_type),
                "product_id": (prod.ids, e_prod),
                "page_url": (urls, url),
            },
            occurred,
            received,
            BAD_WEB_TYPE,
            h.recent_web,
        )

    # ---------------- event tables: duplicates, broken rows, re-deliveries ---------------
    def event_table(
        self,
        table: str,
        counter: str,
        cols: dict[str, tuple[pa.Array, np.ndarray]],
        occurred: np.ndarray,
        received: np.ndarray,
        bad_type: str,
        recent: pa.Table,
    ) -> pa.Table:
        rng, o, e, truth = self.rng, self.o, self.e, self.out.truth
        schema = contract.SCHEMAS[table]
        seq = self.h.seq[counter]
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
        nb_null, nb_type = _n_bad(rng, n, 3), _n_bad(rng, n, 3)
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
        data = pa.table(out).select(schema.names).cast(schema)
        # pre-existing events delivered once more
        k = min(recent.num_rows, int(rng.binomial(n, EVENT_DUPLICATE_RATE * REDELIVERY_SHARE)))
        if k:
            pick = np.sort(rng.choice(recent.num_rows, k, replace=False))
            old = recent.take(pa.array(pick)).select(schema.names).cast(schema)
            old = old.set_column(
                schema.get_field_index("received_at"),
                "received_at",
                _ts(_arrive_late(rng, k, o, e)),
            )
            truth.dup(table, old["event_id"].combine_chunks(), np.ones(k))
            data = pa.concat_tables([data, old])
        self.out.notes[f"{table}_redelivered"] = k
        self.out.notes[f"{table}_duplicates"] = int(copies.sum())
        recv = data["received_at"].combine_chunks().cast(pa.int64()).to_numpy()
        return data.take(pa.array(np.argsort(recv, kind="stable")))


# ---------------------------------------------------------------------------------------
# truth files and generation.json
# ---------------------------------------------------------------------------------------


def _future_rows_now_valid(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, o: int, e: int
) -> pa.Table:
    """(table_name, record_key) of generator-planted future_timestamp rows whose timestamp
    is now inside the window: at the new end they are ordinary rows."""
    path = truth_dir / "broken_rows.parquet"
    empty = pa.table(
        {"table_name": pa.array([], pa.string()), "record_key": pa.array([], pa.string())}
    )
    if not path.is_file():
        return empty
    fut = pq.read_table(path).filter(pc.equal(pc.field("reason_code"), "future_timestamp"))
    if fut.num_rows == 0:
        return empty
    con.register("_future_now", fut.select(["table_name", "record_key"]))
    parts = []
    for table, ts, key in (
        ("web_events", "occurred_at", "event_id"),
        ("email_events", "occurred_at", "event_id"),
        ("orders", "ordered_at", "order_id"),
    ):
        parts.append(
            f"""select distinct '{table}' as table_name, {key} as record_key from {table}
                where {ts} > {_sql_ts(o)} and {ts} <= {_sql_ts(e)} and {key} in
                  (select record_key from _future_now where table_name = '{table}')"""
        )
    return con.sql(" union all ".join(parts) + " order by 1, 2").to_arrow_table()


def _write_truth(truth_dir: Path, truth: _Truth, now_valid: pa.Table) -> dict[str, int]:
    truth_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    path = truth_dir / "broken_rows.parquet"
    old = pq.read_table(path) if path.is_file() else None
    parts = [old] if old is not None else []
    if old is not None and now_valid.num_rows:
        key = pc.binary_join_element_wise(old["table_name"], old["record_key"], "\x00")
        drop = pc.binary_join_element_wise(now_valid["table_name"], now_valid["record_key"], "\x00")
        hit = pc.and_(
            pc.is_in(key, value_set=drop), pc.equal(old["reason_code"], "future_timestamp")
        )
        parts = [old.filter(pc.invert(pc.fill_null(hit, False)))]
    if truth.broken or old is not None:
        table = pa.concat_tables([*parts, *truth.broken], promote_options="default")
        pq.write_table(table, path)
    counts["broken_rows"] = sum(t.num_rows for t in truth.broken)
    counts["future_rows_now_valid"] = now_valid.num_rows

    path = truth_dir / "planted_duplicates.parquet"
    old = pq.read_table(path) if path.is_file() else None
    merged = _merge_duplicates(old, truth.dups)
    if merged is not None:
        pq.write_table(merged, path)
    counts["duplicated_keys"] = sum(t.num_rows for t in truth.dups)

    path = truth_dir / "customers_truth.parquet"
    if truth.customers and path.is_file():
        old = pq.read_table(path)
        new = pa.concat_tables([t.cast(old.schema) for t in truth.customers])
        pq.write_table(pa.concat_tables([old, new]), path)
    counts["new_customers"] = sum(t.num_rows for t in truth.customers)
    return counts


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------


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
    con = _connect(files)
    o, end_from = _old_end(con, gen, truth_dir)
    e = o + days * DAY
    part = part_name(_dt(e))
    for t in contract.TABLES:
        if (raw_dir / t / f"{part}.parquet").exists():
            raise ValueError(f"{raw_dir / t / part}.parquet exists: this append was done already")
    say(f"{days} day(s) after {_dt(o).isoformat()} ({end_from}) until {_dt(e).isoformat()}")

    h = _load_history(con, files, o, truth_dir, say)
    seed_u = int(seed) % (1 << 64)
    rng = np.random.default_rng(np.random.SeedSequence([seed_u, o, days, 0xA99E]))
    sim = _Sim(h, rng, days)
    sim.new_customers()
    sim.orders()
    sim.email()
    sim.web()
    sim.customers_table(con)
    out = sim.out
    now_valid = _future_rows_now_valid(con, truth_dir, o, e)
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
    counts = _write_truth(truth_dir, out.truth, now_valid)

    gen = dict(gen) if gen else {"customers": None, "days": None, "seed": None}
    gen.setdefault("end", _dt(o).isoformat())
    gen.setdefault("appends", [])
    gen["appends"].append(
        {
            "from": _dt(o).isoformat(),
            "end": _dt(e).isoformat(),
            "days": days,
            "seed": seed,
            "part": part,
            "old_end_from": end_from,
            "rows": rows,
            "truth": counts,
        }
    )
    gen["end"] = _dt(e).isoformat()
    gen_path.write_text(json.dumps(gen, indent=2) + "\n")
    say(
        f"truth in {truth_dir}: +{counts['broken_rows']:,} broken rows, "
        f"+{counts['duplicated_keys']:,} duplicated keys, +{counts['new_customers']:,} customers"
    )
    return rows
