"""When each person is active in the period, and which of its records acts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.simulator.calendar import HOUR, YEAR
from segmentation.simulator.context import Ctx
from segmentation.simulator.state import Persons


@dataclass
class Activity:
    """Per person: active from a0 to a1 inside the period (a1 == a0: not active)."""

    a0: np.ndarray
    a1: np.ndarray

    @property
    def years(self) -> np.ndarray:
        return (self.a1 - self.a0) / YEAR


def activity(ctx: Ctx, persons: Persons) -> Activity:
    """Activity starts two hours after the sign-up and ends at the period's end or, for
    lapsing persons, when they lapse."""
    a0 = np.maximum(ctx.period.lo, persons.signup + 2 * HOUR)
    a1 = np.maximum(np.minimum(persons.active_until, ctx.period.hi), a0)
    return Activity(a0, a1)


def pick_record(
    rng: np.random.Generator, persons: Persons, person: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """0 (primary) or 1 (duplicate): a person with a second record uses either once it
    exists."""
    dup_ok = (persons.dup_num[person] >= 0) & (t >= persons.dup_signup[person] + 2 * HOUR)
    return (dup_ok & (rng.random(len(person)) < 0.5)).astype(np.int64)
