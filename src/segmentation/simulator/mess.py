"""The messiness rules, one implementation each: contract-breaking rows per reason, late
and re-delivered events, load timestamps that stay inside the simulated period.

Every row of a period (lo, hi] arrives in it: received_at / updated_at / changed_at are in
(lo, hi] (the initial period also holds the older history of its population), except the
``future_timestamp`` rows planted once, with the initial population."""

from __future__ import annotations

import numpy as np

from segmentation.simulator.arrays import round_random
from segmentation.simulator.calendar import DAY, HOUR

DUPLICATE_PERSON_RATE = 0.03
NULL_EMAIL_RATE = 0.02
MESSY_EMAIL_RATE = 0.02  # primary e-mails typed with capitals (still unique after lower())
PROFILE_UPDATE_RATE = 0.01  # new records with an older version; moves per record and year
ORDER_VERSION_RATE = 0.005
EVENT_DUPLICATE_RATE = 0.01
REDELIVERY_SHARE = 0.3  # events of the last day delivered again next period, per duplicate
LATE_EVENT_RATE = 0.02
OFFLINE_SESSION_RATE = 0.005  # browse sessions of a device that syncs hours to days later
BROKEN_RATE = 0.003  # per table, split over the reasons that apply to it
NULL_PRODUCT_RATE = 0.002
BAD_WEB_TYPE = "wishlist_add"
BAD_EMAIL_TYPE = "forward"
BAD_ORDER_STATUS = "pending_review"


def n_broken(rng: np.random.Generator, n_rows: int, n_reasons: int, at_least_one: bool) -> int:
    """Contract-breaking rows per reason, rounded at random so short periods still plant
    some on average; the initial population plants at least one per reason."""
    if not n_rows:
        return 0
    n = round_random(rng, n_rows * BROKEN_RATE / n_reasons)
    return max(n, 1) if at_least_one else n


def arrive_late(rng: np.random.Generator, m: int, lo: int, hi: int) -> np.ndarray:
    """Load times for rows that occurred before the period: minutes to hours into it."""
    delay = np.minimum(rng.lognormal(np.log(HOUR), 1.2, m).astype(np.int64), hi - lo - 1)
    return lo + 1 + np.maximum(delay, 0)


def arrival(
    rng: np.random.Generator, occurred: np.ndarray, lo: int, hi: int, base: int
) -> np.ndarray:
    """received_at: up to ``base`` seconds after occurred_at, ~2 % hours or days late,
    inside (lo, hi] (rows that occurred before lo arrive early in the period)."""
    n = len(occurred)
    delay = rng.integers(0, base + 1, n).astype(np.int64)
    late = rng.random(n) < LATE_EVENT_RATE
    delay[late] = np.minimum(
        (rng.lognormal(np.log(5 * HOUR), 1.3, int(late.sum()))).astype(np.int64) + 60, 20 * DAY
    )
    over = occurred + delay > hi
    room = np.maximum(hi - occurred[over], 0)
    delay[over] = np.floor(rng.random(int(over.sum())) * (room + 1)).astype(np.int64)
    received = occurred + delay
    early = occurred <= lo
    received[early] = np.maximum(arrive_late(rng, int(early.sum()), lo, hi), occurred[early])
    return received


def freshen(rng: np.random.Generator, loaded: np.ndarray, floor: np.ndarray, hi: int) -> None:
    """Keep the newest load timestamp within the last hour before ``hi`` (in place)."""
    if len(loaded) and loaded.max() < hi - 3000:
        i = int(np.argmax(loaded))
        loaded[i] = max(int(floor[i]), hi - int(rng.integers(0, 1800)))


def event_duplicates(
    rng: np.random.Generator, received: np.ndarray, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick ~1 % of events to be delivered again. Returns (src rows, copies, copy received)."""
    cand = np.flatnonzero(received < hi - 120)
    k = min(len(cand), int(rng.binomial(len(received), EVENT_DUPLICATE_RATE)))
    src = np.sort(rng.choice(cand, k, replace=False)) if k else np.empty(0, np.int64)
    copies = np.where(rng.random(k) < 0.1, 2, 1)
    rows = np.repeat(src, copies)
    room = hi - received[rows]  # >= 120 s
    delay = np.minimum(rng.lognormal(np.log(120), 2.0, len(rows)).astype(np.int64), room // 2)
    delay = np.maximum(delay, 1)
    # a second copy arrives strictly after the first one
    second = np.zeros(len(rows), bool)
    second[1:] = rows[1:] == rows[:-1]
    prev = delay[np.flatnonzero(second) - 1]
    delay[second] = prev + 1 + np.minimum(delay[second], room[second] - prev - 1)
    return src, copies, received[rows] + delay


def offline_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds between a browse session and its device syncing (0 for most sessions)."""
    offline = rng.random(n) < OFFLINE_SESSION_RATE
    delay = np.minimum(rng.lognormal(np.log(8 * HOUR), 1.2, n), 10 * DAY).astype(np.int64) + 60
    return np.where(offline, delay, 0)
