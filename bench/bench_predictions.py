"""Predictions benchmark: the point-in-time snapshots and the four prediction models alone.

    make bench-predictions SIZE=1m   # or: .venv/bin/python bench/bench_predictions.py --size 1m

Generates (or reuses) the data of `make bench` and its full build (bench/data/<size>/, built
by `make bench SIZE=<size>` when there is no warehouse yet), copies the warehouse, then runs
`dbt run -s int_customers_point_in_time clv_model_parameters model_evaluation
prediction_classifiers customer_predictions` with `prediction_refit_every_days: 0` (so the
models are fitted, not reused), sampling the peak memory of the process tree. Prints seconds
per model, the backtest and the fit, and writes bench/results/predictions-<size>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from run_bench import AS_OF, PROJECT, TreeMemory, _env, dbt_build, generate, machine  # noqa: E402

MODELS = ("int_customers_point_in_time", "clv_model_parameters", "model_evaluation")
MODELS += ("prediction_classifiers", "customer_predictions")


def built_warehouse(size: str) -> tuple[Path, Path]:
    """The raw folder and the full build of `make bench` at this size (built when missing or
    when the data was generated again)."""
    work = PROJECT / "bench" / "data" / size
    raw, generated_seconds = generate(size, work)
    db = work / "warehouse.duckdb"
    if not db.exists() or generated_seconds == generated_seconds:  # new data (not NaN)
        print(f"== {size}: full build", flush=True)
        _, _, code = dbt_build(raw, db, work)
        if code != 0:
            raise SystemExit(f"full build failed (exit {code}); see {work / 'logs'}")
    return raw, db


def timed_models(
    size: str, label: str, models: tuple[str, ...], variables: dict[str, object]
) -> tuple[Path, dict[str, object]]:
    """`dbt run -s <models>` on a copy of the full build of this size, with the peak memory
    of the process tree: (the copy's DuckDB file, figures)."""
    from segmentation import warehouse

    raw, source = built_warehouse(size)
    work = PROJECT / "bench" / "data" / f"{label}-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "warehouse.duckdb"
    shutil.copy(source, db)
    shutil.copy(warehouse.work_db_path(source), warehouse.work_db_path(db))
    command = [str(PROJECT / ".venv" / "bin" / "dbt"), "run", "-s", *models]
    command += ["--vars", json.dumps({"as_of": AS_OF, **variables})]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = _env(raw, db) | {"SEGMENTATION_ACTIVATION_STATE_DIR": str(work / "state")}
    print(f"== {size}: {' '.join(models)}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL)
    with TreeMemory(process.pid) as memory:
        code = process.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"dbt run failed (exit {code}); see {work / 'logs'}")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    times = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 1) for r in results}
    return db, {
        "size": size,
        "wall_seconds": round(seconds, 1),
        "peak_memory_gb": round(memory.peak_bytes / 1024**3, 2),
        "model_seconds": {m: times.get(m) for m in models},
        "machine": machine(),
    }


def save_figures(label: str, size: str, figures: dict[str, object]) -> Path:
    """bench/results/<label>-<size>-<UTC time>.json"""
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{label}-{size}-{stamp}.json"
    path.write_text(json.dumps(figures, indent=2, default=str))
    return path


def run(size: str) -> dict[str, object]:
    from segmentation.predictions.overview import backtest_overview

    db, figures = timed_models(size, "predictions", MODELS, {"prediction_refit_every_days": 0})
    con = duckdb.connect(str(db), read_only=True)
    try:
        fit = con.execute(
            "select r, alpha, a, b, p, q, gamma, customers, repeat_buyers, converged "
            "from segmentation.clv_model_parameters where is_current"
        ).df()
        backtest = backtest_overview(con)
    finally:
        con.close()
    return figures | {
        "fit": fit.iloc[0].to_dict(),
        "backtest": backtest.to_dict(orient="records"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="10k, 100k or 1m")
    args = parser.parse_args()
    figures = run(args.size)
    print(f"\nwall {figures['wall_seconds']} s, peak memory {figures['peak_memory_gb']} GB")
    for model, seconds in figures["model_seconds"].items():
        print(f"  {seconds:>7} s  {model}")
    print(
        "fit:", {k: round(v, 4) if isinstance(v, float) else v for k, v in figures["fit"].items()}
    )
    for row in figures["backtest"]:
        print(f"  {row['task']:<20} {row['method']:<24} auc {row.get('auc')}")
    print(f"wrote {save_figures('predictions', args.size, figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
