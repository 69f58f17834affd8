"""The PII boundary: raw e-mail addresses and names live only in the core and activation
marts (and in the work layers, which are never published). Columns holding them are tagged
``pii`` in the models' yml; this reads dbt's manifest and names any tagged column elsewhere."""

from __future__ import annotations

from typing import Any

# the folders under models/ whose models may hold PII: the unpublished work layers, and the
# marts that are the customer record (core) and what goes to the e-mail platform (activation)
ALLOWED = (("staging",), ("intermediate",), ("audit",), ("marts", "core"), ("marts", "activation"))


def _tags(column: dict[str, Any]) -> set[str]:
    return set(column.get("tags") or []) | set((column.get("config") or {}).get("tags") or [])


def _allowed(fqn: list[str]) -> bool:
    folders = tuple(fqn[1:-1])
    return any(folders[: len(prefix)] == prefix for prefix in ALLOWED)


def pii_violations(manifest: dict[str, Any]) -> list[str]:
    """``model.column`` of every pii-tagged column of a model outside the allowed folders."""
    found = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or _allowed(node["fqn"]):
            continue
        for name, column in node.get("columns", {}).items():
            if "pii" in _tags(column):
                found.append(f"{node['name']}.{name}")
    return sorted(found)
