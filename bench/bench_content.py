"""Content benchmark: the interactions, affinities, abandoned products, item associations,
recommendations and their offline evaluation alone.

    make bench-content SIZE=1m   # or: .venv/bin/python bench/bench_content.py --size 1m

Generates (or reuses) the data of `make bench` and its full build (bench/data/<size>/),
copies the warehouse, then runs `dbt run` on the content models (models/marts/content and
int_person_product_events), sampling the peak memory of the process tree. Prints seconds
per model, rows, and the evaluation; writes bench/results/content-<size>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from bench_predictions import save_figures, timed_models  # noqa: E402

MODELS = ("int_person_product_events", "customer_affinities", "customer_abandoned_products")
MODELS += ("product_associations", "customer_recommendations", "recommendation_evaluation")
ROWS = {
    "int_person_product_events": "intermediate.int_person_product_events",
    "customer_affinities": "content.customer_affinities",
    "customer_abandoned_products": "content.customer_abandoned_products",
    "product_associations": "content.product_associations",
    "customer_recommendations": "content.customer_recommendations",
}


def run(size: str) -> dict[str, object]:
    from segmentation import warehouse
    from segmentation.summary import RECOMMENDATION_EVALUATION_SQL

    db, figures = timed_models(size, "content", MODELS, {})
    con = warehouse.connect(db)
    try:
        rows = {m: con.execute(f"select count(*) from {t}").fetchone()[0] for m, t in ROWS.items()}
        evaluation = con.execute(RECOMMENDATION_EVALUATION_SQL).df()
    except duckdb.Error as error:
        raise SystemExit(f"reading the content tables failed: {error}") from error
    finally:
        con.close()
    return figures | {"rows": rows, "evaluation": evaluation.to_dict(orient="records")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="10k, 100k or 1m")
    args = parser.parse_args()
    figures = run(args.size)
    print(f"\nwall {figures['wall_seconds']} s, peak memory {figures['peak_memory_gb']} GB")
    for model, seconds in figures["model_seconds"].items():
        print(f"  {seconds:>7} s  {model:<30} {figures['rows'].get(model, '')}")
    for row in figures["evaluation"]:
        print(
            f"  {row['method']:<20} hit@5 {row['hit_rate_at_5']:.4f} "
            f"hit@10 {row['hit_rate_at_10']:.4f} recall@10 {row['recall_at_10']:.4f}"
        )
    print(f"wrote {save_figures('content', args.size, figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
