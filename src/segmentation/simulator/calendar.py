"""The shop's clock: epoch-second conversions, the weekly, daily and seasonal traffic
pattern all timestamps follow, and the campaign calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from segmentation.simulator.arrays import uniform_int

HOUR = 3600
DAY = 86_400
YEAR = 365 * DAY
EPOCH = datetime(1970, 1, 1)
NEVER = np.iinfo(np.int64).max // 4  # "no such time yet" in int64 time columns

# Monday..Sunday; online shops peak on Sunday evening, dip on Friday.
DOW_WEIGHT = np.array([1.04, 0.97, 0.95, 0.95, 0.86, 0.97, 1.22])
# UTC hour profiles (customers live in UTC+1/+2).
HOUR_WEEKDAY = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.12, 0.3, 0.8, 1.5, 2.0, 2.3, 2.5, 2.9, 3.1, 2.9, 2.7, 2.7,
     2.9, 3.4, 4.3, 5.0, 5.1, 4.2, 2.8, 1.4]
)  # fmt: skip
HOUR_WEEKEND = np.array(
    [1.0, 0.6, 0.3, 0.15, 0.1, 0.15, 0.3, 0.7, 1.5, 2.5, 3.3, 3.7, 3.8, 3.6, 3.5, 3.5,
     3.6, 3.8, 4.2, 4.7, 4.7, 3.9, 2.8, 1.6]
)  # fmt: skip
HOUR_CDF = {
    False: np.cumsum(HOUR_WEEKDAY) / HOUR_WEEKDAY.sum(),
    True: np.cumsum(HOUR_WEEKEND) / HOUR_WEEKEND.sum(),
}


def dt(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=int(seconds))


def sec(value: datetime | str) -> int:
    """Epoch seconds of a naive (UTC) or aware datetime, or of its ISO string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None) - (value.utcoffset() or timedelta(0))
    return int((value - EPOCH).total_seconds())


def day_weight(day: np.ndarray) -> np.ndarray:
    """Relative traffic of a calendar day: weekday pattern and a November/December peak."""
    dow = (day + 3) % 7  # 1970-01-01 was a Thursday
    d = day.astype("datetime64[D]")
    doy = (d - d.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    season = (
        1.0
        + 0.7 * np.exp(-0.5 * ((doy - 331) / 5.0) ** 2)  # Black Friday week
        + 0.35 * np.exp(-0.5 * ((doy - 350) / 7.0) ** 2)  # Christmas shopping
        - 0.12 * np.exp(-0.5 * ((doy - 210) / 25.0) ** 2)  # summer lull
    )
    return DOW_WEIGHT[dow] * season / (DOW_WEIGHT.max() * 1.75)


def _hour_of(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    weekend = ((day + 3) % 7) >= 5
    u = rng.random(len(day))
    hour = np.where(
        weekend, np.searchsorted(HOUR_CDF[True], u), np.searchsorted(HOUR_CDF[False], u)
    )
    return np.minimum(hour, 23)


def sample_times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Seconds in [lo, hi] following the weekly, daily and seasonal traffic pattern."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    out = np.empty(len(lo), dtype=np.int64)
    todo = np.arange(len(lo))
    for _ in range(12):  # rejection sampling; what is left after 12 rounds is rare
        if not len(todo):
            break
        m = len(todo)
        tlo, thi = lo[todo], hi[todo]
        day = uniform_int(rng, tlo // DAY, thi // DAY)
        t = day * DAY + _hour_of(rng, day) * HOUR + rng.integers(0, HOUR, m)
        ok = (t >= tlo) & (t <= thi) & (rng.random(m) < day_weight(day))
        out[todo[ok]] = t[ok]
        todo = todo[~ok]
    if len(todo):  # narrow windows: plain uniform
        out[todo] = uniform_int(rng, lo[todo], hi[todo])
    return out


def times_in(rng: np.random.Generator, k: int, lo: int, hi: int) -> np.ndarray:
    """k times in (lo, hi] with the traffic pattern."""
    return sample_times(rng, np.full(k, lo + 1), np.full(k, hi))


def sample_times_near(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Move a timestamp to a plausible hour of its day (keeps the day)."""
    day = t // DAY
    return day * DAY + _hour_of(rng, day) * HOUR + rng.integers(0, HOUR, len(t))


def campaign_slots(rng: np.random.Generator, lo: int, hi: int) -> tuple[np.ndarray, list[int]]:
    """Campaign send times and kinds in (lo, hi]: newsletters on Tuesday morning, sales on
    Friday afternoon, extra flash sales on Sundays around Black Friday / Christmas; up to
    45 minutes of jitter."""
    times, kinds = [], []
    for day in range(lo // DAY, hi // DAY + 1):
        d = date(1970, 1, 1) + timedelta(days=day)
        dow = d.weekday()
        doy = d.timetuple().tm_yday
        if dow == 1:
            kinds.append((0, 2, 3)[(d.isocalendar()[1]) % 3])
            times.append(day * DAY + 8 * HOUR)
        elif dow == 4:
            kinds.append(1)
            times.append(day * DAY + 15 * HOUR)
        elif dow == 6 and 320 <= doy <= 355:
            kinds.append(4)
            times.append(day * DAY + 10 * HOUR)
    t = np.array(times, dtype=np.int64) + rng.integers(0, 45 * 60, len(times))
    keep = (t > lo) & (t <= hi)
    return t[keep], [k for k, ok in zip(kinds, keep, strict=True) if ok]
