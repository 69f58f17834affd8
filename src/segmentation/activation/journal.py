"""The pending journal of a sync in progress: ``<state_dir>/<destination>.pending.json``.

Written (atomically) when a sync starts and after every confirmed batch, removed once the
new state file is in place. A run that finds one for the very change set it is about to
send (same base_sync_id, checksum and batch count) resumes: it sends only the batches not
yet confirmed, with the same idempotency keys, and stamps the state with the journal's
sync_id, so a resumed sync ends exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from segmentation.activation.files import atomic_write_json


@dataclass
class Journal:
    destination: str
    run_id: str  # the run that started this change set's delivery
    sync_id: str  # the sync_id the state is stamped with once every batch is confirmed
    base_sync_id: str
    checksum: str  # of the whole change set (sync.change_set_checksum)
    batch_count: int
    started_at: str
    confirmed: list[int] = field(default_factory=list)

    def matches(self, base_sync_id: str | None, checksum: str, batch_count: int) -> bool:
        return (
            self.base_sync_id == base_sync_id
            and self.checksum == checksum
            and self.batch_count == batch_count
        )

    def confirm(self, batch_number: int) -> None:
        self.confirmed = sorted({*self.confirmed, batch_number})


def load_journal(path: Path) -> Journal | None:
    """The journal, or None if there is none. An unreadable one raises ValueError."""
    if not path.exists():
        return None
    try:
        return Journal(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"unreadable journal {path}: {exc}") from exc


def save_journal(path: Path, journal: Journal) -> None:
    atomic_write_json(path, asdict(journal))


def remove_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
