"""Performance marts benchmark: what they cost, and the uplift they measure.

    make bench-performance SIZE=1m    # cost: the performance models on the full build
    .venv/bin/python bench/bench_performance.py --loop 100000   # uplift vs planted

Cost: like bench_content, `dbt run` on a copy of `make bench`'s build of that size
(bench/data/<size>/) for the histories' new model and models/marts/performance, with the
peak memory; one recorded run, so every campaign is "(before history)" but the joins run.
Loop: generate N customers (240 days), build, let the e-mail platform send four weeks of
campaigns to the audiences with half of each held out, build again; prints the uplift per
persona against the planted one (segmentation.uplift) and the second build's model times.
Writes bench/results/performance-<size or loop N>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path[:0] = [str(BENCH)]

from bench_predictions import save_figures, timed_models  # noqa: E402

# the bench build leaves the histories out: the two it reads are run first (not counted),
# with the campaigns' staging (a build older than the audience column has none)
HISTORY = ("segment_membership_history", "segment_size_history")
HISTORY += ("base_raw__email_campaigns", "stg_raw__email_campaigns")
MODELS = ("audience_membership_history", "segment_membership_spans")
MODELS += ("fct_campaign_segment_performance", "campaign_holdout_outcomes", "campaign_uplift")
MODELS += ("fct_customer_cohorts", "segment_migration", "segment_size_trend")
END = datetime(2026, 11, 20, 12)


def _overrides() -> dict:
    yml = PROJECT / "models" / "marts" / "activation" / "_activation__audiences.yml"
    spec = yaml.safe_load(yml.read_text())["models"][0]["config"]["meta"]
    return {"audience_holdout_overrides": {a["name"]: 0.5 for a in spec["audiences"]}}


def _build(raw: Path, work: Path, as_of: datetime) -> dict[str, float]:
    env = dict(os.environ, SEGMENTATION_RAW_DIR=str(raw), DBT_PROFILES_DIR=str(PROJECT),
               SEGMENTATION_DB_PATH=str(work / "warehouse.duckdb"), SEGMENTATION_TARGET="ci",
               SEGMENTATION_ACTIVATION_STATE_DIR=str(work / "state"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")  # fmt: skip
    variables = {"as_of": as_of.strftime("%Y-%m-%d %H:%M:%S"), **_overrides()}
    command = [str(PROJECT / ".venv" / "bin" / "dbt"), "build", "--vars", json.dumps(variables)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    print(f"== dbt build as of {variables['as_of']}", flush=True)
    started = time.perf_counter()
    if subprocess.run(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL).returncode:
        raise SystemExit(f"dbt build failed; see {work / 'logs'}")
    print(f"   {time.perf_counter() - started:.0f} s", flush=True)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results}


def loop(customers: int) -> dict[str, object]:
    from segmentation import warehouse
    from segmentation.append import append_days
    from segmentation.generate import generate
    from segmentation.uplift import persona_uplift

    root = Path(tempfile.mkdtemp(prefix="uplift-loop-"))
    raw, truth, work = root / "raw", root / "truth", root / "work"
    generate(customers=customers, days=240, seed=11, end=END, out=raw, truth_out=truth)
    _build(raw, work, END)
    db = work / "warehouse.duckdb"
    append_days(raw, 28, seed=5, truth_out=truth, audiences_from=db)
    times = _build(raw, work, END + timedelta(days=28))
    con = warehouse.connect(db)
    try:
        outcomes = con.execute("select * from performance.campaign_holdout_outcomes").df()
        delivered = con.execute(
            "select person_id, campaign_id from core.fct_email_engagement where is_delivered"
        ).df()
    finally:
        con.close()
    personas = pd.read_parquet(truth / "customers_truth.parquet")[["customer_id", "persona"]]
    table = persona_uplift(
        outcomes, delivered, personas.rename(columns={"customer_id": "person_id"})
    )
    return {"customers": customers, "dir": str(root), "uplift": table.to_dict(orient="records"),
            "model_seconds": {m: times.get(m) for m in MODELS}}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="10k, 100k or 1m (the cost run)")
    parser.add_argument("--loop", type=int, default=None, help="customers of an uplift loop")
    args = parser.parse_args()
    if args.loop:
        figures = loop(args.loop)
        print(pd.DataFrame(figures["uplift"]).round(4).to_string(index=False))
        label = f"loop{args.loop}"
    else:
        _, figures = timed_models(args.size, "performance", HISTORY + MODELS, {})
        print(f"\nwall {figures['wall_seconds']} s, peak memory {figures['peak_memory_gb']} GB")
        label = args.size
    for model, seconds in figures["model_seconds"].items():
        print(f"  {seconds!s:>7} s  {model}")
    print(f"figures: {save_figures('performance', label, figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
