"""Segment sections: sizes now, sizes over the recorded as_of dates, and who moved where."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from segmentation.reporting.common import (
    Palette,
    Row,
    Section,
    column,
    layout,
    ordered,
    read,
    records,
    table_html,
    when,
)

SIZES_SQL = (
    "select segment_type, segment, members, share_of_audience, revenue_share, as_of "
    "from segmentation.segment_summary order by segment_type, members, segment"
)
TREND_SQL = (
    "select segment_type, segment, as_of, members, primary_members, share_of_audience "
    "from performance.segment_size_trend order by segment_type, segment, as_of"
)
# The latest recorded step per segment type: older steps would need their own grids.
MIGRATION_SQL = """
select segment_type, from_segment, to_segment, from_as_of, to_as_of, people, share_of_from
from performance.segment_migration
qualify to_as_of = max(to_as_of) over (partition by segment_type)
order by segment_type, from_segment, to_segment
"""


def segment_sizes(con: duckdb.DuckDBPyConnection, palette: Palette) -> Section:
    section = Section("segment-sizes", "Segment sizes", "segmentation.segment_summary")
    rows = records(read(con, SIZES_SQL))
    if not rows:
        return section
    section.rows = rows
    section.figures = [sizes_figure(rows, palette)]
    section.tables = [
        table_html(
            sorted(rows, key=lambda r: (r["segment_type"], r["segment"])),
            ["segment_type", "segment", "members", "share_of_audience", "revenue_share"],
        )
    ]
    return section


def sizes_figure(rows: list[Row], palette: Palette) -> go.Figure:
    """Horizontal bars, one trace per segment type: the legend then has one entry per type
    in that type's colour (one trace with a colour per bar gave a one-colour legend)."""
    fig = go.Figure()
    for segment_type in dict.fromkeys(column(rows, "segment_type")):
        part = [r for r in rows if r["segment_type"] == segment_type]
        fig.add_bar(
            name=segment_type,
            orientation="h",
            y=column(part, "segment"),
            x=column(part, "members"),
            marker_color=palette[segment_type],
            customdata=[[r["share_of_audience"], r["revenue_share"]] for r in part],
            hovertemplate="%{y}<br>%{x:,} people<br>%{customdata[0]:.1%} of the audience"
            "<br>%{customdata[1]:.1%} of revenue<extra>%{fullData.name}</extra>",
        )
    # categories in row order (grouped by type, largest last = on top of its group)
    fig.update_yaxes(categoryorder="array", categoryarray=column(rows, "segment"))
    fig.update_xaxes(title="people")
    # overlay, not group: each category has a bar in one trace only, so no empty slots
    return layout(
        fig,
        "Segment sizes",
        120 + 22 * len(rows),
        barmode="overlay",
        showlegend=True,  # also with a single type
        legend={"title": "segment type", "traceorder": "reversed"},  # top to bottom as bars
    )


def size_trend(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("segment-size-trend", "Segment size trend", "performance.segment_size_trend")
    rows = records(read(con, TREND_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = "Members per segment at each recorded as_of; the menu shows one type."
    if len(set(column(rows, "as_of"))) == 1:
        section.intro += " Only one as_of is recorded so far: a point per segment."
    section.figures = [trend_figure(rows)]
    return section


def trend_figure(rows: list[Row]) -> go.Figure:
    """One line per segment, grouped in the legend by type, with a menu to pick a type."""
    fig = go.Figure()
    keys = list(dict.fromkeys((r["segment_type"], r["segment"]) for r in rows))
    for segment_type, segment in keys:
        part = [r for r in rows if (r["segment_type"], r["segment"]) == (segment_type, segment)]
        fig.add_scatter(
            name=segment,
            mode="lines+markers",
            x=column(part, "as_of"),
            y=column(part, "members"),
            legendgroup=segment_type,
            legendgrouptitle_text=segment_type,
            customdata=column(part, "share_of_audience"),
            hovertemplate="%{x}<br>%{y:,} people (%{customdata:.1%})<extra>%{fullData.name}"
            "</extra>",
        )
    types = list(dict.fromkeys(t for t, _ in keys))
    buttons = [{"label": "all types", "method": "restyle", "args": [{"visible": True}]}]
    buttons += [
        {"label": t, "method": "restyle", "args": [{"visible": [k[0] == t for k in keys]}]}
        for t in types
    ]
    fig.update_layout(updatemenus=[{"buttons": buttons, "x": 1.0, "y": 1.15, "xanchor": "right"}])
    fig.update_yaxes(title="people", rangemode="tozero")
    return layout(fig, "Segment size trend", 520)


def migration(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section("segment-migration", "Segment migration", "performance.segment_migration")
    rows = records(read(con, MIGRATION_SQL))
    if not rows:
        return section
    section.rows = rows
    section.intro = (
        "People by segment at the previous as_of (rows) and the latest (columns), one grid "
        "per segment type; '(none)' is not in a segment of that type."
    )
    if all(r["from_as_of"] == r["to_as_of"] for r in rows):
        section.intro += " Only one as_of is recorded so far, so nobody has moved yet."
    types = dict.fromkeys(column(rows, "segment_type"))
    section.figures = [migration_figure([r for r in rows if r["segment_type"] == t]) for t in types]
    return section


def migration_figure(rows: list[Row]) -> go.Figure:
    """A heat map of people; the hover adds the share of the row (from) segment."""
    sources, targets = ordered(column(rows, "from_segment")), ordered(column(rows, "to_segment"))
    cells = {(r["from_segment"], r["to_segment"]): r for r in rows}

    def grid(name: str) -> list[list[float | None]]:
        return [
            [cells[(f, t)][name] if (f, t) in cells else None for t in targets] for f in sources
        ]

    fig = go.Figure(
        go.Heatmap(
            z=grid("people"),
            x=targets,
            y=sources,
            customdata=grid("share_of_from"),
            colorscale="Blues",
            texttemplate="%{z:,}",
            hovertemplate="from %{y}<br>to %{x}<br>%{z:,} people<br>"
            "%{customdata:.1%} of from<extra></extra>",
            colorbar_title="people",
        )
    )
    fig.update_yaxes(title="from", type="category", autorange="reversed")
    fig.update_xaxes(title="to", type="category", tickangle=-30)
    first = rows[0]
    title = f"{first['segment_type']}: {when(first['from_as_of'])} → {when(first['to_as_of'])}"
    return layout(fig, title, 160 + 34 * len(sources))
