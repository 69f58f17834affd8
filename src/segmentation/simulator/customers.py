"""People: the initial population (personas, sign-ups spread over the years before and
in the first period), new sign-ups in later periods, and the customers table.

``customers`` counts *persons*; ~3 % of them get a second customer record whose e-mail
differs only by case and spaces, so the customers table has ~4 % more rows (duplicate
records, profile-update versions, broken rows). Every person draws rates around its
persona's means (see :mod:`segmentation.personas`), a favourite category, one or two
devices and an e-mail consent schedule (opt-in at sign-up or later, opt-out later) whose
times may lie after the period: later periods carry them out.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.personas import CITIES, FIRST_NAMES_FEMALE, FIRST_NAMES_MALE, LAST_NAMES, PERSONAS
from segmentation.simulator import ids as idf
from segmentation.simulator.arrays import conform, largest_remainder, pick, take, ts, uniform_int
from segmentation.simulator.calendar import DAY, HOUR, NEVER, YEAR, sample_times_near, times_in
from segmentation.simulator.context import Ctx
from segmentation.simulator.mess import (
    DUPLICATE_PERSON_RATE,
    MESSY_EMAIL_RATE,
    NULL_EMAIL_RATE,
    PROFILE_UPDATE_RATE,
    freshen,
    n_broken,
)
from segmentation.simulator.profiles import N_PERSONAS, PERSONA, PERSONA_NAMES, P, category_of
from segmentation.simulator.state import Persons

LATER_OPTIN_SHARE = 0.3  # of those without consent opt in later, within the first period
CITY_NAMES = pa.array([c[0] for c in CITIES])
COUNTRIES = pa.array([c[1] for c in CITIES])
FIRST_NAMES = pa.array(FIRST_NAMES_FEMALE + FIRST_NAMES_MALE)


def initial_population(ctx: Ctx, n: int, p0: int) -> Persons:
    """Persons p0 + 1 .. p0 + n of the population of the initial period: persona shares
    exact per chunk, sign-ups before or in the period as the persona says; lapsing
    persons stop 90-180 days before the end, new customers sign up in its last 30 days."""
    rng, lo, hi = ctx.rng, ctx.period.lo, ctx.period.hi
    window = hi - lo
    shares = np.array([p.share for p in PERSONAS])
    persona = np.repeat(np.arange(N_PERSONAS), largest_remainder(n, shares))[rng.permutation(n)]
    is_new = persona == PERSONA["new_customer"]
    is_lapsing = persona == PERSONA["lapsing"]
    gap = int(min(45 * DAY, 0.3 * window))
    in_win = rng.random(n) < P["signup_in_window"][persona]
    signup = np.where(
        in_win,
        lo + np.floor(rng.random(n) * (window - gap)).astype(np.int64),
        lo - np.minimum(rng.exponential(550 * DAY, n), 2000 * DAY).astype(np.int64) - 1,
    )
    g_lo, g_hi = min(90 * DAY, 0.35 * window), min(180 * DAY, 0.6 * window)
    lapse_at = hi - np.floor(g_lo + rng.random(n) * (g_hi - g_lo)).astype(np.int64)
    lap_in = is_lapsing & in_win
    signup[lap_in] = lo + np.floor(
        rng.random(int(lap_in.sum())) * 0.5 * (lapse_at[lap_in] - lo)
    ).astype(np.int64)
    new_lo, new_hi = int(min(DAY, 0.1 * window)), int(min(30 * DAY, window))
    signup[is_new] = (
        hi - new_lo - np.floor(rng.random(int(is_new.sum())) * (new_hi - new_lo)).astype(np.int64)
    )
    signup = np.minimum(sample_times_near(rng, signup), hi - 3 * HOUR)
    active_until = np.where(is_lapsing, lapse_at, NEVER)
    person_num = p0 + np.arange(n, dtype=np.int64) + 1
    return _persons(ctx, persona, signup, active_until, person_num, person_num.copy())


def new_signups(ctx: Ctx, k: int) -> Persons:
    """k persons who sign up in the period (persona ``new_customer``)."""
    lo, hi, c = ctx.period.lo, ctx.period.hi, ctx.shop.counters
    signup = np.sort(times_in(ctx.rng, k, lo, max(hi - 600, lo + 1)))
    persona = np.full(k, PERSONA["new_customer"])
    person_num, rec_num = c.take("person", k), c.take("customer", k)
    return _persons(ctx, persona, signup, np.full(k, NEVER), person_num, rec_num)


def _beta(rng: np.random.Generator, mean: np.ndarray, k: float = 20.0) -> np.ndarray:
    mean = np.clip(mean, 0.005, 0.995)
    return rng.beta(mean * k, (1 - mean) * k)


def _persons(
    ctx: Ctx,
    persona: np.ndarray,
    signup: np.ndarray,
    active_until: np.ndarray,
    person_num: np.ndarray,
    rec_num: np.ndarray,
) -> Persons:
    """Rates, devices, duplicate record, consent schedule and profile of new persons."""
    rng, n, c = ctx.rng, len(persona), ctx.shop.counters
    a0 = np.maximum(ctx.period.lo, signup + 2 * HOUR)
    a1 = np.maximum(np.minimum(active_until, ctx.period.hi), a0)
    n_dev = (1 + (rng.random(n) < 0.35)).astype(np.int8)
    dev0 = c.device + np.cumsum(n_dev) - n_dev
    c.device += int(n_dev.sum())
    has_dup = (rng.random(n) < DUPLICATE_PERSON_RATE) & (a1 - a0 > 2 * DAY)
    m = int(has_dup.sum())
    dup_signup = np.full(n, NEVER)
    dup_signup[has_dup] = (
        a0[has_dup]
        + np.floor((0.1 + 0.6 * rng.random(m)) * (a1[has_dup] - a0[has_dup])).astype(np.int64)
        - 2 * HOUR
        + rng.integers(0, HOUR, m)
    )
    dup_num = np.full(n, -1, dtype=np.int64)
    dup_num[has_dup] = c.take("customer", m)
    email_null = (rng.random(n) < NULL_EMAIL_RATE) & ~has_dup  # both records carry one
    c_in, t_out, via_link = _consent_schedule(ctx, persona, signup, a0, email_null)
    return Persons(
        person_num=person_num,
        persona=persona.astype(np.int8),
        signup=signup,
        active_until=active_until,
        n_orders=np.zeros(n, np.int32),
        order_rate=rng.gamma(
            P["order_shape"][persona], P["order_rate"][persona] / P["order_shape"][persona]
        ),
        browse_rate=rng.gamma(6.0, P["browse_rate"][persona] / 6.0),
        fav=category_of(rng, persona).astype(np.int8),
        last_prod=np.full(n, -1, np.int32),
        # cart and checkout propensity differ between customers of a persona
        p_add=np.minimum(P["p_add"][persona] * rng.gamma(2.0, 0.5, n), 0.35),
        p_chk=np.minimum(P["p_checkout"][persona] * rng.gamma(1.5, 1 / 1.5, n), 0.2),
        open_p=_beta(rng, P["open_rate"][persona]),
        click_p=_beta(rng, P["click_rate"][persona]),
        recv_p=np.minimum(P["email_recv"][persona] * rng.gamma(8.0, 0.125, n), 0.95),
        dev0=dev0,
        n_dev=n_dev,
        used=np.zeros(n, np.int8),
        bound0=np.zeros(n, np.int8),
        bound1=np.zeros(n, np.int8),
        rec_num=rec_num,
        dup_num=dup_num,
        dup_signup=dup_signup,
        email_null=email_null,
        c_in=c_in,
        t_out=t_out,
        via_link=via_link,
        **_profile(ctx, n, has_dup),
    )


def _consent_schedule(
    ctx: Ctx, persona: np.ndarray, signup: np.ndarray, a0: np.ndarray, email_null: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(opt-in, opt-out, opts out via the link): at sign-up at the persona's consent rate,
    or later; opt-outs at the persona's yearly rate. NEVER for what does not happen."""
    rng, n = ctx.rng, len(persona)
    at_signup = ~email_null & (rng.random(n) < P["consent_rate"][persona])
    later = ~email_null & ~at_signup
    c_in = np.where(at_signup, signup + rng.integers(2, 90, n), NEVER)
    wait = rng.exponential(YEAR / ctx.shop.optin_per_year, n).astype(np.int64)
    c_in[later] = np.maximum(sample_times_near(rng, a0 + wait)[later], a0[later])
    rate = np.maximum(P["optout_rate"][persona], 1e-9)
    out_from = np.maximum(c_in, ctx.period.lo) + HOUR
    stay = np.minimum(rng.exponential(YEAR / rate), 1e4 * YEAR).astype(np.int64)
    t_out = np.maximum(sample_times_near(rng, np.minimum(out_from + stay, NEVER // 2)), out_from)
    t_out = np.where(c_in < NEVER, t_out, NEVER)
    return c_in, t_out, rng.random(n) < 0.6


def _profile(ctx: Ctx, n: int, has_dup: np.ndarray) -> dict[str, np.ndarray]:
    """Name, gender, birth date, city and the e-mail spelling of both records."""
    rng, hi = ctx.rng, ctx.period.hi
    u = rng.random(n)
    gender = np.select([u < 0.5, u < 0.98, u < 0.99], [0, 1, 2], 3)  # female, male, diverse, null
    fem = rng.integers(0, len(FIRST_NAMES_FEMALE), n)
    male = rng.integers(0, len(FIRST_NAMES_MALE), n)
    any_ = rng.random(n) < 0.5
    first_idx = np.where(
        (gender == 0) | ((gender >= 2) & any_), fem, len(FIRST_NAMES_FEMALE) + male
    )
    city_w = np.array([c[2] for c in CITIES])
    city = np.searchsorted(np.cumsum(city_w) / city_w.sum(), rng.random(n), side="right")
    city = city.clip(0, len(CITIES) - 1)
    age_days = (np.clip(rng.normal(41, 13, n), 18, 85) * 365.25).astype(np.int64)
    # messy but equivalent spellings: duplicate records always, a few primaries too
    variant = np.where((rng.random(n) < MESSY_EMAIL_RATE) & ~has_dup, rng.integers(0, 2, n), -1)
    moved = rng.random(n) < 0.2
    return {
        "first_idx": first_idx.astype(np.int16),
        "last_idx": rng.integers(0, len(LAST_NAMES), n).astype(np.int16),
        "gender": gender.astype(np.int8),
        "birth": (hi // DAY - age_days - rng.integers(0, 365, n)).astype(np.int32),
        "city": city.astype(np.int8),
        "dup_city": np.where(moved, rng.integers(0, len(CITIES), n), city).astype(np.int8),
        "variant": variant.astype(np.int8),
        "dup_variant": rng.integers(0, 6, n).astype(np.int8),
    }


def record_ids(persons: Persons, idx: np.ndarray, dup: np.ndarray) -> pa.Array:
    """customer_id of record (person idx, duplicate or not)."""
    return idf.CUSTOMER.ids(np.where(dup, persons.dup_num[idx], persons.rec_num[idx]))


def _emails(persons: Persons, idx: np.ndarray, dup: np.ndarray) -> pa.Array:
    first = take(FIRST_NAMES, persons.first_idx[idx])
    last = take(pa.array(LAST_NAMES), persons.last_idx[idx])
    number = pc.cast(pa.array(persons.person_num[idx]), pa.string())
    clean = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), number, "@example.com", ""
    )
    forms = [
        pc.utf8_capitalize(clean),
        pc.utf8_title(clean),
        pc.utf8_upper(clean),
        pc.binary_join_element_wise(" ", clean, ""),
        pc.binary_join_element_wise(clean, " ", ""),
        pc.binary_join_element_wise(" ", pc.utf8_title(clean), "  ", ""),
    ]
    variant = np.where(dup, persons.dup_variant[idx], persons.variant[idx])
    email = clean
    for v, form in enumerate(forms):
        email = pc.if_else(pa.array(variant == v), form, email)
    null = persons.email_null[idx] & ~dup
    return pc.if_else(pa.array(null), pa.nulls(len(idx), pa.string()), email)


def _rows(
    persons: Persons, idx: np.ndarray, dup: np.ndarray, city: np.ndarray, upd: np.ndarray
) -> pa.Table:
    gender = persons.gender[idx]
    return pa.table(
        {
            "customer_id": record_ids(persons, idx, dup),
            "email": _emails(persons, idx, dup),
            "first_name": take(FIRST_NAMES, persons.first_idx[idx]),
            "last_name": take(pa.array(LAST_NAMES), persons.last_idx[idx]),
            "birth_date": pa.array(persons.birth[idx], pa.date32()),
            "gender": take(pa.array(["female", "male", "diverse"]), gender, gender == 3),
            "city": take(CITY_NAMES, city),
            "country": take(COUNTRIES, city),
            "signup_at": ts(np.where(dup, persons.dup_signup[idx], persons.signup[idx])),
            "updated_at": ts(upd),
        }
    )


def customers_table(ctx: Ctx, persons: Persons, created: np.ndarray) -> pa.Table:
    """Rows of the records created in the period (45 % edited since sign-up, ~1 % with an
    older version too), new versions of existing records that moved, null-key copies."""
    rng, hi, truth = ctx.rng, ctx.period.hi, ctx.truth
    made = np.flatnonzero(created)
    made_dup = made[persons.dup_num[made] >= 0]
    idx = np.r_[made, made_dup]
    dup = np.r_[np.zeros(len(made), bool), np.ones(len(made_dup), bool)]
    signup = np.where(dup, persons.dup_signup[idx], persons.signup[idx])
    city = np.where(dup, persons.dup_city[idx], persons.city[idx]).astype(np.int64)
    r = len(idx)
    edited = rng.random(r) < 0.45
    upd = np.minimum(signup + rng.integers(0, 120, r), hi)
    upd[edited] = uniform_int(rng, signup[edited], hi)
    freshen(rng, upd, signup, hi)
    cand = np.flatnonzero(upd - signup > DAY)
    prev = pick(rng, len(cand), min(len(cand), int(rng.binomial(r, PROFILE_UPDATE_RATE))))
    prev = cand[prev]
    prev_upd = signup[prev] + np.floor(rng.random(len(prev)) * (upd[prev] - signup[prev])).astype(
        np.int64
    )
    prev_city = (city[prev] + rng.integers(1, len(CITIES), len(prev))) % len(CITIES)
    truth.dup("customers", record_ids(persons, idx[prev], dup[prev]))
    truth.customers.append(
        pa.table(
            {
                "customer_id": record_ids(persons, idx, dup),
                "person_id": idf.PERSON.ids(persons.person_num[idx]),
                "persona": take(pa.array(PERSONA_NAMES), persons.persona[idx]),
                "is_duplicate_record": pa.array(dup),
            }
        )
    )
    parts = [
        _rows(persons, idx, dup, city, upd),
        _rows(persons, idx[prev], dup[prev], prev_city, prev_upd),
        _moves(ctx, persons, created),
    ]
    rows = pa.concat_tables([conform(t, "customers") for t in parts])
    nb = n_broken(rng, rows.num_rows, 1, ctx.period.initial)
    if nb:
        bad = rows.take(pa.array(rng.choice(rows.num_rows, nb, replace=False)))
        bad = bad.set_column(0, "customer_id", pa.nulls(nb, pa.string()))
        rows = pa.concat_tables([rows, bad])
        truth.nulls("customers", nb)
    order = np.argsort(
        rows["updated_at"].combine_chunks().cast(pa.int64()).to_numpy(), kind="stable"
    )
    return rows.take(pa.array(order))


def _moves(ctx: Ctx, persons: Persons, created: np.ndarray) -> pa.Table:
    """Existing records move at PROFILE_UPDATE_RATE per year: a new version of the row
    with the new city (the state keeps the city)."""
    rng = ctx.rng
    old = np.flatnonzero(~created)
    old_dup = old[persons.dup_num[old] >= 0]
    idx = np.r_[old, old_dup]
    dup = np.r_[np.zeros(len(old), bool), np.ones(len(old_dup), bool)]
    p = 1 - (1 - PROFILE_UPDATE_RATE) ** ctx.period.years
    sel = pick(rng, len(idx), int(rng.binomial(len(idx), p)))
    idx, dup = idx[sel], dup[sel]
    now = np.where(dup, persons.dup_city[idx], persons.city[idx]).astype(np.int64)
    city = (now + rng.integers(1, len(CITIES), len(idx))) % len(CITIES)
    persons.city[idx[~dup]] = city[~dup]
    persons.dup_city[idx[dup]] = city[dup]
    upd = times_in(rng, len(idx), ctx.period.lo, ctx.period.hi)
    ctx.truth.dup("customers", record_ids(persons, idx, dup))
    return _rows(persons, idx, dup, city, upd)
