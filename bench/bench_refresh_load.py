"""Load benchmark: many scheduled refreshes in a row on one warehouse, one new day each, to
show that neither the run time nor the files grow beyond what the data adds.

    make bench-load                     # or: .venv/bin/python bench/bench_refresh_load.py
    .venv/bin/python bench/bench_refresh_load.py --customers 20000 --refreshes 20

Generates the demo data (reused when already there), builds it with a first refresh, then
``--refreshes`` times: ``segmentation generate --append --days 1`` and ``segmentation
refresh`` in a subprocess, as cron runs it. Per refresh it prints the run time, the raw rows
added, and the size of the marts, work and published files with the share of free blocks
(``pragma_database_size``). Writes bench/results/refresh-load-<customers>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import END, PROJECT, machine  # noqa: E402
from segmentation import warehouse  # noqa: E402


def prepare(customers: int, days: int, work: Path) -> Path:
    """A fresh work folder with generated raw data (the generated set is reused)."""
    from segmentation.generate import generate

    source = PROJECT / "bench" / "data" / f"load-source-{customers}-{days}d"
    spec = {"customers": customers, "days": days, "seed": 42, "end": END.isoformat()}
    marker = source / "generated.json"
    if not (marker.exists() and json.loads(marker.read_text()) == spec):
        shutil.rmtree(source, ignore_errors=True)
        generate(
            customers=customers, days=days, seed=42, end=END,
            out=source / "raw", truth_out=source / "truth",
        )  # fmt: skip
        marker.write_text(json.dumps(spec))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(source / "raw", work / "raw")
    shutil.copytree(source / "truth", work / "truth")
    return work / "raw"


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEGMENTATION_RAW_DIR=str(work / "raw"),
        SEGMENTATION_DB_PATH=str(work / "warehouse.duckdb"),
        SEGMENTATION_PUBLISHED_PATH=str(work / "published.duckdb"),
        SEGMENTATION_TARGET="ci",
        DBT_PROFILES_DIR=str(PROJECT),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def file_sizes(work: Path) -> dict[str, dict[str, float]]:
    """Per file (marts, work, published): MB on disk and the share of its blocks that are
    free (DuckDB reuses free blocks; a file only shrinks when rewritten)."""
    db = work / "warehouse.duckdb"
    files = {
        "marts": db,
        "work": warehouse.work_db_path(db),
        "published": work / "published.duckdb",
    }
    sizes = {}
    con = duckdb.connect()
    try:
        for name, path in files.items():
            con.execute(f"attach '{path}' as f_{name} (read_only)")
            total, free = con.execute(
                "select total_blocks, free_blocks from pragma_database_size() "
                "where database_name = ?",
                [f"f_{name}"],
            ).fetchone()
            sizes[name] = {
                "mb": round(path.stat().st_size / 1024**2, 1),
                "free_share": round(free / total, 3) if total else 0.0,
            }
    finally:
        con.close()
    return sizes


def one_refresh(work: Path, as_of: datetime) -> tuple[float, float, str]:
    """One `segmentation refresh` as cron runs it: (wall seconds, CPU seconds, its log
    line). On a shared machine the CPU time is the steadier figure: a neighbour's load
    stretches the wall time, not the work done."""
    command = [
        str(PROJECT / ".venv" / "bin" / "segmentation"), "refresh",
        "--as-of", as_of.strftime("%Y-%m-%d %H:%M:%S"),
    ]  # fmt: skip
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT, env=_env(work), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    line = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        raise SystemExit(f"refresh failed (exit {done.returncode}): {line}\n{done.stderr[-3000:]}")
    return seconds, _children_cpu() - cpu_before, line


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _field(line: str, key: str) -> str:
    return line.split(f"{key}=")[1].split()[0] if f"{key}=" in line else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365, help="days of history to start with")
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    from segmentation.append import append_days

    work = PROJECT / "bench" / "data" / f"load-{args.customers}"
    print(f"== {args.customers:,} customers, {args.days} days: generate", flush=True)
    raw = prepare(args.customers, args.days, work)
    seconds, cpu, line = one_refresh(work, END)
    print(f"   first build (refresh on an empty warehouse): {seconds:.1f} s", flush=True)
    runs = [{"refresh": 0, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}]
    runs[0] |= {"rows_added": 0, **_flat(work, line)}
    header = (
        f"  {'#':>3} {'time':>7} {'CPU':>7} {'rows added':>10} {'marts MB':>9} "
        f"{'work MB':>8} {'free':>5} {'published MB':>12}  compacted"
    )
    print(header, flush=True)
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"refresh-load-{args.customers}-{stamp}.json"
    result = {
        "customers": args.customers,
        "history_days": args.days,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "machine": machine(),
    }
    for number in range(1, args.refreshes + 1):
        added = sum(append_days(raw, 1, seed=number, progress=False).values())
        seconds, cpu, line = one_refresh(work, END + timedelta(days=number))
        run = {"refresh": number, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}
        run |= {"rows_added": added, **_flat(work, line)}
        runs.append(run)
        print(
            f"  {number:>3} {run['seconds']:>6} s {run['cpu_seconds']:>5} s {added:>10,} "
            f"{run['marts_mb']:>9} {run['work_mb']:>8} {run['work_free_share']:>5.0%} "
            f"{run['published_mb']:>12}  {run['compacted']}",
            flush=True,
        )
        # after every refresh: a run cut short keeps its figures
        path.write_text(json.dumps(result, indent=2))
    print(f"\nrefresh load benchmark -> {path.relative_to(PROJECT)}")
    return 0


def _flat(work: Path, line: str) -> dict[str, object]:
    """The figures of one refresh: its log line's rows_in and compaction, the file sizes."""
    flat: dict[str, object] = {"rows_in": int(_field(line, "rows_in") or 0)}
    flat["compacted"] = _field(line, "compacted")
    for name, size in file_sizes(work).items():
        flat[f"{name}_mb"] = size["mb"]
        flat[f"{name}_free_share"] = size["free_share"]
    return flat


if __name__ == "__main__":
    sys.exit(main())
