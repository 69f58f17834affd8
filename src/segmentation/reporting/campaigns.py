"""Performance sections: cohort retention, campaigns by segment and the holdout uplift."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from segmentation.reporting.common import (
    Palette,
    Row,
    Section,
    column,
    layout,
    read,
    records,
    table_html,
)

LATEST_CAMPAIGNS = 20

COHORTS_SQL = (
    "select cohort_month, months_since_first_order, cohort_customers, active_customers, "
    "retention_rate from performance.fct_customer_cohorts "
    "order by cohort_month, months_since_first_order"
)
CAMPAIGN_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "audience",
    "campaign_sent_at",
    "segment_type",
    "segment",
    "recipients",
    "conversions",
    "open_rate",
    "click_rate",
    "conversion_rate",
    "revenue_per_recipient",
]
CAMPAIGNS_SQL = f"""
with latest as (
    select campaign_id from performance.fct_campaign_segment_performance
    group by campaign_id order by max(campaign_sent_at) desc, campaign_id
    limit {LATEST_CAMPAIGNS}
)
select {", ".join(CAMPAIGN_COLUMNS)} from performance.fct_campaign_segment_performance
where campaign_id in (select campaign_id from latest)
order by campaign_sent_at desc, campaign_id, segment_type, segment
"""
# Rates pooled over campaigns (sum over sum), not a mean of per-campaign rates.
CONVERSION_SQL = """
select segment_type, segment, sum(recipients) as recipients, sum(conversions) as conversions,
    sum(conversions) / nullif(sum(recipients), 0) as conversion_rate
from performance.fct_campaign_segment_performance
group by segment_type, segment order by segment_type, conversion_rate, segment
"""
UPLIFT_COLUMNS = [
    "audience",
    "campaign_id",
    "campaign_name",
    "campaign_sent_at",
    "treatment_people",
    "holdout_people",
    "treatment_conversion_rate",
    "holdout_conversion_rate",
    "conversion_uplift",
    "conversion_uplift_ci_low",
    "conversion_uplift_ci_high",
    "revenue_uplift",
    "revenue_uplift_ci_low",
    "revenue_uplift_ci_high",
]
UPLIFT_SQL = (
    f"select {', '.join(UPLIFT_COLUMNS)} from performance.campaign_uplift "
    "order by campaign_sent_at, campaign_id, audience"
)


def cohort_retention(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("cohort-retention", "Cohort retention", "performance.fct_customer_cohorts")
    rows = records(read(con, COHORTS_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = "Share of each first-order cohort that ordered again n months later."
    months = sorted(set(column(rows, "months_since_first_order")))
    cohorts = list(dict.fromkeys(column(rows, "cohort_month")))
    cells = {(r["cohort_month"], r["months_since_first_order"]): r for r in rows}

    def grid(name: str) -> list[list[float | None]]:
        return [[cells[(c, m)][name] if (c, m) in cells else None for m in months] for c in cohorts]

    fig = go.Figure(
        go.Heatmap(
            z=grid("retention_rate"),
            x=months,
            y=cohorts,
            customdata=grid("active_customers"),
            zmin=0,
            zmax=1,
            colorscale="Blues",
            texttemplate="%{z:.0%}",
            hovertemplate="cohort %{y}, month %{x}<br>%{z:.1%} retained"
            " (%{customdata:,} active)<extra></extra>",
            colorbar_title="retained",
        )
    )
    fig.update_yaxes(title="cohort (first order)", type="category", autorange="reversed")
    fig.update_xaxes(title="months since first order", dtick=1)
    section.figures = [layout(fig, "Retention by cohort", 160 + 26 * len(cohorts))]
    return section


def campaign_segments(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section(
        "campaign-segments",
        "Campaigns by segment",
        "performance.fct_campaign_segment_performance",
    )
    rows = records(read(con, CAMPAIGNS_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = f"The latest {LATEST_CAMPAIGNS} campaigns, per recipient segment."
    section.tables = [table_html(rows)]
    return section


def segment_conversion(con: duckdb.DuckDBPyConnection, palette: Palette) -> Section:
    section = Section(
        "segment-conversion",
        "Conversion rate by segment",
        "performance.fct_campaign_segment_performance",
    )
    rows = records(read(con, CONVERSION_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = "Conversions over recipients, pooled over all campaigns."
    fig = go.Figure()
    for segment_type in dict.fromkeys(column(rows, "segment_type")):
        part = [r for r in rows if r["segment_type"] == segment_type]
        fig.add_bar(
            name=segment_type,
            orientation="h",
            y=column(part, "segment"),
            x=column(part, "conversion_rate"),
            marker_color=palette[segment_type],
            customdata=[[r["conversions"], r["recipients"]] for r in part],
            hovertemplate="%{y}<br>%{x:.2%}: %{customdata[0]:,} of %{customdata[1]:,}"
            "<extra>%{fullData.name}</extra>",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=column(rows, "segment"))
    fig.update_xaxes(title="conversion rate", tickformat=".1%")
    height = 120 + 22 * len(rows)
    section.figures = [
        layout(
            fig,
            "Conversion rate by segment",
            height,
            barmode="overlay",
            showlegend=True,
            legend={"title": "segment type", "traceorder": "reversed"},
        )
    ]
    return section


def campaign_uplift(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("campaign-uplift", "Holdout uplift", "performance.campaign_uplift")
    rows = records(read(con, UPLIFT_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = (
        "Treatment minus holdout conversion rate per campaign, with its confidence interval; "
        "an interval that crosses zero is no evidence of an effect."
    )
    section.figures = [uplift_figure(rows)]
    section.tables = [table_html(rows)]
    return section


def uplift_figure(rows: list[Row]) -> go.Figure:
    """Points with CI error bars, one trace (colour) per audience, campaigns oldest at top."""

    def gap(row: Row, a: str, b: str) -> float | None:
        return None if row[a] is None or row[b] is None else row[a] - row[b]

    fig = go.Figure()
    audiences = [r["audience"] or "(no audience)" for r in rows]
    labels = [f"{a} / {r['campaign_name']}" for a, r in zip(audiences, rows, strict=True)]
    palette = Palette(audiences)  # audiences, not segment types
    for audience in dict.fromkeys(audiences):
        part = [
            (label, r) for label, a, r in zip(labels, audiences, rows, strict=True) if a == audience
        ]
        fig.add_scatter(
            name=audience,
            mode="markers",
            y=[label for label, _ in part],
            x=[r["conversion_uplift"] for _, r in part],
            marker_color=palette[audience],
            error_x={
                "type": "data",
                "array": [
                    gap(r, "conversion_uplift_ci_high", "conversion_uplift") for _, r in part
                ],
                "arrayminus": [
                    gap(r, "conversion_uplift", "conversion_uplift_ci_low") for _, r in part
                ],
            },
            customdata=[
                [r["conversion_uplift_ci_low"], r["conversion_uplift_ci_high"]] for _, r in part
            ],
            hovertemplate="%{y}<br>uplift %{x:.2%}"
            " (%{customdata[0]:.2%} to %{customdata[1]:.2%})<extra></extra>",
        )
    fig.add_vline(x=0, line_color="grey", line_dash="dash")
    fig.update_yaxes(categoryorder="array", categoryarray=labels, autorange="reversed")
    fig.update_xaxes(title="conversion uplift (treatment − holdout)", tickformat=".1%")
    return layout(fig, "Conversion uplift with confidence interval", 120 + 22 * len(rows))
