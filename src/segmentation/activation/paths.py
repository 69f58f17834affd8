"""Where activation files live. Relative paths are taken from the project folder, which is
looked up only when one is needed (absolute settings work from any working directory)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from segmentation import project as proj
from segmentation.activation.published import ActivationError

STATE_DIR_ENV = "SEGMENTATION_ACTIVATION_STATE_DIR"
DEFAULT_STATE_DIR = Path("data/activation/state")
DEFAULT_EXPORTS_DIR = Path("data/exports")
# destination names become file names: keep them to one harmless path component
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def in_project(path: Path, project: Path | None = None) -> Path:
    if path.is_absolute():
        return path
    return (project or proj.project_dir()) / path


def published_db(project: Path | None = None) -> Path:
    from segmentation.refresh import DEFAULT_PUBLISHED_PATH, published_path

    configured = Path(os.environ.get("SEGMENTATION_PUBLISHED_PATH", str(DEFAULT_PUBLISHED_PATH)))
    if configured.is_absolute():
        return configured
    return published_path(project or proj.project_dir())


def state_dir(project: Path | None = None) -> Path:
    return in_project(Path(os.environ.get(STATE_DIR_ENV, str(DEFAULT_STATE_DIR))), project)


def safe_name(destination: str) -> str:
    if not _SAFE_NAME.match(destination):
        raise ActivationError(f"destination name not usable as a file name: {destination!r}")
    return destination


def state_file(directory: Path, destination: str) -> Path:
    return directory / f"{safe_name(destination)}.parquet"


def journal_file(directory: Path, destination: str) -> Path:
    return directory / f"{safe_name(destination)}.pending.json"


def lock_file(directory: Path, destination: str) -> Path:
    return directory / f"{safe_name(destination)}.sync.lock"


def reports_dir(directory: Path) -> Path:
    return directory / "reports"


def exports_dir(destination: str, project: Path | None = None) -> Path:
    return in_project(DEFAULT_EXPORTS_DIR / safe_name(destination), project)
