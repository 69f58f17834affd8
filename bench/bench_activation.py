"""Activation benchmark: export and sync of the audiences, in full and for one day's changes.

    make bench-activation SIZE=1m     # or: .venv/bin/python bench/bench_activation.py --size 1m

Generates (or reuses) the data, runs a full `dbt build`, publishes, then times
`segmentation export --full` (csv and jsonl) and a first `segmentation sync` (every member an
add) per destination against a local HTTP receiver (the test suite's fake ESP,
tests/python/esp_server.py). Then one new day, `segmentation refresh`, and the export and
sync of that day's change set. Prints a table and writes
bench/results/activation-<size>-<UTC time>.json.
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

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests" / "python")]

from bench_refresh import prepare  # noqa: E402
from esp_server import serve  # noqa: E402
from run_bench import AS_OF, PROJECT, dbt_build, machine  # noqa: E402

TOKEN = "bench-token"


def _rows(db: Path, sql: str) -> list[tuple]:
    from segmentation import warehouse

    con = warehouse.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def deliver(published: Path, destinations: list[str], kind: str, out: Path) -> list[dict]:
    """Export (csv, jsonl) and sync each destination; seconds and rows of each step."""
    from segmentation.activation.export import export
    from segmentation.activation.sync import sync

    figures = []
    for name in destinations:
        for fmt in ("csv", "jsonl"):
            started = time.perf_counter()
            result = export(published, name, fmt=fmt, full=kind == "full", out=out)
            figures.append(
                {
                    "step": f"export {kind} {fmt}",
                    "destination": name,
                    "rows": result.rows,
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
        started = time.perf_counter()
        report = sync(published, name, log=lambda _: None)
        if report.status not in ("ok", "skipped"):
            raise SystemExit(f"sync {name} failed: {report.message}")
        figures.append(
            {
                "step": f"sync {kind}",
                "destination": name,
                "rows": report.changes,
                "batches": report.batches_total,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        print(f"   {name}: {figures[-3:]}", flush=True)
    return figures


def run(size: str) -> dict[str, object]:
    from segmentation.append import append_days
    from segmentation.refresh import publish, refresh

    source = prepare(size, 365)
    work = PROJECT / "bench" / "data" / f"activation-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    raw, db, published = work / "raw", work / "warehouse.duckdb", work / "published.duckdb"
    shutil.copytree(source, raw)
    shutil.copytree(source.parent / "truth", work / "truth")
    os.environ.update(
        SEGMENTATION_ACTIVATION_STATE_DIR=str(work / "state"),
        SEGMENTATION_RAW_DIR=str(raw),
        SEGMENTATION_DB_PATH=str(db),
        SEGMENTATION_PUBLISHED_PATH=str(published),
        SEGMENTATION_TARGET="ci",
        DBT_PROFILES_DIR=str(PROJECT),
        DBT_TARGET_PATH=str(work / "target-refresh"),
        DBT_LOG_PATH=str(work / "logs"),
    )
    print(f"== {size}: full build", flush=True)
    build_seconds, _, code = dbt_build(raw, db, work)
    if code != 0:
        raise SystemExit(f"full build failed (exit {code}); see {work / 'logs'}")
    publish(db, published)
    reasons = dict(
        _rows(
            db,
            "select suppression_reason, count(*) from "
            "activation.activation_suppressions group by 1 order by 2 desc",
        )
    )
    people = _rows(db, "select count(*) from core.dim_customers")[0][0]
    destinations = [
        n
        for (n,) in _rows(
            db, "select destination from activation.activation_destinations order by 1"
        )
    ]
    with serve(TOKEN) as server:
        for name in destinations:
            os.environ[f"SEGMENTATION_SYNC_{name.upper()}_URL"] = server.url
            os.environ[f"SEGMENTATION_SYNC_{name.upper()}_TOKEN"] = TOKEN
        print("== export and sync, full", flush=True)
        figures = deliver(published, destinations, "full", work / "exports")
        print("== one new day, refresh", flush=True)
        append_days(raw, 1, seed=1, progress=False, truth_out=work / "truth")
        as_of = (datetime.fromisoformat(AS_OF) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        result = refresh(PROJECT, as_of=as_of, log_dir=work)
        if result.status != "ok":
            raise SystemExit(f"refresh failed at {result.step}: {result.failures}")
        print("== export and sync, one day's changes", flush=True)
        figures += deliver(published, destinations, "changes", work / "exports")
        applied = sum(server.effects.values())
    return {
        "size": size,
        "people": people,
        "build_seconds": round(build_seconds, 1),
        "suppressions_by_reason": reasons,
        "steps": figures,
        "effects_applied": applied,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="10k, 100k or 1m")
    args = parser.parse_args()
    figures = run(args.size)
    print(
        f"\n{figures['people']:,} people; suppressed by reason: {figures['suppressions_by_reason']}"
    )
    print(f"{'step':<22} {'destination':<12} {'rows':>10} {'seconds':>8}")
    for step in figures["steps"]:
        print(
            f"{step['step']:<22} {step['destination']:<12} {step['rows']:>10,} {step['seconds']:>8}"
        )
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"activation-{args.size}-{stamp}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
