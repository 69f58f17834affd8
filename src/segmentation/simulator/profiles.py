"""Persona parameters as arrays indexed by persona number (the strangers who never sign
up are the last index), and the event vocabularies."""

from __future__ import annotations

import numpy as np

from segmentation import contract
from segmentation.personas import PERSONA_NAMES, PERSONAS, STRANGER

ALL_PROFILES = (*PERSONAS, STRANGER)
N_PERSONAS = len(PERSONAS)
STRANGER_IDX = N_PERSONAS
PERSONA = {name: i for i, name in enumerate(PERSONA_NAMES)}

WEB_TYPES = contract.WEB_EVENT_TYPES
PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD, REMOVE, CHECKOUT, PURCHASE = range(7)
EMAIL_TYPES = contract.EMAIL_EVENT_TYPES
SENT, DELIVERED, OPEN, CLICK, BOUNCE, UNSUBSCRIBE, SPAM = range(7)
COMPLETED, CANCELLED, RETURNED = range(3)  # contract.ORDER_STATUSES


def _param(name: str) -> np.ndarray:
    return np.array([getattr(p, name) for p in ALL_PROFILES], dtype=np.float64)


P = {
    name: _param(name)
    for name in (
        "order_rate",
        "order_shape",
        "min_orders",
        "lines_mean",
        "price_pref",
        "discount_prob",
        "browse_rate",
        "session_len",
        "event_gap",
        "p_add",
        "p_checkout",
        "consider_rate",
        "p_anonymous",
        "email_recv",
        "open_rate",
        "click_rate",
        "optout_rate",
        "consent_rate",
        "signup_in_window",
        "email_lift",
    )
}
P["discount_lo"] = np.array([p.discount_range[0] for p in ALL_PROFILES])
P["discount_hi"] = np.array([p.discount_range[1] for p in ALL_PROFILES])
CAT_CDF = np.array([np.cumsum(p.categories) / sum(p.categories) for p in ALL_PROFILES])


def category_of(rng: np.random.Generator, persona: np.ndarray) -> np.ndarray:
    """A category per draw from the persona's category weights."""
    u = rng.random(len(persona))
    out = np.empty(len(persona), dtype=np.int64)
    for p in range(len(ALL_PROFILES)):
        sel = persona == p
        if sel.any():
            out[sel] = np.minimum(np.searchsorted(CAT_CDF[p], u[sel], side="right"), 7)
    return out
