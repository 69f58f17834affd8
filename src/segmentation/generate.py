"""Synthetic raw data for the segmentation warehouse (the ``raw`` source contract).

``generate()`` simulates ``days`` days of the shop of :mod:`segmentation.simulator` from
an empty state: it creates a population of ``customers`` latent persons, each following
one of the personas in :mod:`segmentation.personas` (``PERSONA_NAMES``), and writes the
eight contract tables as ``<out>/<table>.parquet``, the ground truth (``TRUTH_TABLES``
and ``generation.json``) and the population state to the truth folder, so tests and
clustering evaluations can check themselves against it and ``segmentation generate
--append`` (:mod:`segmentation.append`) can go on from ``end``.

Persons are processed in chunks of ``CHUNK_SIZE`` (one Parquet file per table, one row
group per chunk) so a million customers fit in about 1.5 GB. The output is a pure
function of (customers, days, seed, end, chunk_size): the same arguments give
byte-identical files. Nothing is after ``end`` except the planted ``future_timestamp``
rows, and the newest received_at / updated_at of every table is within an hour of
``end``; see :mod:`segmentation.simulator` for the conventions of the data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from segmentation.personas import PERSONA_NAMES
from segmentation.simulator.run import CHUNK_SIZE, generate_run, resolve_end
from segmentation.simulator.state import STATE_DIR
from segmentation.simulator.truth import GENERATION_FILE, TRUTH_TABLES
from segmentation.simulator.writers import CURRENCY

__all__ = [
    "CHUNK_SIZE",
    "CURRENCY",
    "GENERATION_FILE",
    "PERSONA_NAMES",
    "STATE_DIR",
    "TRUTH_TABLES",
    "generate",
]


def generate(
    customers: int,
    days: int,
    seed: int,
    end: datetime | None,
    out: Path,
    truth_out: Path | None = None,
    progress: bool = True,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, int]:
    """Writes <out>/<table>.parquet for all 8 contract tables and the ground truth and
    population state to truth_out (default: out.parent / "truth"). Returns rows written
    per table. end=None -> now (UTC, truncated to the second).

    ``customers`` is the number of persons; about 3 % of them get a second customer
    record.
    """
    if customers < 1:
        raise ValueError("customers must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    out = Path(out)
    truth_out = Path(truth_out) if truth_out is not None else out.parent / "truth"
    if truth_out.resolve().is_relative_to(out.resolve()):
        raise ValueError("truth_out must be outside out (the truth never goes with the raw data)")
    out.mkdir(parents=True, exist_ok=True)
    truth_out.mkdir(parents=True, exist_ok=True)
    return generate_run(
        customers, days, seed, resolve_end(end), out, truth_out, progress, chunk_size
    )
