"""Benchmark the demo data generator.

    python bench/bench_generate.py [--customers 100000] [--days 365] [--seed 42] [--keep DIR]

Generates into a temporary directory (or --keep DIR) and prints customers, rows per table,
wall seconds, rows per second and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from segmentation.generate import generate  # noqa: E402

END = datetime(2025, 1, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", type=Path, default=None, help="write here instead of a temp dir")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        base = args.keep or Path(tmp)
        t0 = time.perf_counter()
        rows = generate(
            args.customers,
            args.days,
            args.seed,
            END,
            base / "raw",
            base / "truth",
            progress=not args.quiet,
        )
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (base / "raw").glob("*.parquet"))

    total = sum(rows.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"customers      {args.customers:>12,}  ({args.days} days, seed {args.seed})")
    for table, n in rows.items():
        print(f"{table:<15}{n:>12,}")
    print(f"{'total rows':<15}{total:>12,}")
    print(f"seconds        {seconds:>12.1f}")
    print(f"rows/s         {total / seconds:>12,.0f}")
    print(f"parquet MB     {size / 1e6:>12.1f}")
    print(f"peak RSS MB    {peak_mb:>12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
