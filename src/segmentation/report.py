"""`segmentation report`: one self-contained interactive HTML page (Plotly), read from the
warehouse the last `dbt build` wrote.

Sections: segment sizes, their trend and migration; cohort retention; campaigns by segment
and the holdout uplift; the cluster profiles and diagnostics; the predictions' backtest and
the recommendations' offline evaluation. A section whose mart is missing or empty says so.
The numbers each section shows are embedded as JSON (``<script id="report-data">``) so tests
can compare them with the marts.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import duckdb
import plotly.io as pio

from segmentation.reporting import campaigns, models, segments
from segmentation.reporting.common import Palette, Section, paragraph, read, when

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1300px;color:#222}
nav a{margin-right:1em}section{margin:2.5em 0}p.not-built{color:#888;font-style:italic}
div.table{max-height:420px;overflow:auto;margin:1em 0}
table.data{border-collapse:collapse;font-size:13px}
table.data td,table.data th{padding:2px 8px;border-bottom:1px solid #eee;white-space:nowrap}
table.data th{position:sticky;top:0;background:#fff}
"""


def _sections(con: duckdb.DuckDBPyConnection) -> list[Section]:
    """Every section in page order; segment types get their colours from segment_summary
    first so a type keeps its colour from chart to chart."""
    types = read(con, "select distinct segment_type from segmentation.segment_summary")
    palette = Palette(list(types["segment_type"]) if "segment_type" in types else [])
    return [
        segments.segment_sizes(con, palette),
        segments.size_trend(con),
        segments.migration(con),
        campaigns.cohort_retention(con),
        campaigns.campaign_segments(con),
        campaigns.segment_conversion(con, palette),
        campaigns.campaign_uplift(con),
        models.cluster_profiles(con),
        models.cluster_diagnostics(con),
        models.backtest(con),
        models.recommendations(con),
    ]


def _section_html(section: Section, first_figure: bool) -> str:
    """The <section>; plotly.js is inlined with the page's first figure only (offline,
    one copy of the ~5 MB bundle)."""
    parts = [f'<section id="{section.id}"><h2>{html.escape(section.title)}</h2>']
    if not section.built:
        note = f"Not built: {section.source} is missing or empty in this warehouse."
        parts.append(f'<p class="not-built">{html.escape(note)}</p></section>')
        return "".join(parts)
    if section.intro:
        parts.append(paragraph(section.intro))
    for i, fig in enumerate(section.figures):
        parts.append(
            pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs=first_figure and i == 0,
                div_id=f"fig-{section.id}-{i}",
                config=PLOTLY_CONFIG,
            )
        )
    parts.extend(section.tables)
    parts.append("</section>")
    return "".join(parts)


def _data_json(sections: list[Section]) -> str:
    """report-data: section id -> the rows it shows ([] when not built). '<' is escaped so
    no value can close the <script> element."""
    data = {s.id: s.rows or [] for s in sections}
    return json.dumps(data, allow_nan=False, ensure_ascii=False).replace("<", "\\u003c")


def _page(sections: list[Section]) -> str:
    sizes = sections[0].rows or []
    as_of = html.escape(when(max(r["as_of"] for r in sizes) if sizes else None))
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body, plotly_included = [], False
    for section in sections:
        body.append(_section_html(section, first_figure=not plotly_included))
        plotly_included = plotly_included or (section.built and bool(section.figures))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Customer segments as of {as_of}</title><style>{STYLE}</style></head><body>"
        f"<h1>Customer segments as of {as_of}</h1><nav>{nav}</nav>{''.join(body)}"
        f'<script type="application/json" id="report-data">{_data_json(sections)}</script>'
        "</body></html>"
    )


def write_report(db_file: Path, out: Path) -> Path:
    """Write ``out/index.html`` (self-contained, works offline); returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        sections = _sections(con)
    finally:
        con.close()
    page = out / "index.html"
    page.write_text(_page(sections), encoding="utf-8")
    return page
