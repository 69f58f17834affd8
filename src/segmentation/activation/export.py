"""`segmentation export`: one destination's audiences as an import file plus a manifest.

``full`` writes every exported member (the treatment groups); otherwise the change set
since the last confirmed sync, with its change type. The file's bytes depend only on the
published data (sorted rows, fixed formatting), so two exports of one build are identical
and the manifest's sha256 tells a consumer it got the whole file. Exporting never touches
the sync state: a file handed over by hand is not a confirmed delivery.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from segmentation.activation import paths
from segmentation.activation.files import atomic_write_bytes, atomic_write_json
from segmentation.activation.layouts import Layout, layout
from segmentation.activation.published import (
    ActivationError,
    Member,
    change_set,
    destination,
    exported_members,
    members_as_of,
    open_published,
)

FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: Path
    rows: int
    seconds: float

    def line(self) -> str:
        return f"wrote {self.path} rows={self.rows} in {self.seconds:.2f}s"


def render(file_layout: Layout, rows: Sequence[Member], fmt: str, with_change: bool) -> bytes:
    """The file's bytes: CSV (RFC 4180, CRLF, header row) or one JSON object a line."""
    header = file_layout.header(with_change)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in file_layout.values(row, with_change)])
        return buffer.getvalue().encode("utf-8")
    if fmt == "jsonl":
        lines = (
            json.dumps(dict(zip(header, file_layout.values(row, with_change), strict=True)))
            for row in rows
        )
        return "".join(line + "\n" for line in lines).encode("utf-8")
    raise ActivationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def export_name(name: str, kind: str, as_of: datetime, fmt: str) -> str:
    return f"{paths.safe_name(name)}-{kind}-{as_of:%Y%m%dT%H%M%S}.{fmt}"


def export(
    db: Path, name: str, fmt: str = "csv", full: bool = False, out: Path | None = None
) -> ExportResult:
    """Write ``<out>/<name>-<full|changes>-<as_of>.<fmt>`` and its ``.manifest.json``."""
    started = time.perf_counter()
    if fmt not in FORMATS:
        raise ActivationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    con = open_published(db)
    try:
        target = destination(con, name)
        file_layout = layout(target.layout)
        if full:
            rows: Sequence[Member] = exported_members(con, name)
            as_of, base = members_as_of(con, name), None
        else:
            changes = change_set(con, name)
            rows, as_of, base = changes.changes, changes.as_of, changes.base_sync_id
    finally:
        con.close()
    if as_of is None:
        raise ActivationError(f"destination {name!r} has no rows with an as_of to name the file")
    kind = "full" if full else "changes"
    data = render(file_layout, rows, fmt, with_change=not full)
    out_dir = out or paths.exports_dir(name)
    path = out_dir / export_name(name, kind, as_of, fmt)
    atomic_write_bytes(path, data)
    manifest = {
        "destination": name,
        "layout": file_layout.name,
        "format": fmt,
        "kind": kind,
        "rows": len(rows),
        "sha256": hashlib.sha256(data).hexdigest(),
        "as_of": as_of.isoformat(),
        "written_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "file": path.name,
    }
    if not full:
        manifest["base_sync_id"] = base
    manifest_path = path.with_name(path.name + ".manifest.json")
    atomic_write_json(manifest_path, manifest)
    return ExportResult(path, manifest_path, len(rows), time.perf_counter() - started)
