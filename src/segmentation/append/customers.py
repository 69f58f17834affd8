"""Customers: sign-ups in the new days (made first, the other steps use them), and the
customers part with their rows, profile updates of existing customers and null keys."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.append.common import conform, n_bad, replace_column, sort_by
from segmentation.append.history import History
from segmentation.append.sim import Sim
from segmentation.generate import (
    DAY,
    NULL_EMAIL_RATE,
    PROFILE_UPDATE_RATE,
    _take,
    _ts,
)
from segmentation.generate import _sample_times as sample_times
from segmentation.personas import CITIES, FIRST_NAMES_FEMALE, FIRST_NAMES_MALE, LAST_NAMES

CITY_NAMES = pa.array([c[0] for c in CITIES])
COUNTRIES = pa.array([c[1] for c in CITIES])


@dataclass
class NewCustomers:
    """Customers who sign up in the new days; customer index n_c + j is new customer j."""

    k: int
    all_ids: pa.Array  # customer_id per customer index, existing and new
    signup: np.ndarray
    email_null: np.ndarray
    fav_cat: np.ndarray
    fav_pos: np.ndarray
    dev: np.ndarray  # visitor index of the device they sign up on
    consent: np.ndarray  # opted in at sign-up
    consent_t: np.ndarray
    rows: pa.Table  # their customers rows


def favourites(h: History, new: NewCustomers, cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Favourite (category, price position) of customers (-1: none), new ones included."""
    n_c = len(h.cust_ids)
    old = (cust >= 0) & (cust < n_c)
    c = np.where(old, cust, 0)
    fp = h.fav_prod[c]
    has = old & (fp >= 0)
    fpc = np.maximum(fp, 0)
    cat = np.where(has, h.prod.cat[fpc], -1)
    pos = np.where(has, h.prod.pos[fpc], 0.5)
    is_new = cust >= n_c
    j = np.where(is_new, cust - n_c, 0)
    if new.k:
        cat = np.where(is_new, new.fav_cat[j], cat)
        pos = np.where(is_new, new.fav_pos[j], pos)
    return cat, pos


def new_customers(sim: Sim) -> NewCustomers:
    """Sign-ups at the history's average rate; the truth lists them as ``new_customer``."""
    h, rng, o, e = sim.h, sim.rng, sim.o, sim.e
    signups = int(((h.signup > h.start) & (h.signup <= o)).sum())
    k = int(rng.poisson(signups / sim.span_days * sim.w / DAY))
    hi = max(e - 600, o + 1)
    t = np.sort(sample_times(rng, np.full(k, o + 1), np.full(k, hi)))
    upd = np.minimum(t + rng.integers(0, 120, k), e)
    email_null = rng.random(k) < NULL_EMAIL_RATE
    cust_num = h.seq["customer"].numbers(k)
    person_num = h.seq["person"].numbers(k)
    all_ids = pa.concat_arrays([h.cust_ids, h.seq["customer"].ids(cust_num)])
    fav_cat = rng.integers(0, len(h.prod.cat_names), k)
    fav_pos = rng.random(k)
    dev = sim.new_anon(k)
    share = h.consent_counts["n_in_signup"] / max(sim.n_c, 1)
    consent = ~email_null & (rng.random(k) < share)
    consent_t = np.minimum(t + rng.integers(2, 90, k), e)
    new_ids = all_ids[sim.n_c :]
    profile = _profiles(rng, k, person_num, email_null, e)
    rows = pa.table(
        {"customer_id": new_ids, **profile, "signup_at": _ts(t), "updated_at": _ts(upd)}
    )
    sim.out.truth.customers.append(
        pa.table(
            {
                "customer_id": new_ids,
                "person_id": h.seq["person"].ids(person_num),
                "persona": pa.array(["new_customer"] * k, pa.string()),
                "is_duplicate_record": pa.array(np.zeros(k, bool)),
            }
        )
    )
    return NewCustomers(k, all_ids, t, email_null, fav_cat, fav_pos, dev, consent, consent_t, rows)


def _profiles(
    rng: np.random.Generator, k: int, person_num: np.ndarray, email_null: np.ndarray, e: int
) -> dict[str, pa.Array]:
    """Name, e-mail, birth date, gender and city of k new people, as the generator makes
    them (e-mail first.last<person number>@example.com)."""
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
    number = pc.cast(pa.array(person_num), pa.string())
    email = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), number, "@example.com", ""
    )
    email = pc.if_else(pa.array(email_null), pa.nulls(k, pa.string()), email)
    city_w = np.array([c[2] for c in CITIES])
    city = np.searchsorted(np.cumsum(city_w) / city_w.sum(), rng.random(k), side="right")
    city = city.clip(0, len(CITIES) - 1)
    age_days = (np.clip(rng.normal(41, 13, k), 18, 85) * 365.25).astype(np.int64)
    birth = (e // DAY - age_days - rng.integers(0, 365, k)).astype(np.int32)
    return {
        "email": email,
        "first_name": first,
        "last_name": last,
        "birth_date": pa.array(birth, pa.date32()),
        "gender": _take(pa.array(["female", "male", "diverse"]), gender, gender == 3),
        "city": _take(CITY_NAMES, city),
        "country": _take(COUNTRIES, city),
    }


def customers_table(sim: Sim, new: NewCustomers, con: duckdb.DuckDBPyConnection) -> None:
    """New customers, profile updates of a few existing ones, null-key copies."""
    h, rng = sim.h, sim.rng
    # ~1 %/year of the customers move: a new version of their latest row with a new city
    p = 1 - (1 - PROFILE_UPDATE_RATE) ** (sim.w / (365 * DAY))
    k = int(rng.binomial(sim.n_c, p))
    pick = np.sort(rng.choice(sim.n_c, k, replace=False)) if k else np.empty(0, np.int64)
    parts = [new.rows]
    if k:
        con.register("_upd_ids", pa.table({"customer_id": h.cust_ids.take(pa.array(pick))}))
        cur = con.sql(
            """select c.* from customers c join _upd_ids using (customer_id)
               qualify row_number() over (partition by customer_id
                   order by updated_at desc nulls last, city, email) = 1
               order by customer_id"""
        ).to_arrow_table()
        now = pc.index_in(cur["city"], value_set=CITY_NAMES).to_numpy(zero_copy_only=False)
        now = np.nan_to_num(now.astype(np.float64), nan=0).astype(np.int64)
        city = (now + rng.integers(1, len(CITIES), len(now))) % len(CITIES)
        upd = sim.times(len(now))
        cur = replace_column(cur, "city", _take(CITY_NAMES, city))
        cur = replace_column(cur, "country", _take(COUNTRIES, city))
        cur = replace_column(cur, "updated_at", _ts(upd))
        parts.append(cur)
        sim.out.truth.dup("customers", cur["customer_id"].combine_chunks(), np.ones(len(now)))
    rows = pa.concat_tables([conform(t, "customers") for t in parts])
    n = rows.num_rows
    nb = n_bad(rng, n, 1)
    if nb:
        bad = replace_column(
            rows.take(pa.array(rng.integers(0, n, nb))), "customer_id", pa.nulls(nb, pa.string())
        )
        rows = pa.concat_tables([rows, bad])
        sim.out.truth.broke("customers", pa.nulls(nb, pa.string()), "null_key")
    if rows.num_rows:
        rows = sort_by(rows, rows["updated_at"].cast(pa.int64()).to_numpy())
    sim.out.notes["profile_updates"] = k
    sim.out.tables["customers"] = rows
