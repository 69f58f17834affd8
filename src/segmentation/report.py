"""`segmentation report`: PNG charts and a small HTML page, read from the warehouse.

Charts: elbow (inertia) and silhouette by k, the cluster profile heat map (centre z-scores),
and segment sizes; tables of the predictions' backtest and the recommendations' offline
evaluation. Everything comes from the tables the last `dbt build` wrote.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from segmentation.predictions.overview import backtest_overview  # noqa: E402
from segmentation.summary import RECOMMENDATION_EVALUATION_SQL  # noqa: E402


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    try:
        return con.execute(sql).df()
    except duckdb.Error:
        return pd.DataFrame()


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _elbow(diagnostics: pd.DataFrame, out: Path) -> Path | None:
    if diagnostics.empty or diagnostics["k"].nunique() < 2:
        return None
    d = diagnostics.sort_values("k")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(d["k"], d["inertia"], marker="o")
    left.set(title="Elbow: inertia by k", xlabel="k", ylabel="inertia (sample)")
    right.plot(d["k"], d["silhouette"], marker="o", color="tab:green")
    right.set(title="Silhouette by k", xlabel="k", ylabel="silhouette")
    for ax in (left, right):
        chosen = d[d["is_chosen"]]
        for _, row in chosen.iterrows():
            ax.axvline(row["k"], color="tab:red", linestyle="--", linewidth=1)
    return _save(fig, out / "elbow_silhouette.png")


def _heatmap(profiles: pd.DataFrame, out: Path) -> Path | None:
    if profiles.empty:
        return None
    rows = (
        profiles[profiles["is_clustering_feature"]]
        if "is_clustering_feature" in profiles
        else profiles
    )
    grid = rows.pivot_table(index="cluster_name", columns="feature", values="z_score")
    if grid.empty:
        return None
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * grid.shape[1], 1.5 + 0.5 * grid.shape[0]))
    image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=60, ha="right")
    ax.set_yticks(range(grid.shape[0]), grid.index)
    ax.set_title("Cluster profiles: z-score of each centre")
    fig.colorbar(image, ax=ax, label="z-score")
    return _save(fig, out / "cluster_profiles.png")


def _sizes(summary: pd.DataFrame, out: Path) -> Path | None:
    if summary.empty:
        return None
    s = summary.sort_values(["segment_type", "members"])
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(s) + 1.5))
    colors = {t: f"C{i}" for i, t in enumerate(sorted(s["segment_type"].unique()))}
    ax.barh(s["segment"], s["members"], color=[colors[t] for t in s["segment_type"]])
    for t, c in colors.items():
        ax.barh([], [], color=c, label=t)
    ax.legend(loc="lower right")
    ax.set(title="Segment sizes", xlabel="people")
    return _save(fig, out / "segment_sizes.png")


def _backtest_html(backtest: pd.DataFrame) -> str:
    """The predictions' backtest (model_evaluation) as a table; nothing without it."""
    if backtest.empty:
        return ""
    shown = backtest.dropna(axis=1, how="all")
    return (
        "<h2>Predictions: backtest</h2><p>Classifiers trained two horizons back, evaluated "
        "one horizon back, beside the RFM-score and recency baselines; BG/NBD predicted vs "
        "actual purchases over the churn horizon (docs/predictions.md).</p>"
        + shown.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, na_rep="")
    )


def _recommendations_html(evaluation: pd.DataFrame) -> str:
    """The recommendations' offline evaluation as a table; nothing without it."""
    if evaluation.empty:
        return ""
    return (
        "<h2>Recommendations: offline evaluation</h2><p>Each method recommends as of "
        f"{html.escape(str(evaluation.cutoff_at.iloc[0]))} and is scored on what the "
        f"{int(evaluation.people_evaluated.iloc[0]):,} people who bought since bought "
        "(docs/content.md).</p>"
        + evaluation.drop(columns=["people_evaluated", "cutoff_at"]).to_html(
            index=False, float_format=lambda v: f"{v:.3f}", border=0
        )
    )


def write_report(db_file: Path, out: Path) -> Path:
    """Write the charts and index.html into ``out``; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        diagnostics = _read(con, "select * from segmentation.cluster_diagnostics")
        profiles = _read(con, "select * from segmentation.cluster_profiles")
        summary = _read(con, "select * from segmentation.segment_summary")
        backtest = backtest_overview(con)
        evaluation = _read(con, RECOMMENDATION_EVALUATION_SQL)
    finally:
        con.close()
    charts = [
        p for p in (_elbow(diagnostics, out), _heatmap(profiles, out), _sizes(summary, out)) if p
    ]
    table = ""
    if not summary.empty:
        cols = ["segment_type", "segment", "members", "share_of_audience", "revenue_share"]
        table = (
            summary[cols]
            .sort_values(["segment_type", "segment"])
            .to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
        )
    as_of = html.escape(str(summary["as_of"].max())) if "as_of" in summary else "?"
    images = "\n".join(f'<img src="{p.name}" alt="{p.stem}">' for p in charts)
    page = out / "index.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>Customer segments</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:100%;display:block;"
        "margin:1em 0}td,th{padding:2px 8px}</style>"
        f"<h1>Customer segments as of {as_of}</h1>{images}<h2>Segments</h2>{table}"
        f"{_backtest_html(backtest)}{_recommendations_html(evaluation)}"
    )
    return page
