"""Configuration of a clustering run: a plain dict (from dbt vars) resolved into a dataclass.

Every key is optional; :data:`DEFAULT_CONFIG` lists them with their defaults. Unknown keys are
an error (a typo in a dbt var should not silently fall back to a default).

:func:`config_fingerprint` hashes every setting but the refit cadence (``refit_every_days``):
centres fitted under another fingerprint are refitted, not reused (see ``cadence.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The default features were chosen for recovering behaviour groups with k-means and k picked by
# silhouette (measured on the demo generator's seven personas, 10k-50k customers, several seeds:
# adjusted Rand index ~0.8 with k = 7). Each one separates a group the others cannot:
#   recency_days                 recent buyers vs lapsed ones (linear, see the log list)
#   frequency, monetary          how much someone buys
#   discount_order_share         discount-driven buyers
#   tenure_days                  new sign-ups
#   first_to_last_purchase_days  a repeat buyer's active span (0 for a single order): lapsed
#                                regulars vs one-time buyers, who look alike on recency alone
#   abandoned_cart_count         cart abandoners among the browsers
#   web_sessions_90d             current browsing
#   days_since_last_visit        web recency: stopped visiting vs active
#   email_engagement_score       e-mail opens and clicks, decayed by age (a volume: unlike the
#                                90-day open rate it is not a noisy 0/1 for someone who got
#                                one or two e-mails, nor null for someone who got none)
# Fewer features work better than many: rates of small counts (open rate, click rate, cart
# abandonment rate) and near-duplicates (product views, cart adds, engagement_score, order
# value) add within-group noise that k-means splits on, so silhouette then prefers merging
# real groups. They are profiled (DEFAULT_PROFILE_EXTRA) and still name the clusters.
DEFAULT_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "discount_order_share",
    "tenure_days",
    "first_to_last_purchase_days",
    "abandoned_cart_count",
    "web_sessions_90d",
    "days_since_last_visit",
    "email_engagement_score",
)

# Skewed counts, money and durations: log1p. recency_days stays linear: on a log scale 90, 180
# and 365 days are close together, which is where lapsed buyers, one-time buyers and
# non-buyers (null -> max observed + 1) differ. Entries that are not clustering features only
# affect how profiled columns are z-scored for the cluster names.
DEFAULT_LOG_FEATURES: tuple[str, ...] = (
    "frequency",
    "monetary",
    "tenure_days",
    "first_to_last_purchase_days",
    "abandoned_cart_count",
    "web_sessions_90d",
    "days_since_last_visit",
    "email_engagement_score",
    # profiled only
    "average_order_value",
    "engagement_score",
    "product_views_90d",
    "cart_adds_90d",
)

# "Days since X" columns: a null means "X never happened", which is the far end of the scale.
DEFAULT_RECENCY_FEATURES: tuple[str, ...] = (
    "recency_days",
    "days_since_last_visit",
    "days_since_last_product_view",
    "days_since_last_email_open",
)

# Mart columns that are profiled (mean / median / z-score per cluster) when present, on top
# of the clustering features. They do not influence the clusters; the e-mail, browsing, cart
# and order-value columns here feed the cluster names (see naming.py).
DEFAULT_PROFILE_EXTRA: tuple[str, ...] = (
    "average_order_value",
    "frequency_window",
    "monetary_window",
    "engagement_score",
    "email_open_rate_90d",
    "email_click_rate_90d",
    "product_views_90d",
    "cart_adds_90d",
    "cart_abandonment_rate",
    "days_since_last_product_view",
    "days_since_last_email_open",
    "is_email_opted_in",
    "has_recent_browsing_intent",
)

ALGORITHMS: tuple[str, ...] = ("kmeans", "hierarchical", "dbscan", "hdbscan")
SCALERS: tuple[str, ...] = ("standard", "robust")


@dataclass(frozen=True)
class ClusteringConfig:
    """Resolved configuration. Build it with :func:`resolve_config`."""

    # --- features -------------------------------------------------------------------------
    features: tuple[str, ...] = DEFAULT_FEATURES
    log_features: tuple[str, ...] = DEFAULT_LOG_FEATURES
    recency_features: tuple[str, ...] = DEFAULT_RECENCY_FEATURES
    # None: a null "days since" is max observed + 1 (never = longer ago than anyone observed)
    recency_null_fill: float | None = None
    # per-column fill for nulls, overriding the rules (default 0 for everything else)
    fill_values: Mapping[str, float] = field(default_factory=dict)
    scaler: str = "standard"
    # extra columns profiled besides the features (no effect on clusters);
    # None: the DEFAULT_PROFILE_EXTRA columns present in the frame
    profile_features: tuple[str, ...] | None = None
    # --- algorithm ------------------------------------------------------------------------
    algorithm: str = "kmeans"
    k: int | None = None  # None: chosen by silhouette over k_min..k_max
    k_min: int = 2
    k_max: int = 10
    min_cluster_share: float = 0.01  # k whose smallest sample cluster is smaller: not chosen
    random_state: int = 42
    sample_size: int = 20_000
    silhouette_sample_size: int = 10_000
    n_init: int = 10
    max_iter: int = 300
    minibatch_threshold: int = 200_000
    minibatch_batch_size: int = 4_096
    hierarchical_sample_size: int = 10_000
    density_sample_size: int = 20_000
    dbscan_eps: float | None = None  # None: knee of the sorted k-distance curve of the sample
    dbscan_min_samples: int | None = None  # None: 2 * number of features
    hdbscan_min_cluster_size: int | None = None  # None: max(10, min_cluster_share * sample)
    hdbscan_min_samples: int | None = None
    # --- labels and names -----------------------------------------------------------------
    max_match_distance: float | None = None  # None: Hungarian matches regardless of distance
    name_z_threshold: float = 0.5
    name_max_terms: int = 3
    chunk_size: int = 100_000
    # --- refit cadence --------------------------------------------------------------------
    # days between refits; in between, runs assign everyone to the stored centres (0: refit
    # every run). Not part of the config fingerprint: changing it does not force a refit.
    refit_every_days: int = 7

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fill_values"] = dict(self.fill_values)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


DEFAULT_CONFIG: dict[str, Any] = ClusteringConfig().as_dict()

# settings that do not define the fit (changing them does not make stored centres stale)
NOT_FINGERPRINTED: frozenset[str] = frozenset({"refit_every_days"})


def config_fingerprint(config: Mapping[str, Any] | ClusteringConfig | None = None) -> str:
    """A short hash of the resolved settings that define a fit: features, preparation,
    algorithm, k range, sample sizes, seeds, naming... everything but the refit cadence."""
    values = {
        k: v for k, v in resolve_config(config).as_dict().items() if k not in NOT_FINGERPRINTED
    }
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_TUPLE_KEYS = {"features", "log_features", "recency_features", "profile_features"}
_OPTIONAL_INT = {
    "k",
    "dbscan_min_samples",
    "hdbscan_min_cluster_size",
    "hdbscan_min_samples",
}
_OPTIONAL_FLOAT = {"recency_null_fill", "dbscan_eps", "max_match_distance"}
_INT = {
    "k_min",
    "k_max",
    "random_state",
    "sample_size",
    "silhouette_sample_size",
    "n_init",
    "max_iter",
    "minibatch_threshold",
    "minibatch_batch_size",
    "hierarchical_sample_size",
    "density_sample_size",
    "name_max_terms",
    "chunk_size",
    "refit_every_days",
}
_FLOAT = {"min_cluster_share", "name_z_threshold"}


def _is_none(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and value.strip().lower() in {"", "none", "null", "auto"}
    )


def _as_names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, Sequence):
        raise ValueError(f"clustering config {key!r} must be a list of column names")
    names = tuple(str(v) for v in value)
    if len(set(names)) != len(names):
        raise ValueError(f"clustering config {key!r} lists a column twice: {names}")
    return names


def resolve_config(config: Mapping[str, Any] | ClusteringConfig | None = None) -> ClusteringConfig:
    """Defaults + ``config``; values are coerced (dbt vars may arrive as strings)."""
    if isinstance(config, ClusteringConfig):
        return config
    config = dict(config or {})
    known = {f.name for f in dataclasses.fields(ClusteringConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown clustering config keys: {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, value in config.items():
        if key in _TUPLE_KEYS:
            values[key] = (
                None if key == "profile_features" and value is None else _as_names(key, value)
            )
        elif key in _OPTIONAL_INT:
            values[key] = None if _is_none(value) else int(value)
        elif key in _OPTIONAL_FLOAT:
            values[key] = None if _is_none(value) else float(value)
        elif key in _INT:
            values[key] = int(value)
        elif key in _FLOAT:
            values[key] = float(value)
        elif key in {"algorithm", "scaler"}:
            values[key] = str(value).strip().lower()
        elif key == "fill_values":
            values[key] = {str(k): float(v) for k, v in dict(value or {}).items()}
        else:  # pragma: no cover - every field is handled above
            values[key] = value
    resolved = ClusteringConfig(**values)
    _validate(resolved)
    return resolved


def _validate(c: ClusteringConfig) -> None:
    if c.algorithm not in ALGORITHMS:
        raise ValueError(f"clustering algorithm must be one of {ALGORITHMS}, got {c.algorithm!r}")
    if c.scaler not in SCALERS:
        raise ValueError(f"clustering scaler must be one of {SCALERS}, got {c.scaler!r}")
    if not c.features:
        raise ValueError("clustering needs at least one feature")
    if c.k is not None and c.k < 1:
        raise ValueError(f"clustering k must be >= 1, got {c.k}")
    if not 2 <= c.k_min <= c.k_max:
        raise ValueError(f"clustering needs 2 <= k_min <= k_max, got {c.k_min}..{c.k_max}")
    if not 0 <= c.min_cluster_share < 1:
        raise ValueError("clustering min_cluster_share must be in [0, 1)")
    for key in (
        "sample_size",
        "silhouette_sample_size",
        "n_init",
        "max_iter",
        "minibatch_batch_size",
        "hierarchical_sample_size",
        "density_sample_size",
        "name_max_terms",
        "chunk_size",
    ):
        if getattr(c, key) < 1:
            raise ValueError(f"clustering {key} must be >= 1")
    if c.refit_every_days < 0:
        raise ValueError("clustering refit_every_days must be >= 0 (0: refit every run)")
    if c.dbscan_eps is not None and c.dbscan_eps <= 0:
        raise ValueError("clustering dbscan_eps must be > 0")
