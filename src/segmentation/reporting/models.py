"""Model sections: the cluster profiles and diagnostics, the predictions' backtest and the
recommendations' offline evaluation."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.predictions.overview import backtest_overview
from segmentation.reporting.common import (
    Row,
    Section,
    column,
    layout,
    read,
    records,
    table_html,
    when,
)
from segmentation.summary import RECOMMENDATION_EVALUATION_SQL

# Only the features k-means saw: the profiling-only ones would swamp the grid.
PROFILES_SQL = (
    "select cluster_name, feature, z_score from segmentation.cluster_profiles "
    "where is_clustering_feature order by cluster_name, feature"
)
DIAGNOSTICS_SQL = (
    "select k, inertia, silhouette, is_chosen from segmentation.cluster_diagnostics order by k"
)


def cluster_profiles(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("cluster-profiles", "Cluster profiles", "segmentation.cluster_profiles")
    rows = records(read(con, PROFILES_SQL))
    if not rows:
        return section
    section.rows = rows
    clusters = list(dict.fromkeys(column(rows, "cluster_name")))
    features = list(dict.fromkeys(column(rows, "feature")))
    z = {(r["cluster_name"], r["feature"]): r["z_score"] for r in rows}
    fig = go.Figure(
        go.Heatmap(
            z=[[z.get((c, f)) for f in features] for c in clusters],
            x=features,
            y=clusters,
            colorscale="RdBu_r",
            zmid=0,
            zmin=-2,
            zmax=2,
            texttemplate="%{z:.2f}",
            hovertemplate="%{y}<br>%{x}: z = %{z:.2f}<extra></extra>",
            colorbar_title="z-score",
        )
    )
    fig.update_xaxes(tickangle=-40)
    fig.update_yaxes(autorange="reversed")  # first cluster on top
    title = "Cluster profiles: z-score of each centre"
    section.figures = [layout(fig, title, 200 + 40 * len(clusters))]
    return section


def cluster_diagnostics(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("cluster-diagnostics", "Choosing k", "segmentation.cluster_diagnostics")
    rows = records(read(con, DIAGNOSTICS_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = "Inertia (elbow) and silhouette by k; the dashed line is the chosen k."
    section.figures = [diagnostics_figure(rows)]
    return section


def diagnostics_figure(rows: list[Row]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Elbow: inertia by k", "Silhouette by k"))
    for col, metric in ((1, "inertia"), (2, "silhouette")):
        fig.add_scatter(
            x=column(rows, "k"),
            y=column(rows, metric),
            mode="lines+markers",
            name=metric,
            row=1,
            col=col,
        )
        fig.update_xaxes(title="k", dtick=1, row=1, col=col)
        fig.update_yaxes(title=metric, row=1, col=col)
    for row in rows:
        if row["is_chosen"]:
            fig.add_vline(x=row["k"], line_color="crimson", line_dash="dash", row="all", col="all")
    return layout(fig, "Choosing k", 380, showlegend=False)


def backtest(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section(
        "predictions-backtest", "Predictions: backtest", "segmentation.model_evaluation"
    )
    try:
        rows = records(backtest_overview(con).dropna(axis=1, how="all"))
    except duckdb.Error:  # model_evaluation from an older build, without some column
        rows = []
    if not rows:
        return section
    section.rows = rows
    section.intro = (
        "Classifiers trained two horizons back, evaluated one horizon back, beside the "
        "RFM-score and recency baselines; BG/NBD predicted vs actual purchases over the "
        "churn horizon (docs/predictions.md)."
    )
    section.tables = [table_html(rows)]
    return section


def recommendations(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section(
        "recommendation-evaluation",
        "Recommendations: offline evaluation",
        "content.recommendation_evaluation",
    )
    rows = records(read(con, RECOMMENDATION_EVALUATION_SQL))
    if not rows:
        return section
    section.rows = rows
    first = rows[0]
    section.intro = (
        f"Each method recommends as of {when(first['cutoff_at'])} and is scored on what the "
        f"{first['people_evaluated']:,} people who bought since bought (docs/content.md)."
    )
    shown = [k for k in first if k not in ("people_evaluated", "cutoff_at")]
    section.tables = [table_html(rows, shown)]
    return section
