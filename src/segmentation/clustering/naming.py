"""Readable cluster names from the z-scores of the cluster centres.

Each *aspect* is the mean z-score (cluster mean vs. everyone, in the prepared - imputed and
log - space) of a few interpretable features; an aspect whose |z| reaches the threshold
(``name_z_threshold``, default 0.5) contributes a term:

========== ============================================= ====================================
aspect     features                                      high z / low z
========== ============================================= ====================================
tenure     tenure_days                                   -- / "New"
recency    recency_days                                  "Lapsed" / "Recent"
spend      monetary, average_order_value                 "High spend" / "Low spend"
frequency  frequency                                     "frequent" / "infrequent"
e-mail     email_open_rate_90d, email_click_rate_90d     "e-mail engaged" / "e-mail inactive"
           (engagement_score when neither is clustered)
browsing   web_sessions_90d, product_views_90d,          "browsers" / --
           cart_adds_90d
carts      cart_abandonment_rate                         "cart abandoners" / --
discount   discount_order_share                          "discount-driven" / "full price"
========== ============================================= ====================================

The purchase aspects (recency, spend, frequency, discount) use z-scores among buyers
(``buyer_z_score``: persons with at least one order) when given: a lapsed buyer should read
"Lapsed", not "High spend" just because a third of the audience never bought. A cluster whose
median ``frequency`` is 0 is a group of non-buyers: its purchase z-scores only reflect the
imputation, so those aspects are replaced by "Non-buyers".

The ``name_max_terms`` strongest terms (by |z|) are kept and written in the order of the
table, joined by " · ", first letter capitalised ("Lapsed · low spend", "Non-buyers ·
browsers · cart abandoners"). No term: "Average profile". Duplicates get the next strongest
term, then a " #2", " #3" suffix. Noise (-1) is "Unclustered (noise)".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

NOISE_NAME = "Unclustered (noise)"
NO_TERM_NAME = "Average profile"
SEPARATOR = " · "

# (aspect, features, high term, low term); the order is the order of terms in a name
ASPECTS: tuple[tuple[str, tuple[str, ...], str | None, str | None], ...] = (
    ("tenure", ("tenure_days",), None, "new"),
    ("recency", ("recency_days",), "lapsed", "recent"),
    ("non_buyer", (), None, "non-buyers"),
    ("spend", ("monetary", "average_order_value"), "high spend", "low spend"),
    ("frequency", ("frequency",), "frequent", "infrequent"),
    ("email", ("email_open_rate_90d", "email_click_rate_90d"), "e-mail engaged", "e-mail inactive"),
    ("browsing", ("web_sessions_90d", "product_views_90d", "cart_adds_90d"), "browsers", None),
    ("carts", ("cart_abandonment_rate",), "cart abandoners", None),
    ("discount", ("discount_order_share",), "discount-driven", "full price"),
)
PURCHASE_ASPECTS = {"recency", "spend", "frequency", "discount"}


def cluster_terms(
    z: Mapping[str, float],
    median_frequency: float | None,
    threshold: float,
    buyer_z: Mapping[str, float] | None = None,
) -> list[tuple[float, int, str]]:
    """Candidate terms of one cluster as ``(strength, aspect position, term)``."""
    buyer_z = buyer_z or {}
    terms: list[tuple[float, int, str]] = []
    non_buyer = median_frequency is not None and median_frequency <= 0
    for pos, (aspect, features, high, low) in enumerate(ASPECTS):
        if aspect == "non_buyer":
            if non_buyer:
                strength = abs(z.get("frequency", 0.0)) if "frequency" in z else threshold
                terms.append((max(strength, threshold), pos, str(low)))
            continue
        if non_buyer and aspect in PURCHASE_ASPECTS:
            continue
        feats = [f for f in features if f in z and np.isfinite(z[f])]
        if aspect == "email" and not feats and "engagement_score" in z:
            feats = ["engagement_score"]
        if not feats:
            continue
        source = z
        if aspect in PURCHASE_ASPECTS and all(np.isfinite(buyer_z.get(f, np.nan)) for f in feats):
            source = buyer_z
        value = float(np.mean([source[f] for f in feats]))
        if value >= threshold and high:
            terms.append((value, pos, high))
        elif value <= -threshold and low:
            terms.append((-value, pos, low))
    return terms


def _compose(terms: list[tuple[float, int, str]], n: int) -> str:
    chosen = sorted(sorted(terms, key=lambda t: (-t[0], t[1]))[:n], key=lambda t: t[1])
    if not chosen:
        return NO_TERM_NAME
    name = SEPARATOR.join(t[2] for t in chosen)
    return name[0].upper() + name[1:]


def name_clusters(
    z_scores: pd.DataFrame,
    median_frequency: Mapping[int, float] | None = None,
    threshold: float = 0.5,
    max_terms: int = 3,
    buyer_z_scores: pd.DataFrame | None = None,
) -> dict[int, str]:
    """Unique names per cluster id.

    ``z_scores``: index cluster_id, one column per feature (z-score of the cluster mean);
    ``median_frequency``: cluster_id -> median number of orders (for the non-buyer rule);
    ``buyer_z_scores``: like ``z_scores``, standardised among buyers only (optional).
    """
    median_frequency = median_frequency or {}
    ids = [int(i) for i in z_scores.index]

    def row(frame: pd.DataFrame | None, cid: int) -> dict[str, float]:
        if frame is None or cid not in frame.index:
            return {}
        return {str(k): float(v) for k, v in frame.loc[cid].items() if pd.notna(v)}

    terms = {
        cid: cluster_terms(
            row(z_scores, cid),
            median_frequency.get(cid),
            threshold,
            row(buyer_z_scores, cid),
        )
        for cid in ids
        if cid >= 0
    }
    names = {cid: _compose(t, max_terms) for cid, t in terms.items()}
    # duplicates: add the next strongest term(s), then a numeric suffix
    extra = max_terms
    while True:
        dupes = _duplicates(names)
        if not dupes or extra >= len(ASPECTS):
            break
        extra += 1
        for cid in dupes:
            names[cid] = _compose(terms[cid], extra)
    seen: dict[str, int] = {}
    for cid in sorted(names):
        base = names[cid]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[cid] = f"{base} #{seen[base]}"
    if -1 in ids:
        names[-1] = NOISE_NAME
    return names


def _duplicates(names: Mapping[int, str]) -> list[int]:
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return sorted(cid for cid, name in names.items() if counts[name] > 1)
