"""Synthetic ``customer_features`` frames with planted groups, for tests and benchmarks.

Six behaviour groups with realistic skew (Gamma/Poisson counts, log-normal order values,
Beta rates) and the nulls the mart produces (non-buyers have null recency / monetary /
order value / discount share; no cart adds -> null abandonment rate; no e-mails -> null rates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS: tuple[str, ...] = (
    "loyal_high_spender",
    "bargain_hunter",
    "window_shopper",
    "new_customer",
    "lapsed",
    "email_reader",
)
SHARES: tuple[float, ...] = (0.12, 0.18, 0.18, 0.14, 0.20, 0.18)

# per group: orders (extra over minimum), min orders, median order value, discount Beta(a, b),
# recency (offset, exp mean), tenure (offset, exp mean), open Beta(a, b), click Beta(a, b),
# sessions mean, views per session, cart-add share of views, abandonment Beta(a, b),
# engagement Gamma(shape, scale)
_P = {
    "loyal_high_spender": (10.0, 4, 130.0, (1, 12), (0, 12), (400, 600), (4, 6), (4, 8), 6.0,
                           3.0, 0.10, (1, 6), (2.0, 12.0)),
    "bargain_hunter": (4.0, 2, 32.0, (8, 2), (0, 25), (200, 400), (5, 5), (5, 6), 4.0,
                       3.0, 0.08, (2, 5), (3.0, 10.0)),
    "window_shopper": (0.0, 0, 0.0, (1, 1), (0, 0), (30, 300), (1, 8), (1, 8), 16.0,
                       4.0, 0.30, (8, 2), (2.0, 8.0)),
    "new_customer": (0.4, 1, 60.0, (2, 8), (0, 8), (0, 0), (5, 4), (4, 6), 8.0,
                     3.0, 0.10, (2, 4), (2.0, 10.0)),
    "lapsed": (3.0, 2, 60.0, (1, 8), (200, 220), (450, 500), (1, 15), (1, 10), 0.3,
               2.0, 0.05, (2, 3), (0.5, 1.0)),
    "email_reader": (0.0, 0, 0.0, (1, 1), (0, 0), (100, 600), (8, 3), (6, 5), 0.7,
                     2.0, 0.05, (2, 3), (3.0, 10.0)),
}  # fmt: skip


def make_synthetic_features(
    n: int, seed: int = 0, id_offset: int = 0, id_prefix: str = "p"
) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` persons in the shape of the ``customer_features`` mart, and their planted group.

    Person ids are ``f"{id_prefix}{id_offset + i:08d}"``; rows come in random group order.
    """
    rng = np.random.default_rng(seed)
    group = rng.choice(len(GROUPS), size=n, p=np.array(SHARES) / sum(SHARES))
    cols: dict[str, np.ndarray] = {
        name: np.full(n, np.nan)
        for name in (
            "recency_days",
            "frequency",
            "monetary",
            "frequency_window",
            "monetary_window",
            "average_order_value",
            "discount_order_share",
            "tenure_days",
            "engagement_score",
            "email_engagement_score",
            "first_to_last_purchase_days",
            "email_open_rate_90d",
            "email_click_rate_90d",
            "days_since_last_visit",
            "days_since_last_product_view",
            "days_since_last_email_open",
            "web_sessions_90d",
            "product_views_90d",
            "cart_adds_90d",
            "abandoned_cart_count",
            "cart_abandonment_rate",
        )
    }
    for g, name in enumerate(GROUPS):
        idx = np.flatnonzero(group == g)
        m = len(idx)
        if m == 0:
            continue
        (
            extra_orders,
            min_orders,
            aov_median,
            disc,
            rec,
            ten,
            open_ab,
            click_ab,
            sessions_mean,
            views_per_session,
            add_share,
            aband_ab,
            eng,
        ) = _P[name]
        tenure = np.floor(ten[0] + rng.exponential(ten[1] or 30.0, m)) + 1
        if name == "new_customer":
            tenure = rng.integers(1, 46, m).astype(float)
        rate = rng.gamma(3.0, extra_orders / 3.0, m) if extra_orders else np.zeros(m)
        orders = min_orders + rng.poisson(rate)
        buyers = orders > 0
        aov = aov_median * rng.lognormal(0.0, 0.45, m)
        monetary = orders * aov * rng.normal(1.0, 0.05, m)
        recency = np.minimum(np.floor(rec[0] + rng.exponential(rec[1] or 1.0, m)), tenure)
        cols["frequency"][idx] = orders
        cols["monetary"][idx] = np.where(buyers, np.round(monetary, 2), np.nan)
        cols["average_order_value"][idx] = np.where(
            buyers, np.round(monetary / np.maximum(orders, 1), 2), np.nan
        )
        cols["discount_order_share"][idx] = np.where(
            buyers, np.round(rng.beta(*disc, m) * orders) / np.maximum(orders, 1), np.nan
        )
        cols["recency_days"][idx] = np.where(buyers, recency, np.nan)
        # first to last order: 0 for a single order, part of the active span for repeat buyers
        span = np.floor(np.maximum(tenure - recency, 0) * rng.uniform(0.3, 1.0, m))
        cols["first_to_last_purchase_days"][idx] = np.where(
            buyers, np.where(orders > 1, span, 0.0), np.nan
        )
        share_365 = np.where(recency < 365, rng.uniform(0.3, 1.0, m), 0.0)
        cols["frequency_window"][idx] = np.where(buyers, np.round(orders * share_365), 0.0)
        cols["monetary_window"][idx] = np.where(buyers, np.round(monetary * share_365, 2), 0.0)
        cols["tenure_days"][idx] = tenure
        cols["engagement_score"][idx] = np.round(rng.gamma(eng[0], eng[1], m), 3)
        emailed = rng.random(m) > 0.05
        opens = rng.beta(*open_ab, m)
        cols["email_open_rate_90d"][idx] = np.where(emailed, np.round(opens, 3), np.nan)
        cols["email_engagement_score"][idx] = np.where(
            emailed, np.round(cols["engagement_score"][idx] * opens, 3), 0.0
        )
        cols["email_click_rate_90d"][idx] = np.where(
            emailed, np.round(opens * rng.beta(*click_ab, m), 3), np.nan
        )
        open_gap = np.floor(rng.exponential(3.0 / np.maximum(opens, 0.01)))
        cols["days_since_last_email_open"][idx] = np.where(
            emailed & (opens > 0.05), open_gap, np.nan
        )
        sessions = rng.poisson(rng.gamma(2.0, sessions_mean / 2.0, m))
        views = rng.poisson(sessions * views_per_session)
        adds = rng.binomial(views, add_share)
        abandoned = rng.binomial(adds, rng.beta(*aband_ab, m))
        cols["web_sessions_90d"][idx] = sessions
        cols["product_views_90d"][idx] = views
        cols["cart_adds_90d"][idx] = adds
        cols["abandoned_cart_count"][idx] = abandoned
        cols["cart_abandonment_rate"][idx] = np.where(
            adds > 0, np.round(abandoned / np.maximum(adds, 1), 3), np.nan
        )
        cols["days_since_last_visit"][idx] = np.where(
            sessions > 0, np.floor(rng.exponential(90.0 / np.maximum(sessions, 1))), np.nan
        )
        cols["days_since_last_product_view"][idx] = np.where(
            views > 0, np.floor(rng.exponential(90.0 / np.maximum(views, 1)) * 2), np.nan
        )
    df = pd.DataFrame({"person_id": [f"{id_prefix}{id_offset + i:08d}" for i in range(n)], **cols})
    df["is_email_opted_in"] = rng.random(n) < 0.8
    df["has_recent_browsing_intent"] = df["product_views_90d"].to_numpy() >= 10
    return df, group
