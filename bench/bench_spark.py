"""Spark against DuckDB on the same machine and data (docs/spark.md): a fresh build of the
SQL layers, then one new day and a refresh, each timed with its peak memory (dbt and, on
Spark, its JVM); then the table-by-table comparison of the two fresh builds.

    make setup-spark && .venv/bin/python bench/bench_spark.py --size 10k

Both engines build without the Python cluster models (Spark runs them as a separate step).
Writes bench/results/spark-<size>-<UTC time>.json and prints the figures and the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_refresh import prepare  # noqa: E402
from run_bench import AS_OF, END, PROJECT, TreeMemory, machine  # noqa: E402
from segmentation import engine_compare  # noqa: E402
from segmentation.project import dbt_executable  # noqa: E402
from segmentation.spark import spark_env  # noqa: E402

REFRESH_AS_OF = (END + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")


def timed_dbt(target: str, env: dict[str, str], work: Path, as_of: str) -> dict[str, float]:
    """One `dbt build` of the SQL layers: seconds and peak memory of the process tree."""
    command = [dbt_executable(), "build", "--target", target, "--exclude", "path:python_models"]
    command += ["--vars", json.dumps({"as_of": as_of, "enable_clustering": False})]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**env, "DBT_PROFILES_DIR": str(PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    with TreeMemory(process.pid) as memory:
        assert process.stdout is not None
        for line in process.stdout:
            if "Done." in line or " ERROR " in line or " FAIL " in line:
                print(f"   {target}: {line.rstrip()[-100:]}", flush=True)
        code = process.wait()
    if code != 0:
        raise SystemExit(f"dbt build --target {target} failed (exit {code}); log in {work}/logs")
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "peak_gb": round(memory.peak_bytes / 1024**3, 2)}


def run(size: str) -> dict[str, object]:
    work = PROJECT / "bench" / "data" / f"spark-{size}"
    shutil.rmtree(work, ignore_errors=True)
    source = prepare(size, 365)
    shutil.copytree(source, work / "raw")
    shutil.copytree(source.parent / "truth", work / "truth")  # the state `append` continues
    raw = work / "raw"
    spark = spark_env(work / "spark", raw)
    duck = {**spark, "SEGMENTATION_TARGET": "ci", "SEGMENTATION_DB_PATH": str(work / "d.duckdb")}
    figures: dict[str, object] = {"size": size, "machine": machine()}
    print(f"== {size}: fresh build", flush=True)
    figures["spark_build"] = timed_dbt("spark", spark, work / "spark", AS_OF)
    figures["duckdb_build"] = timed_dbt("ci", duck, work / "duck", AS_OF)
    export = work / "export"
    command = [sys.executable, "-m", "segmentation.spark", "export", "--out", str(export)]
    subprocess.run(command, cwd=PROJECT, env=spark, check=True, stderr=subprocess.DEVNULL)
    results = engine_compare.compare(work / "d.duckdb", export)
    figures["tables_equal"] = sum(r.equal for r in results)
    figures["tables_compared"] = len(results)
    figures["comparison"] = engine_compare.format_table(results)
    print(f"== {size}: one new day, refresh", flush=True)
    from segmentation.append import append_days

    append_days(raw, 1, seed=3, progress=False, truth_out=work / "truth")
    figures["spark_refresh"] = timed_dbt("spark", spark, work / "spark", REFRESH_AS_OF)
    figures["duckdb_refresh"] = timed_dbt("ci", duck, work / "duck", REFRESH_AS_OF)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", choices=["10k", "100k"])
    args = parser.parse_args()
    figures = run(args.size)
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"spark-{args.size}-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print()
    print("| run | DuckDB s | DuckDB peak GB | Spark s | Spark peak GB |")
    print("|---|---:|---:|---:|---:|")
    for step in ("build", "refresh"):
        d, s = figures[f"duckdb_{step}"], figures[f"spark_{step}"]
        print(f"| {step} | {d['seconds']} | {d['peak_gb']} | {s['seconds']} | {s['peak_gb']} |")
    print(f"\ntables equal: {figures['tables_equal']} of {figures['tables_compared']}")
    print(figures["comparison"])
    return 0 if figures["tables_equal"] == figures["tables_compared"] else 1


if __name__ == "__main__":
    sys.exit(main())
