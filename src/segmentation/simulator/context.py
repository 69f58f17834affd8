"""What one simulation step sees: the period, the random stream, the shop and the truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.simulator.catalog import Urls
from segmentation.simulator.state import Shop
from segmentation.simulator.truth import Truth


@dataclass
class Period:
    """The simulated time (lo, hi]; ``initial``: the population is created in it (from an
    empty state), which also plants the future_timestamp rows."""

    lo: int
    hi: int
    initial: bool

    @property
    def years(self) -> float:
        return (self.hi - self.lo) / (365 * 86_400)


@dataclass
class Ctx:
    rng: np.random.Generator
    period: Period
    shop: Shop
    truth: Truth
    urls: Urls
