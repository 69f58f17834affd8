"""Measured against planted: the holdout uplift per persona of generated data.

Independent of the SQL (pandas on performance.campaign_holdout_outcomes, the deliveries
and the generator's truth): the test suite and ``bench/bench_uplift.py`` use it to check
that campaign_uplift's method recovers the e-mail effect the generator planted
(``Persona.email_lift``, :mod:`segmentation.simulator.audiences`).
"""

from __future__ import annotations

import math

import pandas as pd

from segmentation.personas import PERSONAS
from segmentation.simulator.orders import STATUS_P
from segmentation.simulator.profiles import CANCELLED

Z95, Z99 = 1.959963984540054, 2.5758293035489


def difference(t: pd.Series, h: pd.Series, z: float, ddof: int = 1) -> tuple[float, float, float]:
    """Difference of two means and its normal-approximation interval (ddof 0 on 0/1
    values gives the proportions' variance p(1 - p), as campaign_uplift uses)."""
    diff = t.mean() - h.mean()
    se = math.sqrt(t.var(ddof=ddof) / len(t) + h.var(ddof=ddof) / len(h))
    return diff, diff - z * se, diff + z * se


def planted_uplift(t: pd.DataFrame, h: pd.DataFrame) -> float:
    """What the conversion uplift should be: each delivered e-mail brings an order with
    the persona's lift, that order is cancelled as often as any (a cancelled order is no
    conversion), and who converts anyway cannot convert twice."""
    lifts = {p.name: p.email_lift for p in PERSONAS}
    kept = 1 - STATUS_P[CANCELLED]
    return (
        float((t.persona.map(lifts).fillna(0) * t.is_delivered).mean())
        * kept
        * (1 - float(h.has_converted.mean()))
    )


def persona_uplift(
    outcomes: pd.DataFrame, delivered: pd.DataFrame, personas: pd.DataFrame, z: float = Z99
) -> pd.DataFrame:
    """One row per persona (and 'all'): people in each group, planted and measured
    conversion uplift with its interval. ``outcomes``: campaign_holdout_outcomes rows;
    ``delivered``: (person_id, campaign_id) delivered; ``personas``: person_id, persona."""
    out = outcomes.merge(personas, on="person_id", how="left")
    out = out.merge(
        delivered.drop_duplicates().assign(is_delivered=1.0),
        on=["person_id", "campaign_id"],
        how="left",
    ).fillna({"is_delivered": 0.0})
    out["converted"] = out.has_converted.astype(float)
    groups = [(p, g) for p, g in out.dropna(subset=["persona"]).groupby("persona")]
    rows = []
    for name, g, zz in [*((p, g, z) for p, g in groups), ("all", out, Z95)]:
        t, h = g[g.split_group == "treatment"], g[g.split_group == "holdout"]
        if min(len(t), len(h)) < 2:
            continue
        diff, low, high = difference(t.converted, h.converted, zz)
        rows.append({"persona": name, "treatment": len(t), "holdout": len(h),
                     "planted": planted_uplift(t, h), "measured": diff, "low": low,
                     "high": high, "z": zz})  # fmt: skip
    return pd.DataFrame(rows)
