"""Full-build benchmark: generate data at a named size, run `dbt build`, measure, compare with
the floor (one hand-written DuckDB query for the same RFM numbers straight from the Parquet).

    make bench SIZE=100k            # or: .venv/bin/python bench/run_bench.py --size 100k

Writes bench/results/<size>-<UTC time>.json and prints a table. Sizes: 10k, 100k, 1m.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation import warehouse
from segmentation.project import dbt_executable

PROJECT = Path(__file__).resolve().parents[1]
SIZES = {"10k": 10_000, "50k": 50_000, "100k": 100_000, "1m": 1_000_000}
END = datetime(2026, 11, 20, 12, 0, 0)
AS_OF = "2026-11-20 12:00:00"

# models on the RFM path: raw -> staging -> identity -> orders -> RFM scores
RFM_PATH = (
    "base_raw__customers",
    "base_raw__orders",
    "base_raw__order_items",
    "stg_raw__customers",
    "stg_raw__orders",
    "stg_raw__order_items",
    "int_customers_merged",
    "int_orders_priced",
    "int_customers_rfm_scored",
)


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval, self.peak_bytes = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        pids, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            pids.append(pid)
            # a process can end between listing and reading: its /proc folder is gone
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").glob("*/children"):
                    queue += [int(c) for c in task.read_text().split()]
        return pids

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, sum(self._rss(p) for p in self._tree()))
            self._stop.wait(self.interval)


def machine() -> dict[str, object]:
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "memory_limit": os.environ.get("SEGMENTATION_MEMORY_LIMIT", "4GB"),
        "threads": os.environ.get("SEGMENTATION_THREADS", "2"),
    }


def generate(size: str, work: Path) -> tuple[Path, float]:
    from segmentation.generate import generate as run_generator

    raw = work / "raw"
    marker = work / "generated.json"
    from segmentation.simulator.state import STATE_VERSION

    # the simulator's version too: data of an older simulator is generated again
    spec = {"customers": SIZES[size], "days": 365, "seed": 42, "end": END.isoformat()}
    spec["simulator"] = STATE_VERSION
    if marker.exists() and json.loads(marker.read_text()) == spec:
        print(f"reusing generated data in {raw}")
        return raw, float("nan")
    started = time.perf_counter()
    run_generator(
        customers=SIZES[size], days=365, seed=42, end=END, out=raw, truth_out=work / "truth"
    )
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps(spec))
    return raw, seconds


def _env(raw: Path, db: Path) -> dict[str, str]:
    return dict(
        os.environ,
        SEGMENTATION_RAW_DIR=str(raw),
        SEGMENTATION_DB_PATH=str(db),
        SEGMENTATION_TARGET="ci",
        DBT_PROFILES_DIR=str(PROJECT),
    )


def rfm_path(raw: Path, db: Path, work: Path) -> dict[str, float]:
    """The RFM path on its own, one model at a time (in the full build other models share
    the cores, which inflates each model's time): the sum of its model times. Rebuilt with
    --full-refresh: its staging and orders models are incremental, and on the warehouse the
    full build left they would read no new file and take next to no time."""
    command = [
        dbt_executable(),
        "run",
        "--full-refresh",
        "--select",
        "+int_customers_rfm_scored",
        "--threads",
        "1",
        "--vars",
        json.dumps({"as_of": AS_OF}),
        "--target-path",
        str(work / "target-rfm"),
        "--log-path",
        str(work / "logs"),
    ]
    subprocess.run(command, cwd=PROJECT, env=_env(raw, db), check=True, capture_output=True)
    results = json.loads((work / "target-rfm" / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".", 2)[-1]: round(float(r["execution_time"]), 3)
        for r in results
        if r["unique_id"].startswith("model.")
    }


def rfm_path_compute(db: Path, work: Path) -> dict[str, float]:
    """Each table model of the RFM path computed again into a temporary (in-memory) table
    from its compiled SQL, in one DuckDB session with the profile's threads and memory: the
    path's time without writing its tables to the warehouse file. Set against rfm_path it
    splits the ratio to the floor into computing and persisting."""
    compiled = work / "target-rfm" / "compiled"
    con = duckdb.connect(str(db))
    seconds: dict[str, float] = {}
    try:
        con.execute(f"attach '{warehouse.work_db_path(db)}' as work")
        con.execute(f"set threads = {os.environ.get('SEGMENTATION_THREADS', '2')}")
        con.execute(f"set memory_limit = '{os.environ.get('SEGMENTATION_MEMORY_LIMIT', '4GB')}'")
        con.execute("set TimeZone = 'UTC'")
        for model in RFM_PATH:
            if model.startswith("base_"):
                continue  # views: nothing is computed when they are created
            (path,) = compiled.rglob(f"{model}.sql")
            started = time.perf_counter()
            con.execute(f"create temp table bench_compute_{model} as {path.read_text()}")
            seconds[model] = round(time.perf_counter() - started, 3)
            con.execute(f"drop table bench_compute_{model}")
    finally:
        con.close()
    return seconds


def fastest(measure: Callable[[], dict[str, float]], repeat: int) -> dict[str, float]:
    """The model times of the fastest of `repeat` runs of `measure` (by their sum)."""
    return min((measure() for _ in range(repeat)), key=lambda models: sum(models.values()))


def dbt_build(raw: Path, db: Path, work: Path) -> tuple[float, int, int]:
    db.unlink(missing_ok=True)
    warehouse.work_db_path(db).unlink(missing_ok=True)  # else its incremental tables carry on
    env = _env(raw, db)
    command = [
        dbt_executable(),
        "build",
        "--vars",
        json.dumps({"as_of": AS_OF}),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True)
    with TreeMemory(process.pid) as memory:
        assert process.stdout is not None
        for line in process.stdout:
            if " of " in line and ("OK" in line or "ERROR" in line or "FAIL" in line):
                print("  " + line.rstrip()[-110:], flush=True)
        code = process.wait()
    return time.perf_counter() - started, memory.peak_bytes, code


FLOOR_SQL = """
with
customers as (
    select customer_id, nullif(lower(trim(email)), '') as email,
        row_number() over (partition by customer_id order by updated_at desc) as rn
    from read_parquet('{raw}/customers.parquet')
    where customer_id is not null and signup_at <= timestamp '{as_of}'
),
people as (
    select customer_id,
        case when email is null then customer_id
             else min(customer_id) over (partition by email) end as person_id
    from customers where rn = 1
),
orders as (
    select order_id, customer_id, lower(trim(status)) as status,
        row_number() over (
            partition by order_id order by updated_at desc, status, ordered_at desc
        ) as rn,
        ordered_at
    from read_parquet('{raw}/orders.parquet')
    where order_id is not null and customer_id is not null and ordered_at <= timestamp '{as_of}'
      and lower(trim(status)) in ('completed', 'cancelled', 'returned')
),
items as (
    select order_id,
        sum(case when quantity > 0
            then quantity * unit_price - coalesce(discount, 0) else 0 end) as sold,
        sum(case when quantity < 0
            then -quantity * unit_price - coalesce(discount, 0) else 0 end) as refund
    from (
        select *, row_number() over (partition by order_id, line_number
            order by quantity desc, unit_price desc, product_id) as rn
        from read_parquet('{raw}/order_items.parquet')
        where order_id is not null and line_number is not null and unit_price >= 0
          and quantity is not null and quantity <> 0
    ) where rn = 1
    group by order_id
),
per_person as (
    select people.person_id,
        count(*) filter (where o.status = 'completed') as frequency,
        sum(case when o.status = 'completed' then coalesce(i.sold, 0) else 0 end
            - coalesce(i.refund, 0)) as monetary,
        max(o.ordered_at) filter (where o.status = 'completed') as last_purchase_at
    from orders o
    join people on o.customer_id = people.customer_id
    left join items i on o.order_id = i.order_id
    where o.rn = 1
    group by people.person_id
),
buyers as (
    select *, floor(epoch(timestamp '{as_of}' - last_purchase_at) / 86400)::int as recency_days,
        count(*) over () as n
    from per_person where frequency > 0
)
select person_id, recency_days, frequency, round(monetary, 2) as monetary,
    (1 + floor(5.0 * (rank() over (order by recency_days desc) - 1) / n))::int as r,
    (1 + floor(5.0 * (rank() over (order by frequency) - 1) / n))::int as f,
    (1 + floor(5.0 * (rank() over (order by monetary) - 1) / n))::int as m
from buyers
"""


def floor(raw: Path, db: Path) -> tuple[float, int, int]:
    """Time the hand-written RFM query and count rows that differ from the dbt result."""
    con = duckdb.connect(str(db))
    try:
        con.execute(f"set threads = {os.environ.get('SEGMENTATION_THREADS', '2')}")
        sql = FLOOR_SQL.format(raw=raw, as_of=AS_OF)
        started = time.perf_counter()
        con.execute(f"create or replace temp table floor_rfm as {sql}")
        seconds = time.perf_counter() - started
        (rows,) = con.execute("select count(*) from floor_rfm").fetchone()
        (mismatches,) = con.execute(
            """
            select count(*) from floor_rfm f
            full outer join (
                select person_id, recency_days, frequency, monetary,
                    recency_score, frequency_score, monetary_score
                from segmentation.customer_features where recency_days is not null
            ) d on f.person_id = d.person_id
            where f.person_id is null or d.person_id is null
               or f.recency_days <> d.recency_days or f.frequency <> d.frequency
               or abs(f.monetary - d.monetary) > 0.01
               or f.r <> d.recency_score or f.f <> d.frequency_score or f.m <> d.monetary_score
            """
        ).fetchone()
    finally:
        con.close()
    return seconds, rows, mismatches


def rows_per_model(db: Path) -> dict[str, int]:
    con = warehouse.connect(db)
    try:
        tables = warehouse.tables(con)
        return {
            name: con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            for schema, name in tables
        }
    finally:
        con.close()


def model_times(work: Path) -> dict[str, float]:
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".", 2)[-1]: round(float(r["execution_time"]), 3)
        for r in results
        if r["unique_id"].startswith(("model.", "seed."))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="100k")
    parser.add_argument("--work", default=None, help="data folder (default bench/data/<size>)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the floor and the RFM path; the fastest counts (default 3)",
    )
    args = parser.parse_args()
    work = Path(args.work or PROJECT / "bench" / "data" / args.size)
    work.mkdir(parents=True, exist_ok=True)

    print(f"== benchmark {args.size} ({SIZES[args.size]:,} customers, 365 days)")
    raw, generate_seconds = generate(args.size, work)
    db = work / "warehouse.duckdb"
    build_seconds, peak, code = dbt_build(raw, db, work)
    if code != 0:
        print(f"dbt build failed (exit {code}); see {work / 'logs'}", file=sys.stderr)
        return code
    times = model_times(work)
    # the fastest of a few runs: on a shared machine a neighbour's load only ever adds time
    repeat = max(1, args.repeat)
    floors = [floor(raw, db) for _ in range(repeat)]
    floor_seconds = min(seconds for seconds, _, _ in floors)
    _, floor_rows, mismatches = floors[0]
    rfm_in_build = sum(times.get(m, 0.0) for m in RFM_PATH)
    rfm_models = fastest(lambda: rfm_path(raw, db, work), repeat)
    rfm_seconds = sum(rfm_models.values())
    rfm_compute = fastest(lambda: rfm_path_compute(db, work), repeat)
    rfm_compute_seconds = sum(rfm_compute.values())
    rows = rows_per_model(db)
    result = {
        "size": args.size,
        "customers": SIZES[args.size],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generate_seconds": round(generate_seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "peak_memory_gb": round(peak / 1024**3, 2),
        "rfm_path_seconds": round(rfm_seconds, 2),
        "rfm_path_in_build_seconds": round(rfm_in_build, 2),
        "floor_seconds": round(floor_seconds, 2),
        "rfm_vs_floor": round(rfm_seconds / floor_seconds, 2) if floor_seconds else None,
        "rfm_path_compute_seconds": round(rfm_compute_seconds, 2),
        "rfm_compute_vs_floor": (
            round(rfm_compute_seconds / floor_seconds, 2) if floor_seconds else None
        ),
        "floor_rows": floor_rows,
        "floor_mismatches": mismatches,
        "rfm_path_models": rfm_models,
        "rfm_path_compute_models": rfm_compute,
        "rows_per_model": rows,
        "model_seconds": times,
        "machine": machine(),
    }
    out = PROJECT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.size}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2))

    print(f"\n== results ({path.relative_to(PROJECT)})")
    for key in (
        "generate_seconds",
        "build_seconds",
        "peak_memory_gb",
        "rfm_path_seconds",
        "rfm_path_in_build_seconds",
        "floor_seconds",
        "rfm_vs_floor",
        "rfm_path_compute_seconds",
        "rfm_compute_vs_floor",
        "floor_rows",
        "floor_mismatches",
    ):
        print(f"  {key:<26} {result[key]}")
    print("  slowest models:")
    for name, seconds in sorted(times.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {seconds:>8.2f} s  {name:<40} {rows.get(name.split('.')[-1], ''):>12}")
    print(f"  machine: {result['machine']}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
