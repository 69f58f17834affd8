"""Benchmark of the clustering package: prepare + choose k on a sample + fit + assign all rows.

    .venv/bin/python bench/bench_clustering.py                 # 1,000,000 rows, k-means
    .venv/bin/python bench/bench_clustering.py --rows 200000 --algorithm hierarchical

The synthetic ``customer_features`` frame (six planted groups, default feature list) is
generated and written to Parquet first; a fresh child process then loads it and runs
``run_clustering``, so the peak memory (``ru_maxrss``) is the clustering's plus the loaded
frame's, not the generator's. Targets: under 2 minutes and 4 GB for 1M rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 120.0
TARGET_BYTES = 4 * 1024**3


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"


def child(parquet: Path, groups_file: Path, config: dict) -> None:
    from sklearn.metrics import adjusted_rand_score

    from segmentation.clustering import run_clustering

    start = time.perf_counter()
    df = pd.read_parquet(parquet)
    load_seconds = time.perf_counter() - start
    groups = np.load(groups_file)
    gc.collect()
    baseline = rss_bytes()

    start = time.perf_counter()
    result = run_clustering(df, config)
    wall = time.perf_counter() - start
    peak = peak_rss_bytes()

    a = result.assignments
    truth = pd.Series(groups, index=df["person_id"]).loc[a["person_id"]].to_numpy()
    chosen = result.diagnostics[result.diagnostics["is_chosen"]].iloc[0]
    figures = {
        "rows": len(df),
        "features": len(result.transformer.features),
        "algorithm": result.algorithm,
        "load_seconds": load_seconds,
        "timings": result.timings,
        "wall_seconds": wall,
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "rss_before_run_bytes": baseline,
        "peak_rss_bytes": peak,
        "k": result.k,
        "silhouette": float(chosen["silhouette"]),
        "noise_share": float(chosen["noise_share"]),
        "ari_vs_planted": float(adjusted_rand_score(truth, a["cluster_id"])),
        "estimator": json.loads(chosen["parameters"]).get("estimator"),
        "diagnostics": result.diagnostics.drop(columns=["parameters"]).to_dict("records"),
        "clusters": (
            a.groupby(["cluster_id", "cluster_name"]).size().rename("size").reset_index()
        ).to_dict("records"),
    }
    print(json.dumps(figures, default=float))


def report(f: dict) -> None:
    t = f["timings"]
    print(f"rows x features      {f['rows']:,} x {f['features']}  ({f['algorithm']})")
    print(f"frame in memory      {gib(f['frame_bytes'])}  (parquet load {f['load_seconds']:.1f}s)")
    print("stage seconds        " + "  ".join(f"{k} {v:.1f}" for k, v in t.items()))
    print(f"wall (run_clustering) {f['wall_seconds']:.1f} s   target < {TARGET_SECONDS:.0f} s")
    print(
        f"peak RSS             {gib(f['peak_rss_bytes'])}   (before run "
        f"{gib(f['rss_before_run_bytes'])}; target < {gib(TARGET_BYTES)})"
    )
    print(
        f"result               k={f['k']} ({f['estimator']}), silhouette {f['silhouette']:.3f}, "
        f"noise {f['noise_share']:.1%}, ARI vs planted groups {f['ari_vs_planted']:.3f}"
    )
    print("\nk scan on the sample:")
    d = pd.DataFrame(f["diagnostics"])
    cols = ["k", "sample_size", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz"]
    cols += ["smallest_cluster_share", "is_elbow", "is_chosen"]
    print(d[cols].to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print("\nclusters:")
    c = pd.DataFrame(f["clusters"])
    c["share"] = c["size"] / c["size"].sum()
    print(c.to_string(index=False, formatters={"share": "{:.1%}".format, "size": "{:,}".format}))
    ok = f["wall_seconds"] < TARGET_SECONDS and f["peak_rss_bytes"] < TARGET_BYTES
    print(f"\n{'PASS' if ok else 'FAIL'}: time and memory targets")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--algorithm", default="kmeans")
    parser.add_argument("--config", default="{}", help="extra config as JSON")
    parser.add_argument("--child", nargs=2, metavar=("PARQUET", "GROUPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config = {"algorithm": args.algorithm, **json.loads(args.config)}
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), config)
        return 0

    from segmentation.clustering.synthetic import make_synthetic_features

    with tempfile.TemporaryDirectory(prefix="bench_clustering_") as tmp:
        start = time.perf_counter()
        df, groups = make_synthetic_features(args.rows, seed=args.seed)
        parquet, groups_file = Path(tmp) / "features.parquet", Path(tmp) / "groups.npy"
        df.to_parquet(parquet, index=False)
        np.save(groups_file, groups)
        del df
        print(f"generated {args.rows:,} synthetic rows in {time.perf_counter() - start:.1f}s\n")
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--config",
                json.dumps(config),
                "--child",
                str(parquet),
                str(groups_file),
            ],
            capture_output=True,
            text=True,
        )
    if out.returncode != 0:
        print(out.stdout, out.stderr, file=sys.stderr)
        return out.returncode
    report(json.loads(out.stdout.strip().splitlines()[-1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
