"""Helpers shared by the dbt Python models' bridges (clustering, predictions)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def previous_table(session: Any, relation: Any) -> pd.DataFrame | None:
    """The model's own table from the previous run, if there is one."""
    try:
        return session.sql(f"select * from {relation}").df()
    except Exception:  # noqa: BLE001 - first run: the table does not exist yet
        return None
