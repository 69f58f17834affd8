"""The short report printed after a build: what was built, how many rows, how long."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from segmentation import warehouse
from segmentation.predictions.overview import backtest_overview


def _format_table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if n and _numeric(c) else c.ljust(w)
                for c, w in zip(row, widths, strict=True)
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("%", "").lstrip("-").isdigit()


def model_timings(project: Path) -> dict[str, float]:
    """Seconds per model from the last run's target/run_results.json."""
    results_path = project / "target" / "run_results.json"
    if not results_path.exists():
        return {}
    results = json.loads(results_path.read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: float(r.get("execution_time") or 0.0)
        for r in results
        if r["unique_id"].startswith("model.")
    }


def build_summary(db_file: Path, project: Path, wall_seconds: float | None = None) -> str:
    """Tables built (schema, rows, seconds), then where the raw rows went."""
    timings = model_timings(project)
    con = warehouse.connect(db_file)
    try:
        rows = []
        for schema, name in warehouse.tables(con):
            (count,) = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            rows.append([f"{schema}.{name}", count, timings.get(name)])
        parts = ["Tables built:", _format_table(["table", "rows", "seconds"], rows)]
        audit = con.execute(
            "select source_table, raw_rows, staged_rows, rejected_rows, duplicate_rows "
            "from audit.audit_raw_rows order by source_table"
        ).fetchall()
        parts += [
            "",
            "Raw rows accounted for (staged + rejected + duplicates = raw):",
            _format_table(
                ["raw table", "raw", "staged", "rejected", "duplicates"], [list(r) for r in audit]
            ),
        ]
        parts += ["", segment_summary_table(con), "", audience_table(con)]
        parts += ["", predictions_table(con), "", recommendations_table(con)]
        parts += ["", uplift_table(con)]
    finally:
        con.close()
    if wall_seconds is not None:
        parts += ["", f"Build wall time: {wall_seconds:.1f} s  (database: {db_file})"]
    return "\n".join(parts)


def segment_summary_table(con: duckdb.DuckDBPyConnection) -> str:
    """The segments as a table: members, share, revenue share, a few feature means, and
    whether each was evaluated (not when a channel it needs has no data)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'segmentation' and table_name = 'segment_summary'"
    ).fetchone()[0]
    if not exists:
        return "No segment_summary yet."
    rows = con.execute(
        """
        select
            segment_type, segment, members, primary_members,
            round(100 * share_of_audience, 1) as share_pct,
            case
                when evaluation_status = 'evaluated' then round(100 * coalesce(revenue_share, 0), 1)
            end as revenue_pct,
            round(mean_recency_days, 0) as recency_days,
            round(mean_monetary, 2) as mean_monetary,
            round(mean_engagement_score, 1) as engagement,
            case
                when share_of_audience < min_share then 'below min ' || (100 * min_share) || '%'
                when share_of_audience > max_share then 'above max ' || (100 * max_share) || '%'
                else ''
            end as size_check,
            evaluation_status,
            as_of
        from segmentation.segment_summary
        order by priority
        """
    ).fetchall()
    as_of = rows[0][-1] if rows else None
    headers = [
        "type",
        "segment",
        "members",
        "primary",
        "share %",
        "revenue %",
        "recency d",
        "avg net rev",
        "engagement",
        "size check",
        "status",
    ]
    body = [[None if v != v else v for v in row[:-1]] for row in rows]
    return f"Segments as of {as_of}:\n" + _format_table(headers, body)


def audience_table(con: duckdb.DuckDBPyConnection) -> str:
    """Per audience: members by split group (only treatment is exported), then the
    suppressed people by reason (a person can have several)."""
    members = con.execute(
        "select destination, audience, "
        "count(*) filter (where split_group = 'treatment'), "
        "count(*) filter (where split_group = 'holdout'), "
        "count(*) filter (where split_group = 'global_control') "
        "from activation.audience_members group by all order by all"
    ).fetchall()
    reasons = con.execute(
        "select suppression_reason, count(*) from activation.activation_suppressions "
        "group by all order by 2 desc, 1"
    ).fetchall()
    suppressed = ", ".join(f"{reason} {count:,}" for reason, count in reasons) or "none"
    return "\n".join(
        [
            "Audiences (segmentation export | sync; docs/activation.md):",
            _format_table(
                ["destination", "audience", "exported", "holdout", "global control"],
                [list(r) for r in members],
            ),
            f"Suppressed (kept out of every audience): {suppressed}",
        ]
    )


def predictions_table(con: duckdb.DuckDBPyConnection) -> str:
    """The backtest of the predictions (model_evaluation): AUC, top-decile lift and
    calibration error per task and method, '*' = the method that scores."""
    table = backtest_overview(con)
    classifiers = table[table.task != "bgnbd_holdout"] if not table.empty else table
    if classifiers.empty:
        return "No predictions in this build (enable_predictions)."
    rows = [
        [r.task, r.method + (" *" if r.is_selected else "")]
        + ["" if v != v else v for v in (r.auc, r.top_decile_lift, r.calibration_error)]
        for r in classifiers.itertuples()
    ]
    lines = [
        "Predictions backtest (segmentation.model_evaluation; docs/predictions.md):",
        _format_table(["task", "method", "AUC", "top-decile lift", "calibration error"], rows),
    ]
    holdout = table[(table.task == "bgnbd_holdout") & (table.method == "bgnbd")]
    if not holdout.empty:
        h = holdout.iloc[0]
        lines.append(
            f"BG/NBD holdout: {_fmt(h.predicted_total)} purchases predicted, "
            f"{_fmt(h.actual_total)} made (correlation per person {_fmt(h.correlation)})"
        )
    return "\n".join(lines)


RECOMMENDATION_EVALUATION_SQL = (
    "select recommendation_method as method, people_evaluated, hit_rate_at_5, "
    "hit_rate_at_10, recall_at_10, hit_rate_at_10_lift, cutoff_at "
    "from content.recommendation_evaluation order by hit_rate_at_10 desc, method"
)


def recommendations_table(con: duckdb.DuckDBPyConnection) -> str:
    """The offline evaluation of the recommendations (content.recommendation_evaluation)."""
    try:
        rows = con.execute(RECOMMENDATION_EVALUATION_SQL).fetchall()
    except duckdb.CatalogException:  # a warehouse built before the content marts
        return "No recommendation evaluation in this warehouse."
    if not rows:
        return "No recommendation evaluation (nobody bought in the test window)."
    people, cutoff = rows[0][1], rows[0][6]
    return "\n".join(
        [
            f"Recommendations, offline (content.recommendation_evaluation; docs/content.md): "
            f"made as of {cutoff}, scored on the {people:,} people who bought since",
            _format_table(
                ["method", "hit rate @5", "hit rate @10", "recall @10", "lift @10"],
                [[r[0], r[2], r[3], r[4], r[5]] for r in rows],
            ),
        ]
    )


UPLIFT_SQL = (
    "select audience, count(*) as campaigns, sum(treatment_people) as treatment, "
    "sum(holdout_people) as holdout, "
    "sum(treatment_conversions) / nullif(sum(treatment_people), 0) as treatment_rate, "
    "sum(holdout_conversions) / nullif(sum(holdout_people), 0) as holdout_rate "
    "from performance.campaign_uplift group by audience order by audience"
)


def uplift_table(con: duckdb.DuckDBPyConnection) -> str:
    """Conversion of each audience's treatment against its holdout, over its campaigns
    (performance.campaign_uplift; the intervals are per campaign there)."""
    try:
        rows = con.execute(UPLIFT_SQL).fetchall()
    except duckdb.CatalogException:  # a warehouse built before the performance marts
        return "No campaign uplift in this warehouse."
    if not rows:
        return (
            "No campaign to an audience since the first recorded run (campaign_uplift is "
            "empty): `make append DAYS=28 AUDIENCES=1`, then `make refresh` (docs/performance.md)."
        )
    return "\n".join(
        [
            "Campaign uplift, treatment vs holdout (performance.campaign_uplift; "
            "docs/performance.md):",
            _format_table(
                [
                    "audience",
                    "campaigns",
                    "treatment",
                    "holdout",
                    "conv. treatment",
                    "conv. holdout",
                    "uplift",
                ],
                [[*r, r[4] - r[5] if None not in (r[4], r[5]) else None] for r in rows],
            ),  # fmt: skip
        ]
    )
