"""What every report section shares: reading a mart, the rows embedded as report-data,
HTML tables and the segment-type colours."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

Row = dict[str, Any]


@dataclass
class Section:
    """One <section> of the page. ``rows`` are the numbers it shows (embedded as report-data
    under ``id``); ``None`` means its mart is missing or empty, so only a note is drawn."""

    id: str
    title: str
    source: str
    rows: list[Row] | None = None
    intro: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @property
    def built(self) -> bool:
        return bool(self.rows)


def read(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The query's rows, or an empty frame when its schema, table or a column is missing
    (a warehouse built before that mart). DATE columns come back as ``datetime.date`` so
    they reach report-data as ``YYYY-MM-DD``, not as midnight timestamps."""
    try:
        result = con.execute(sql)
        types = {d[0]: str(d[1]) for d in result.description}
        frame = result.df()
    except duckdb.Error:
        return pd.DataFrame()
    for column, kind in types.items():
        if kind == "DATE" and not frame.empty:
            frame[column] = frame[column].dt.date
    return frame


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: ISO strings for dates, ``None`` for NaN/NaT, Python numbers."""
    if isinstance(value, datetime | date):  # pd.Timestamp is a datetime
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def when(value: str | None) -> str:
    """An ISO timestamp from report-data as people read it (a space, not a 'T')."""
    return "?" if value is None else str(value).replace("T", " ")


def records(frame: pd.DataFrame) -> list[Row]:
    """The frame as a list of plain dicts: the charts are drawn from exactly these rows."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def column(rows: list[Row], name: str) -> list[Any]:
    return [row[name] for row in rows]


def table_html(rows: list[Row], columns: list[str] | None = None) -> str:
    """An escaped HTML table of ``rows`` (floats to 3 decimals, nulls blank), scrollable."""
    if not rows:
        return ""
    frame = pd.DataFrame(rows)
    if columns:
        frame = frame[columns]
    for name in frame.columns:  # na_rep covers float NaN only, not None in text columns
        if not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].fillna("")
    body = frame.to_html(
        index=False, float_format=lambda v: f"{v:.3f}", border=0, na_rep="", classes="data"
    )
    return f'<div class="table">{body}</div>'


def paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


class Palette:
    """One colour per segment type, the same in every chart of the page."""

    def __init__(self, names: list[str]) -> None:
        self._colours: dict[str, str] = {}
        for name in sorted({str(n) for n in names}):
            self[name]

    def __getitem__(self, name: str) -> str:
        name = str(name)
        if name not in self._colours:
            colours = qualitative.Plotly
            self._colours[name] = colours[len(self._colours) % len(colours)]
        return self._colours[name]


def layout(fig: go.Figure, title: str, height: int, **kwargs: Any) -> go.Figure:
    """The page's common look; the height grows with the rows so labels stay readable."""
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=max(height, 280),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
        **kwargs,
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def ordered(labels: list[str]) -> list[str]:
    """Distinct segment labels sorted, with '(none)' (not in a segment of that type) last."""
    distinct = sorted({label for label in labels if label is not None and label != "(none)"})
    return distinct + (["(none)"] if "(none)" in labels else [])
