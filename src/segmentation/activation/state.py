"""The sync state: what a destination is confirmed to hold, one Parquet file per
destination, one row per (destination, audience, person_id).

dbt reads these files as a source to diff the next change set against, so the columns,
their order and types are a contract (``state_schema``). A state file is replaced whole and
atomically, and only after every batch of a change set was confirmed. Every row carries the
sync_id of the sync that wrote the file; a file with no rows (everyone removed) has none,
and counts as never synced (``none``), as it does for dbt.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segmentation.activation.files import atomic_write
from segmentation.activation.published import (
    MERGE_FIELDS,
    NEVER_SYNCED,
    ActivationError,
    Change,
)

STATE_COLUMNS = (
    "destination",
    "audience",
    "person_id",
    "email",
    *MERGE_FIELDS,
    "member_fingerprint",
    "sync_id",
)


def state_schema() -> pa.Schema:
    """The state file's Arrow schema: varchar columns, then synced_at (UTC, no time zone)."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in STATE_COLUMNS]
        + [pa.field("synced_at", pa.timestamp("us"))]
    )


def empty_state() -> pa.Table:
    return state_schema().empty_table()


def read_state(path: Path) -> pa.Table:
    """The state file's rows (none if there is no file yet), checked against the schema."""
    if not path.exists():
        return empty_state()
    table = pq.read_table(path)
    if not table.schema.remove_metadata().equals(state_schema()):
        raise ActivationError(
            f"state file {path} does not have the state schema:\n{table.schema}\n"
            f"expected:\n{state_schema()}"
        )
    return table


def state_sync_id(table: pa.Table) -> str:
    ids = set(table.column("sync_id").to_pylist())
    if len(ids) > 1:
        raise ActivationError(f"state rows carry several sync_ids {sorted(ids)}: corrupt state")
    return ids.pop() if ids else NEVER_SYNCED


def apply_changes(
    state: pa.Table,
    changes: Iterable[Change],
    destination: str,
    sync_id: str,
    synced_at: datetime,
) -> pa.Table:
    """Old state minus the removes, adds and updates upserted from the change rows; every
    row stamped with ``sync_id`` and ``synced_at``; sorted by (audience, person_id)."""
    rows = {(r["audience"], r["person_id"]): r for r in state.to_pylist()}
    for change in changes:
        key = (change.audience, change.person_id)
        if change.op == "remove":
            rows.pop(key, None)
        else:
            rows[key] = {
                "audience": change.audience,
                "person_id": change.person_id,
                "email": change.email,
                **change.fields(),
                "member_fingerprint": change.member_fingerprint,
            }
    stamped = [
        {**rows[key], "destination": destination, "sync_id": sync_id, "synced_at": synced_at}
        for key in sorted(rows)
    ]
    return pa.Table.from_pylist(stamped, schema=state_schema())


def write_state(path: Path, table: pa.Table) -> None:
    if not table.schema.equals(state_schema()):
        raise ValueError("refusing to write a state table that does not have the state schema")
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
