"""Reading the activation contract from the published database (read-only).

The tables are built by dbt (models/marts/activation): ``activation_destinations``,
``audience_members`` and ``audience_changes``. Rows come back in a deterministic order,
(audience, person_id), so files and batches are the same bytes on every run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

MERGE_FIELDS = (
    "first_name",
    "primary_segment",
    "lifecycle_stage",
    "value_tier",
    "purchase_likelihood",
    "churn_risk",
    "predicted_value",
    "favourite_category",
)
MEMBER_COLUMNS = ("audience", "person_id", "email", *MERGE_FIELDS, "member_fingerprint")
OPS = ("add", "update", "remove")
NEVER_SYNCED = "none"  # base_sync_id of a change set made with no state file


class ActivationError(Exception):
    """A problem the user can fix (bad name, missing file or setting): exit 2, no trace."""


@dataclass(frozen=True)
class Destination:
    name: str
    layout: str
    endpoint_env: str
    token_env: str
    batch_size: int
    description: str


@dataclass(frozen=True)
class Member:
    audience: str
    person_id: str
    email: str | None
    first_name: str | None
    primary_segment: str | None
    lifecycle_stage: str | None
    value_tier: str | None
    purchase_likelihood: str | None
    churn_risk: str | None
    predicted_value: str | None
    favourite_category: str | None
    member_fingerprint: str | None

    def fields(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in MERGE_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Change(Member):
    op: str  # add | update | remove (audience_changes.change_type)


@dataclass(frozen=True)
class ChangeSet:
    destination: str
    base_sync_id: str | None  # None when the change set is empty
    as_of: datetime | None
    changes: tuple[Change, ...]

    def count(self, op: str) -> int:
        return sum(1 for change in self.changes if change.op == op)


def open_published(db: Path) -> duckdb.DuckDBPyConnection:
    if not db.exists():
        raise ActivationError(
            f"no published database at {db}: run `segmentation run` or `segmentation refresh` "
            "first (or pass --db)"
        )
    return duckdb.connect(str(db), read_only=True)


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple]:
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.CatalogException as exc:
        first_line = str(exc).splitlines()[0]
        raise ActivationError(
            f"the published database has no activation marts ({first_line}): build them "
            "with `segmentation refresh` first"
        ) from None


def destinations(con: duckdb.DuckDBPyConnection) -> dict[str, Destination]:
    rows = _query(
        con,
        "select destination, layout, endpoint_env, token_env, batch_size, description "
        "from activation.activation_destinations order by destination",
        [],
    )
    return {
        name: Destination(name, layout, endpoint_env, token_env, int(batch_size), description)
        for name, layout, endpoint_env, token_env, batch_size, description in rows
    }


def destination(con: duckdb.DuckDBPyConnection, name: str) -> Destination:
    known = destinations(con)
    if name not in known:
        listed = ", ".join(known) or "(none: activation_destinations is empty)"
        raise ActivationError(f"unknown destination {name!r}; known destinations: {listed}")
    found = known[name]
    if found.batch_size < 1:
        raise ActivationError(f"destination {name!r} has batch_size {found.batch_size}; need >= 1")
    return found


def exported_members(con: duckdb.DuckDBPyConnection, name: str) -> list[Member]:
    rows = _query(
        con,
        f"select {', '.join(MEMBER_COLUMNS)} from activation.audience_members "
        "where destination = ? and is_exported order by audience, person_id",
        [name],
    )
    return [Member(*row) for row in rows]


def members_as_of(con: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    rows = _query(
        con, "select max(as_of) from activation.audience_members where destination = ?", [name]
    )
    return rows[0][0]


def change_set(con: duckdb.DuckDBPyConnection, name: str) -> ChangeSet:
    """The destination's changes since its last confirmed sync, checked for consistency."""
    rows = _query(
        con,
        f"select {', '.join(MEMBER_COLUMNS)}, change_type, base_sync_id, as_of "
        "from activation.audience_changes where destination = ? "
        "order by audience, person_id, change_type",
        [name],
    )
    changes = tuple(Change(*row[:-2]) for row in rows)
    bases = sorted({row[-2] for row in rows})
    if len(bases) > 1:
        raise ActivationError(f"audience_changes for {name!r} mixes base_sync_ids {bases}")
    bad_ops = sorted({c.op for c in changes} - set(OPS))
    if bad_ops:
        raise ActivationError(f"audience_changes for {name!r} has unknown change_type {bad_ops}")
    keys = {(c.audience, c.person_id) for c in changes}
    if len(keys) != len(changes):
        raise ActivationError(f"audience_changes for {name!r} has a person twice in an audience")
    as_of = max((row[-1] for row in rows), default=None) or members_as_of(con, name)
    return ChangeSet(name, bases[0] if bases else None, as_of, changes)
