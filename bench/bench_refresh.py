"""Refresh benchmark: full build, then one new day of data and one scheduled refresh,
at two lengths of history, to show that a refresh costs what arrived, not what is kept.

    make bench-refresh SIZE=1m          # or: .venv/bin/python bench/bench_refresh.py --size 1m
    .venv/bin/python bench/bench_refresh.py --size 1m --days 365 --daily 5 --idle

For each history length: generate (or reuse) the data, copy it to a work folder, time a full
`dbt build`, append one day (`segmentation generate --append`), time `segmentation refresh`
(freshness, incremental build and tests, history, publish) and print a table. `--daily N`
repeats append + refresh for N days in a row, `--idle` adds a refresh with no new data an
hour later. Writes bench/results/refresh-<size>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import AS_OF, END, PROJECT, SIZES, TreeMemory, dbt_build, machine  # noqa: E402


def prepare(size: str, days: int) -> Path:
    """Generated raw data for (size, days), reused when already there."""
    from segmentation.generate import generate

    work = PROJECT / "bench" / "data" / (size if days == 365 else f"{size}-{days}d")
    raw = work / "raw"
    marker = work / "generated.json"
    spec = {"customers": SIZES[size], "days": days, "seed": 42, "end": END.isoformat()}
    if not (marker.exists() and json.loads(marker.read_text()) == spec):
        work.mkdir(parents=True, exist_ok=True)
        generate(
            customers=SIZES[size], days=days, seed=42, end=END, out=raw, truth_out=work / "truth"
        )
        marker.write_text(json.dumps(spec))
    return raw


def _timed_refresh(work: Path, as_of: datetime) -> dict[str, object]:
    """One `segmentation refresh` at as_of: its log line, peak memory and slowest nodes."""
    from segmentation.refresh import refresh

    stamp = as_of.strftime("%Y-%m-%d %H:%M:%S")
    with TreeMemory(os.getpid()) as memory:
        result = refresh(PROJECT, as_of=stamp, log_dir=work)
    print("   " + result.log_line(), flush=True)
    if result.status != "ok":
        raise SystemExit(f"refresh failed at {result.step}: {result.failures}")
    results = json.loads((work / "target-refresh" / "run_results.json").read_text())["results"]
    node_seconds = [(r["unique_id"], float(r["execution_time"])) for r in results]
    models = [(uid.split(".")[-1], round(t, 2)) for uid, t in node_seconds if uid[:5] != "test."]
    slowest = sorted(models, key=lambda kv: -kv[1])[:12]
    return {
        "as_of": stamp,
        "seconds": round(result.seconds, 1),
        "peak_gb": round(memory.peak_bytes / 1024**3, 2),
        "rows_in": result.rows_in,
        "node_seconds": round(sum(t for _, t in node_seconds), 1),
        "test_seconds": round(sum(t for uid, t in node_seconds if uid.startswith("test.")), 1),
        "slowest": slowest,
    }


def one_length(size: str, days: int, daily: int, idle: bool) -> dict[str, object]:
    from segmentation.append import append_days
    from segmentation.refresh import publish

    source = prepare(size, days)
    work = PROJECT / "bench" / "data" / f"refresh-{size}-{days}d"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    raw = work / "raw"
    shutil.copytree(source, raw)
    # the truth files say where the data ends: without them the append would continue
    # after the newest timestamp, which is one of the rows planted in the future
    shutil.copytree(source.parent / "truth", work / "truth")
    db = work / "warehouse.duckdb"

    print(f"== {size}, {days} days of history: full build", flush=True)
    build_seconds, build_peak, code = dbt_build(raw, db, work)
    if code != 0:
        raise SystemExit(f"full build failed (exit {code}); see {work / 'logs'}")
    # what `segmentation run` does after a build: publish (the schedule starts from there)
    publish(db, work / "published.duckdb")
    os.environ.update(
        SEGMENTATION_RAW_DIR=str(raw),
        SEGMENTATION_DB_PATH=str(db),
        SEGMENTATION_PUBLISHED_PATH=str(work / "published.duckdb"),
        SEGMENTATION_TARGET="ci",
        DBT_PROFILES_DIR=str(PROJECT),
        DBT_TARGET_PATH=str(work / "target-refresh"),
        DBT_LOG_PATH=str(work / "logs"),
    )
    refreshes = []
    for day in range(1, daily + 1):
        started = time.perf_counter()
        rows = append_days(raw, 1, seed=day, progress=False, truth_out=work / "truth")
        print(
            f"   day {day}: appended {sum(rows.values()):,} rows"
            f" in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        as_of = datetime.fromisoformat(AS_OF) + timedelta(days=day)
        refreshes.append({"new_day": day, **_timed_refresh(work, as_of)})
    if idle:
        # no new raw data, as_of one hour on: the projections still move
        as_of = datetime.fromisoformat(AS_OF) + timedelta(days=daily, hours=1)
        refreshes.append({"new_day": None, **_timed_refresh(work, as_of)})
    first = refreshes[0]
    return {
        "history_days": days,
        "full_build_seconds": round(build_seconds, 1),
        "full_build_peak_gb": round(build_peak / 1024**3, 2),
        "appended_rows": first["rows_in"],
        "refresh_seconds": first["seconds"],
        "refresh_peak_gb": first["peak_gb"],
        "speedup": round(build_seconds / first["seconds"], 2),
        "rows_in": first["rows_in"],
        "slowest_in_refresh_build": first["slowest"],
        "refreshes": refreshes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="100k")
    parser.add_argument("--days", default="180,365", help="history lengths, comma-separated")
    parser.add_argument("--daily", type=int, default=1, help="daily refreshes in a row (1+)")
    parser.add_argument(
        "--idle", action="store_true", help="then one more refresh with no new data"
    )
    args = parser.parse_args()
    runs = [
        one_length(args.size, int(d), max(args.daily, 1), args.idle) for d in args.days.split(",")
    ]
    result = {
        "size": args.size,
        "customers": SIZES[args.size],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "machine": machine(),
    }
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"refresh-{args.size}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"\nrefresh benchmark {args.size} -> {path.relative_to(PROJECT)}")
    print(
        f"  {'history':>8} {'full build':>11} {'refresh':>9} {'speedup':>8}"
        f" {'peak':>7} {'rows in':>10}"
    )
    for run in runs:
        print(
            f"  {run['history_days']:>6} d {run['full_build_seconds']:>9} s"
            f" {run['refresh_seconds']:>7} s"
            f" {run['speedup']:>7}x {run['refresh_peak_gb']:>5} GB {run['rows_in']:>10,}"
        )
    for run in runs:
        for step in run["refreshes"]:
            label = f"day {step['new_day']}" if step["new_day"] else "no new data"
            print(
                f"  {run['history_days']:>6} d, {label:>11}: {step['seconds']:>6} s,"
                f" nodes {step['node_seconds']} s (tests {step['test_seconds']} s),"
                f" peak {step['peak_gb']} GB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
