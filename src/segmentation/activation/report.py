"""The per-run sync report: one log line and a JSON file in ``<state_dir>/reports/``.
It names the env var that holds the endpoint, never the URL or the token (either may
carry a credential)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from segmentation.activation.files import atomic_write_json
from segmentation.activation.paths import reports_dir, safe_name


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SyncReport:
    destination: str
    status: str = "ok"  # ok | failed | skipped
    message: str = ""
    run_id: str = ""
    sync_id: str = ""  # the sync_id the state is (or will be) stamped with
    base_sync_id: str | None = None
    endpoint_env: str = ""
    changes: int = 0
    adds: int = 0
    updates: int = 0
    removes: int = 0
    batches_total: int = 0
    batches_confirmed: int = 0  # over all runs of this change set
    batches_resumed: int = 0  # confirmed by an earlier, interrupted run
    requests: int = 0  # HTTP attempts made by this run
    retries: int = 0
    waited_seconds: float = 0.0
    seconds: float = 0.0
    state_rows: int | None = None
    started_at: str = field(default_factory=utc_stamp)
    finished_at: str = ""
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            f"sync {self.status}",
            f"destination={self.destination}",
            f"changes={self.changes}",
            f"adds={self.adds}",
            f"updates={self.updates}",
            f"removes={self.removes}",
            f"batches={self.batches_confirmed}/{self.batches_total}",
            f"retries={self.retries}",
            f"time={self.seconds:.1f}s",
        ]
        if self.batches_resumed:
            parts.append(f"resumed={self.batches_resumed}")
        if self.message:
            parts.append(f"({self.message})")
        return " ".join(parts)


def write_report(state_dir: Path, report: SyncReport) -> Path:
    report.finished_at = report.finished_at or utc_stamp()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = reports_dir(state_dir) / f"{safe_name(report.destination)}-{stamp}.json"
    atomic_write_json(path, asdict(report))
    return path
