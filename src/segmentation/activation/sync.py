"""`segmentation sync`: deliver a destination's change set over HTTP, exactly once in effect.

The change set (activation.audience_changes) was diffed by dbt against the state file
whose sync_id it names as its base. A sync sends it only if the state is still at that
base: otherwise it was delivered already, or is stale, and a refresh must diff anew.

Batches are cut in a fixed order, so a batch's bytes and its Idempotency-Key (a hash of
destination, base and body) are the same on every run. After each confirmed batch the
journal records it; a run killed at any point resumes from the journal and resends at most
the one batch that was in flight, with its old key, which the destination dedupes. Only
once every batch is confirmed is the new state written (atomically), then the journal
removed. A failed sync leaves the state untouched and keeps the journal.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from segmentation.activation import paths
from segmentation.activation.journal import Journal, load_journal, remove_journal, save_journal
from segmentation.activation.published import (
    ActivationError,
    Change,
    ChangeSet,
    Destination,
    change_set,
    destination,
    open_published,
)
from segmentation.activation.report import SyncReport, utc_stamp, write_report
from segmentation.activation.state import apply_changes, read_state, state_sync_id, write_state
from segmentation.activation.transport import DeliveryFailed, RetryPolicy, post_with_retries
from segmentation.faults import kill_point
from segmentation.lock import exclusive_lock

LOCKED_EXIT = 75  # EX_TEMPFAIL, as for the refresh: another sync of the destination runs
USER_AGENT = "segmentation-sync/1"

Log = Callable[[str], None]


class SyncLocked(ActivationError):
    """Another sync of the same destination holds the lock."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str = field(repr=False)  # never printed, logged or reported


@dataclass(frozen=True)
class Batch:
    number: int  # 1-based
    count: int
    changes: tuple[Change, ...]
    body: bytes
    idempotency_key: str


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def endpoint(target: Destination) -> Endpoint:
    """URL and token from the env vars the destination names."""
    values = {}
    for env in (target.endpoint_env, target.token_env):
        value = os.environ.get(env, "")
        if not value:
            raise ActivationError(
                f"env var {env} is not set: destination {target.name!r} reads its "
                f"endpoint from {target.endpoint_env} and its token from {target.token_env}"
            )
        values[env] = value
    url = values[target.endpoint_env]
    if urlsplit(url).scheme not in ("http", "https"):
        raise ActivationError(f"{target.endpoint_env} must be an http(s) URL")
    return Endpoint(url, values[target.token_env])


def _canonical(payload: object) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def change_payload(change: Change) -> dict[str, object]:
    return {
        "op": change.op,
        "audience": change.audience,
        "person_id": change.person_id,
        "email": change.email,
        "fields": change.fields(),
    }


def idempotency_key(name: str, base_sync_id: str | None, body: bytes) -> str:
    return hashlib.sha256(f"{name}\n{base_sync_id}\n".encode() + body).hexdigest()


def plan_batches(changes: ChangeSet, batch_size: int) -> list[Batch]:
    """The change set (already sorted by audience, person_id, change_type) in batches."""
    chunks = [
        changes.changes[i : i + batch_size] for i in range(0, len(changes.changes), batch_size)
    ]
    batches = []
    for number, chunk in enumerate(chunks, start=1):
        body = _canonical(
            {
                "destination": changes.destination,
                "batch_number": number,
                "batch_count": len(chunks),
                "changes": [change_payload(c) for c in chunk],
            }
        )
        key = idempotency_key(changes.destination, changes.base_sync_id, body)
        batches.append(Batch(number, len(chunks), chunk, body, key))
    return batches


def change_set_checksum(changes: ChangeSet) -> str:
    return hashlib.sha256(
        _canonical(
            {
                "destination": changes.destination,
                "base_sync_id": changes.base_sync_id,
                "changes": [c.as_dict() for c in changes.changes],
            }
        )
    ).hexdigest()


@contextmanager
def sync_lock(state_dir: Path, name: str) -> Iterator[None]:
    """One sync per destination at a time; the OS drops the lock when its holder dies."""
    path = paths.lock_file(state_dir, name)
    with exclusive_lock(path) as handle:
        if handle is None:
            raise SyncLocked(f"another sync of {name!r} is running ({path})")
        yield


def sync(db: Path, name: str, state_dir: Path | None = None, log: Log = _stderr) -> SyncReport:
    """Deliver ``name``'s change set; the report says ok, failed or skipped (and why)."""
    started = time.perf_counter()
    con = open_published(db)
    try:
        target = destination(con, name)
        changes = change_set(con, name)
    finally:
        con.close()
    where = endpoint(target)
    directory = state_dir or paths.state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    report = SyncReport(
        destination=name,
        run_id=uuid.uuid4().hex,
        base_sync_id=changes.base_sync_id,
        endpoint_env=target.endpoint_env,
        changes=len(changes.changes),
        adds=changes.count("add"),
        updates=changes.count("update"),
        removes=changes.count("remove"),
    )
    with sync_lock(directory, name):
        _run(target, where, changes, directory, report, log)
    report.seconds = time.perf_counter() - started
    write_report(directory, report)
    return report


def _run(
    target: Destination,
    where: Endpoint,
    changes: ChangeSet,
    directory: Path,
    report: SyncReport,
    log: Log,
) -> None:
    state_path = paths.state_file(directory, target.name)
    journal_path = paths.journal_file(directory, target.name)
    state = read_state(state_path)
    current = state_sync_id(state)
    batches = plan_batches(changes, target.batch_size)
    report.batches_total = len(batches)
    journal = _resumable_journal(journal_path, changes, len(batches), current, report, log)
    if journal is None:
        reason = _skip_reason(changes, current)
        if reason:
            report.status, report.message = "skipped", reason
            return
        journal = Journal(
            destination=target.name,
            run_id=report.run_id,
            sync_id=uuid.uuid4().hex,
            base_sync_id=str(changes.base_sync_id),
            checksum=change_set_checksum(changes),
            batch_count=len(batches),
            started_at=utc_stamp(),
        )
        save_journal(journal_path, journal)
    report.sync_id = journal.sync_id
    report.batches_resumed = len(journal.confirmed)
    report.batches_confirmed = len(journal.confirmed)
    if current == journal.sync_id:
        report.notes.append("the interrupted run had written the state; closed its journal")
    else:
        try:
            _deliver(batches, journal, journal_path, where, report)
        except DeliveryFailed as exc:
            report.status = "failed"
            report.message = f"{exc}; state unchanged, re-run to resume"
            return
        synced_at = datetime.now(UTC).replace(tzinfo=None)
        state = apply_changes(state, changes.changes, target.name, journal.sync_id, synced_at)
        write_state(state_path, state)
        kill_point("sync:state_written")
    remove_journal(journal_path)
    report.state_rows = state.num_rows


def _resumable_journal(
    path: Path,
    changes: ChangeSet,
    batch_count: int,
    current: str,
    report: SyncReport,
    log: Log,
) -> Journal | None:
    """The pending journal if it is for exactly this change set, else None (and discarded)."""
    try:
        journal = load_journal(path)
    except ValueError as exc:
        journal, why = None, str(exc)
    else:
        if journal is None:
            return None
        matches = journal.matches(changes.base_sync_id, change_set_checksum(changes), batch_count)
        # the state must still be at the journal's base, or be what the journal wrote
        if matches and current in (journal.base_sync_id, journal.sync_id):
            note = (
                f"resuming run {journal.run_id}: {len(journal.confirmed)}/{batch_count} "
                "batches already confirmed"
            )
            log(note)
            report.notes.append(note)
            return journal
        why = (
            f"journal of run {journal.run_id} (base {journal.base_sync_id}, "
            f"{len(journal.confirmed)}/{journal.batch_count} batches confirmed) is not for "
            "the current change set"
        )
    note = f"discarding stale journal {path.name}: {why}"
    log(note)
    report.notes.append(note)
    remove_journal(path)
    return None


def _skip_reason(changes: ChangeSet, current: str) -> str:
    if not changes.changes:
        return "no changes since the last confirmed sync: nothing to deliver"
    if changes.base_sync_id != current:
        return (
            f"the change set was computed against sync {changes.base_sync_id} but the state "
            f"is at {current}: it was already delivered or is stale; nothing delivered, a "
            "refresh must compute a new change set"
        )
    return ""


def _deliver(
    batches: list[Batch], journal: Journal, journal_path: Path, where: Endpoint, report: SyncReport
) -> None:
    """Send the batches the journal has not confirmed, recording each confirmation."""
    policy = RetryPolicy.from_env()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {where.token}",
        "User-Agent": USER_AGENT,
    }
    for batch in batches:
        if batch.number in journal.confirmed:
            continue
        try:
            delivery = post_with_retries(
                where.url, batch.body, {**headers, "Idempotency-Key": batch.idempotency_key}, policy
            )
        except DeliveryFailed as exc:
            _count(report, exc.attempts, exc.waited)
            raise DeliveryFailed(
                f"batch {batch.number}/{batch.count}: {exc}", exc.attempts, exc.waited
            ) from None
        _count(report, delivery.attempts, delivery.waited)
        # the destination has the batch, the journal does not know yet: a kill here makes
        # the next run resend it with the same key
        kill_point(f"sync:batch_sent:{batch.number}")
        journal.confirm(batch.number)
        save_journal(journal_path, journal)
        report.batches_confirmed = len(journal.confirmed)
        kill_point("sync:batch_confirmed")
        kill_point(f"sync:batch_confirmed:{batch.number}")


def _count(report: SyncReport, attempts: int, waited: float) -> None:
    report.requests += attempts
    report.retries += attempts - 1
    report.waited_seconds = round(report.waited_seconds + waited, 3)
