"""What is already in the raw folder, condensed to per-customer and per-visitor counts.

One DuckDB pass per table; the simulation turns the counts into rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation import contract
from segmentation.append.common import EMAIL_TYPES, WEB_TYPES, in_list, sql_ts
from segmentation.append.db import ep, query_np, scatter
from segmentation.append.ids import IdSeq, id_sequences
from segmentation.generate import DAY

RECENT_EMAIL = 14 * DAY  # deliveries this recent may still be opened
RECENT_ORDERS = 30 * DAY  # orders this recent may still change status
REDELIVERY_WINDOW = DAY  # pre-existing events re-delivered come from the last day


@dataclass
class Products:
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
class History:
    o: int  # old end, epoch seconds
    start: int  # first activity in the data
    # customers, sorted by customer_id (their index is the customer index everywhere)
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
    prod: Products
    camp_ids: pa.Array
    camp_names: list[str]
    camp_times: np.ndarray
    # recent state
    recent_deliv: dict[str, np.ndarray]
    recent_orders: pa.Table
    recent_web: pa.Table
    recent_email: pa.Table
    # id sequences
    seq: dict[str, IdSeq]


def _customers(con: duckdb.DuckDBPyConnection) -> dict:
    """Creates the temp table ``cust`` (customer_id -> customer index)."""
    con.execute(
        f"""create temp table cust as
        select customer_id, (row_number() over (order by customer_id) - 1)::bigint as idx,
               coalesce(min({ep("signup_at")}), 0) as signup,
               bool_or(email is null) as email_null
        from customers where customer_id is not null group by customer_id"""
    )
    ct = con.sql("select customer_id, signup, email_null from cust order by idx").to_arrow_table()
    if ct.num_rows == 0:
        raise ValueError("the raw customers table is empty: nothing to continue")
    return {
        "cust_ids": ct["customer_id"].combine_chunks(),
        "signup": ct["signup"].to_numpy(),
        "email_null": ct["email_null"].to_numpy(zero_copy_only=False).astype(bool),
    }


def _products(con: duckdb.DuckDBPyConnection) -> Products:
    """Latest version of every valid product, popularity from the order lines. Registers
    ``_prod`` (product_id -> product index)."""
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
    con.register("_prod", pa.table({"product_id": prod_ids, "pidx": np.arange(len(cat))}))
    return Products(
        ids=prod_ids,
        cents=pt["cents"].to_numpy(),
        cat=cat,
        cat_names=[str(c) for c in cat_names],
        cat_offset=cat_offset,
        cat_count=cat_count,
        pos=pos,
        pop_cdf=np.cumsum(weight) / weight.sum(),
    )


def _orders(con: duckdb.DuckDBPyConnection, n_c: int, o: int) -> dict:
    """Order counts, lines, discounts and the favourite product per customer; orders that
    may still change status. Creates the temp table ``ord`` (latest version per order)."""
    statuses = in_list(contract.ORDER_STATUSES)
    con.execute(
        f"""create temp table ord as
        select order_id, min(customer_id) as customer_id, min({ep("ordered_at")}) as t,
               max({{'u': updated_at, 's': status, 'c': currency}}) as latest
        from orders
        where order_id is not null and customer_id is not null and status in ({statuses})
          and ordered_at <= {sql_ts(o)}
        group by order_id"""
    )
    r = query_np(
        con,
        """select c.idx, count(*) as n, max(o.t) as last
           from ord o join cust c using (customer_id) group by c.idx order by c.idx""",
    )
    out = {"n_orders": scatter(n_c, r["idx"], r["n"])}
    out["last_order"] = scatter(n_c, r["idx"], r["last"], -1)
    r = query_np(
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
    out["n_lines"] = scatter(n_c, r["idx"], r["n_lines"])
    out["n_disc"] = scatter(n_c, r["idx"], r["n_disc"])
    disc_frac = np.full(n_c, np.nan)
    has = r["d_base"] > 0
    disc_frac[r["idx"][has]] = r["d_sum"][has] / r["d_base"][has]
    out["disc_frac"] = disc_frac
    out["fav_prod"] = scatter(n_c, r["idx"], r["fav"].astype(np.int64), -1)
    out["recent_orders"] = con.sql(
        f"""select order_id, customer_id, t, latest.s as status, {ep("latest.u")} as upd,
                   latest.c as currency
            from ord where t > {o - RECENT_ORDERS} order by order_id"""
    ).to_arrow_table()
    return out


_VISITOR_COUNTS = ("n", "n_id", "n_pv", "n_add", "n_chk", "n_pur", "first", "last", "c1", "c2")


def _visitors(con: duckdb.DuckDBPyConnection, o: int) -> dict:
    """Per anonymous_id: event counts by type, first/last event and up to two customers."""
    vt = con.sql(
        f"""select v.*, coalesce(a.idx, -1) as c1, coalesce(b.idx, -1) as c2 from (
              select anonymous_id, count(*) as n, count(customer_id) as n_id,
                     count(*) filter (where event_type = 'page_view') as n_pv,
                     count(*) filter (where event_type = 'add_to_cart') as n_add,
                     count(*) filter (where event_type = 'checkout_started') as n_chk,
                     count(*) filter (where event_type = 'purchase') as n_pur,
                     min({ep("occurred_at")}) as first, max({ep("occurred_at")}) as last,
                     min(customer_id) as cid1, max(customer_id) as cid2
              from web_events
              where anonymous_id is not null and event_type in ({in_list(WEB_TYPES)})
                and occurred_at <= {sql_ts(o)}
              group by anonymous_id) v
            left join cust a on a.customer_id = v.cid1
            left join cust b on b.customer_id = v.cid2
            order by v.anonymous_id"""
    ).to_arrow_table()
    return {
        "anon_ids": vt["anonymous_id"].combine_chunks(),
        "v": {c: vt[c].to_numpy() for c in _VISITOR_COUNTS},
    }


def _email(con: duckdb.DuckDBPyConnection, n_c: int, o: int) -> dict:
    """E-mail counts per customer, campaigns, recent unopened deliveries, consents.
    Registers ``_camp`` (campaign_id -> campaign index)."""
    ot, mail_types = sql_ts(o), in_list(EMAIL_TYPES)
    r = query_np(
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
    out = {
        f"n_{k}": scatter(n_c, r["idx"], r[k]) for k in ("sent", "deliv", "open", "click", "bounce")
    }
    ctab = con.sql(
        f"""select campaign_id, coalesce(campaign_name, '') as campaign_name,
                   coalesce({ep("sent_at")}, 0) as t
            from email_campaigns where campaign_id is not null
            qualify row_number() over (partition by campaign_id order by sent_at desc nulls last,
                                       campaign_name) = 1
            order by campaign_id"""
    ).to_arrow_table()
    camp_ids = ctab["campaign_id"].combine_chunks()
    out["camp_ids"] = camp_ids
    out["camp_names"] = [str(s) for s in ctab["campaign_name"].to_pylist()]
    out["camp_times"] = ctab["t"].to_numpy()
    con.register("_camp", pa.table({"campaign_id": camp_ids, "cidx": np.arange(len(camp_ids))}))
    rd = query_np(
        con,
        f"""select c.idx, m.cidx, r.d from (
              select customer_id, campaign_id,
                     max({ep("occurred_at")}) filter (where event_type = 'delivered') as d,
                     count(*) filter (where event_type not in ('sent', 'delivered')) as n_after
              from email_events
              where occurred_at > {sql_ts(o - RECENT_EMAIL)} and occurred_at <= {ot}
                and customer_id is not null and campaign_id is not null
                and event_type in ({mail_types})
              group by customer_id, campaign_id) r
            join cust c using (customer_id) join _camp m using (campaign_id)
            where r.d is not null and r.n_after = 0
            order by c.idx, m.cidx""",
    )
    out["recent_deliv"] = {"cust": rd["idx"], "camp": rd["cidx"], "deliv": rd["d"]}
    r = query_np(
        con,
        f"""select c.idx, latest.s = 'opted_in' as is_in, {ep("latest.t")} as t from (
              select customer_id, max({{'t': changed_at, 's': status}}) as latest
              from consents where channel = 'email' and changed_at <= {ot}
                and status in ('opted_in', 'opted_out')
              group by customer_id) s join cust c using (customer_id) order by c.idx""",
    )
    out["cs_in"] = scatter(n_c, r["idx"], r["is_in"].astype(bool), False)
    out["cs_time"] = scatter(n_c, r["idx"], r["t"], 0)
    cc = con.execute(
        f"""select count(*) filter (where status = 'opted_out') as n_out,
                   count(*) filter (where status = 'opted_in' and source <> 'signup_form')
                     as n_in_later,
                   count(*) filter (where status = 'opted_in' and source = 'signup_form')
                     as n_in_signup,
                   count(distinct customer_id) filter (where status = 'opted_in') as n_ever_in
            from consents where channel = 'email' and changed_at <= {ot}"""
    ).fetchall()[0]
    out["consent_counts"] = dict(
        zip(("n_out", "n_in_later", "n_in_signup", "n_ever_in"), cc, strict=True)
    )
    return out


def _recent_events(con: duckdb.DuckDBPyConnection, o: int) -> dict:
    """Valid events received in the last day: candidates to be delivered once more."""
    out = {}
    for table, types, name in (
        ("web_events", WEB_TYPES, "recent_web"),
        ("email_events", EMAIL_TYPES, "recent_email"),
    ):
        out[name] = con.sql(
            f"""select * from {table}
                where received_at > {sql_ts(o - REDELIVERY_WINDOW)} and received_at <= {sql_ts(o)}
                  and event_id is not null and event_type in ({in_list(types)})
                  and occurred_at <= received_at
                qualify row_number() over (partition by event_id order by received_at) = 1
                order by event_id"""
        ).to_arrow_table()
    return out


def load_history(
    con: duckdb.DuckDBPyConnection,
    files: dict[str, list[Path]],
    o: int,
    truth_dir: Path,
    say: Callable[[str], None],
) -> History:
    """Read everything up to the old end ``o`` that the simulation needs."""
    cust = _customers(con)
    n_c = len(cust["cust_ids"])
    prod = _products(con)
    orders = _orders(con, n_c, o)
    say(f"history: {n_c:,} customers, {int(orders['n_orders'].sum()):,} orders")
    visitors = _visitors(con, o)
    v = visitors["v"]
    say(f"history: {len(visitors['anon_ids']):,} visitors, {int(v['n'].sum()):,} web events")
    email = _email(con, n_c, o)
    n_recent = len(email["recent_deliv"]["cust"])
    say(f"history: {int(email['n_sent'].sum()):,} e-mails sent, {n_recent:,} recent unopened")
    recent = _recent_events(con, o)
    seq = id_sequences(con, files, truth_dir)

    starts = [int(v["first"].min())] if len(v["first"]) else []
    first_order = con.execute("select min(t) from ord").fetchall()[0][0]
    if first_order is not None:
        starts.append(int(first_order))
    start = min(starts) if starts else o - 365 * DAY
    return History(
        o=o,
        start=min(start, o - DAY),
        prod=prod,
        seq=seq,
        **cust,
        **orders,
        **visitors,
        **email,
        **recent,
    )
