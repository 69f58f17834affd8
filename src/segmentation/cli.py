"""Command line: `segmentation generate | import | run | refresh | summary | report`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from segmentation import project as proj

DEMO_CUSTOMERS = 10_000
DEMO_DAYS = 365
DEMO_SEED = 42


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO timestamp: {text!r}") from exc


def _cmd_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    truth_out = Path(args.truth_out) if args.truth_out else None
    if args.append:
        from segmentation.append import append_days

        if args.end is not None:
            print("--end does not go with --append (it continues the data)", file=sys.stderr)
            return 2
        counts = append_days(
            Path(args.out),
            days=args.days if args.days is not None else 1,
            seed=args.seed,
            progress=not args.quiet,
            truth_out=truth_out,
            audiences_from=Path(args.audiences_from) if args.audiences_from else None,
        )
    else:
        from segmentation.generate import generate

        counts = generate(
            customers=args.customers,
            days=args.days if args.days is not None else DEMO_DAYS,
            seed=args.seed,
            end=args.end,
            out=Path(args.out),
            truth_out=truth_out,
            progress=not args.quiet,
        )
    total = sum(counts.values())
    print(f"wrote {total:,} rows to {args.out} in {time.perf_counter() - started:.1f} s")
    for table, n in counts.items():
        print(f"  {table:<16} {n:>12,}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from segmentation.importers.online_retail import import_online_retail

    report = import_online_retail(Path(args.path), Path(args.out))
    print(report.summary())
    return 0


def _has_raw_data(raw: Path) -> bool:
    return (raw / "customers.parquet").exists() or (raw / "customers").is_dir()


def _cmd_run(args: argparse.Namespace) -> int:
    project = proj.project_dir()
    raw = proj.raw_dir()
    raw_abs = raw if raw.is_absolute() else project / raw
    if not _has_raw_data(raw_abs):
        from segmentation.generate import generate

        print(
            f"No raw data in {raw}: generating the demo set "
            f"({args.customers:,} customers, {args.days} days, seed {DEMO_SEED})."
        )
        generate(
            customers=args.customers,
            days=args.days,
            seed=DEMO_SEED,
            end=None,
            out=raw_abs,
            progress=True,
        )
    started = time.perf_counter()
    vars_yaml = f'{{as_of: "{args.as_of}"}}' if args.as_of else None
    target = ["--target", args.target] if args.target else []
    code = proj.run_dbt(["build", *target], project, vars_yaml)
    wall = time.perf_counter() - started
    if code != 0:
        print(
            f"dbt build failed (exit {code}) after {wall:.1f} s; see the log above.",
            file=sys.stderr,
        )
        return code
    if args.target == "spark":
        from segmentation.spark import summary_text

        print(f"\nBuilt on Spark in {wall:.1f} s.\n{summary_text()}")
        return 0
    from segmentation.refresh import publish, published_path
    from segmentation.summary import build_summary

    publish(proj.db_path(project), published_path(project))
    print()
    print(build_summary(proj.db_path(project), project, wall))
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from segmentation.refresh import LOCKED_EXIT, REFIT_NOW_VARS, refresh

    project = proj.project_dir()
    extra_vars = REFIT_NOW_VARS if args.refit_clusters else None
    result = refresh(
        project, as_of=args.as_of, full_refresh=args.full_refresh, extra_vars=extra_vars
    )
    print(result.log_line())
    if result.status == "locked":
        return LOCKED_EXIT
    if result.status != "ok":
        print(
            f"refresh failed at {result.step}: the published database is unchanged; "
            f"dbt output in {proj.db_path(project).parent / 'refresh-dbt.log'}",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from segmentation.summary import build_summary

    project = proj.project_dir()
    print(build_summary(proj.db_path(project), project))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from segmentation.report import write_report

    project = proj.project_dir()
    page = write_report(proj.db_path(project), Path(args.out))
    print(f"wrote {page} (one self-contained interactive page; open it in a browser)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from segmentation.activation import paths
    from segmentation.activation.export import export
    from segmentation.activation.published import ActivationError

    try:
        db = Path(args.db) if args.db else paths.published_db()
        out = Path(args.out) if args.out else None
        result = export(db, args.destination, args.format, full=args.full, out=out)
    except ActivationError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 2
    print(result.line())
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from segmentation.activation import paths
    from segmentation.activation.published import ActivationError
    from segmentation.activation.sync import LOCKED_EXIT, SyncLocked, sync

    try:
        db = Path(args.db) if args.db else paths.published_db()
        report = sync(db, args.destination)
    except SyncLocked as exc:
        print(f"sync skipped: {exc}", file=sys.stderr)
        return LOCKED_EXIT
    except ActivationError as exc:
        print(f"sync failed: {exc}", file=sys.stderr)
        return 2
    print(report.line())
    return 1 if report.status == "failed" else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segmentation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write realistic demo raw data (Parquet)")
    gen.add_argument(
        "--append",
        action="store_true",
        help="add the next --days days (default 1) to the existing raw data in --out",
    )
    gen.add_argument(
        "--customers", type=int, default=DEMO_CUSTOMERS, help="persons (ignored with --append)"
    )
    gen.add_argument(
        "--days",
        type=int,
        default=None,
        help=f"days of data (default {DEMO_DAYS}); with --append: new days (default 1)",
    )
    gen.add_argument("--seed", type=int, default=DEMO_SEED)
    gen.add_argument(
        "--audiences-from",
        default=None,
        help="with --append: a built warehouse whose audiences (treatment members) the "
        "e-mail platform sends to, one campaign per audience and week",
    )
    gen.add_argument(
        "--end", type=_timestamp, default=None, help="last moment of the data, UTC (default: now)"
    )
    gen.add_argument("--out", default=str(proj.DEFAULT_RAW_DIR))
    gen.add_argument(
        "--truth-out",
        default=None,
        help="ground truth folder (default: <out>/../truth); no model reads it",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress lines")
    gen.set_defaults(func=_cmd_generate)

    imp = commands.add_parser("import", help="map a public data set onto the raw contract")
    imp_sources = imp.add_subparsers(dest="dataset", required=True)
    retail = imp_sources.add_parser("online-retail", help="UCI Online Retail (parquet)")
    retail.add_argument("path")
    retail.add_argument("--out", default=str(proj.DEFAULT_RAW_DIR))
    retail.set_defaults(func=_cmd_import)

    run = commands.add_parser("run", help="demo data if none, dbt build, summary")
    run.add_argument(
        "--customers", type=int, default=DEMO_CUSTOMERS, help="demo size when no raw data exists"
    )
    run.add_argument("--days", type=int, default=DEMO_DAYS)
    run.add_argument("--as-of", default=None, help="dbt var as_of (default: now)")
    run.add_argument(
        "--target", default=None, help="dbt target (profiles.yml); spark: make setup-spark first"
    )
    run.set_defaults(func=_cmd_run)

    ref = commands.add_parser(
        "refresh",
        help="scheduled job: freshness, incremental build + tests, history, publish, log line",
    )
    ref.add_argument("--as-of", default=None, help="dbt var as_of (default: now, UTC)")
    ref.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    ref.add_argument(
        "--refit",
        "--refit-clusters",
        dest="refit_clusters",
        action="store_true",
        help="refit the clusters, the CLV models and the content fit now (default: every "
        "clustering_refit_every_days / prediction_refit_every_days / "
        "recommendation_refit_every_days, else reuse the stored fit)",
    )
    ref.set_defaults(func=_cmd_refresh)

    summary = commands.add_parser("summary", help="print what the last build holds")
    summary.set_defaults(func=_cmd_summary)

    report = commands.add_parser(
        "report", help="one interactive HTML page (Plotly) of the segments and their performance"
    )
    report.add_argument("--out", default="reports", help="output folder (default reports/)")
    report.set_defaults(func=_cmd_report)

    exp = commands.add_parser(
        "export", help="an audience import file (CSV/JSONL) and manifest for one destination"
    )
    exp.add_argument("--destination", required=True, help="activation_destinations.destination")
    exp.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    exp.add_argument(
        "--full",
        action="store_true",
        help="every exported member (default: the changes since the last confirmed sync)",
    )
    exp.add_argument("--out", default=None, help="output folder (default data/exports/<dest>/)")
    exp.add_argument("--db", default=None, help="published database (default: the published one)")
    exp.set_defaults(func=_cmd_export)

    syn = commands.add_parser(
        "sync", help="push the change set to the destination's HTTP endpoint (resumable)"
    )
    syn.add_argument("--destination", required=True, help="activation_destinations.destination")
    syn.add_argument("--db", default=None, help="published database (default: the published one)")
    syn.set_defaults(func=_cmd_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
