"""The project's one-place rules, checked on the files: every var declared once, the raw
contract's lists not copied, every raw table with its models, every model keyed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from segmentation import contract

from conftest import PROJECT

SQL_DIRS = ("models", "macros", "tests/generic", "python_models")
VAR_CALL = re.compile(r"var\(\s*'([a-z_0-9]+)'\s*(,)?")


def _files(*suffixes: str) -> list[Path]:
    return [
        path
        for folder in SQL_DIRS
        for path in sorted((PROJECT / folder).rglob("*"))
        if path.suffix in suffixes
    ]


def test_every_var_is_declared_once_and_read_without_an_inline_default() -> None:
    declared = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
    used: dict[str, list[str]] = {}
    with_default = []
    for path in _files(".sql", ".yml", ".py"):
        for match in VAR_CALL.finditer(path.read_text()):
            used.setdefault(match.group(1), []).append(str(path.relative_to(PROJECT)))
            if match.group(2):
                with_default.append(f"{path.relative_to(PROJECT)}: {match.group(1)}")
    assert not with_default, "declare the default in dbt_project.yml instead"
    undeclared = {name: files for name, files in used.items() if name not in declared}
    assert not undeclared, "add these vars to dbt_project.yml"
    unused = set(declared) - set(used) - {"as_of"}
    assert not unused, "declared in dbt_project.yml but read nowhere"


def test_every_raw_table_has_its_models_and_is_listed() -> None:
    macro = (PROJECT / "macros/raw_contract.sql").read_text()
    listed = re.search(r"macro raw_tables\(\).*?\[(.*?)\]", macro, re.S)
    assert listed is not None
    assert sorted(re.findall(r"'([a-z_]+)'", listed.group(1))) == sorted(contract.TABLES)
    for table in contract.TABLES:
        assert (PROJECT / f"models/staging/raw/base/base_raw__{table}.sql").is_file(), table
        assert (PROJECT / f"models/staging/raw/stg_raw__{table}.sql").is_file(), table


def test_event_type_literals_in_models_are_in_the_contract() -> None:
    """A model comparing event_type with a literal uses a value the contract accepts (a
    renamed type would otherwise match nothing, silently)."""
    accepted = set(contract.WEB_EVENT_TYPES) | set(contract.EMAIL_EVENT_TYPES)
    pattern = re.compile(r"event_type\s*(?:=|<>|!=)\s*'([^']+)'")
    unknown = {
        f"{path.relative_to(PROJECT)}: {value}"
        for path in _files(".sql")
        for value in pattern.findall(path.read_text())
        if value not in accepted
    }
    assert not unknown


def _model_entries() -> dict[str, dict]:
    entries = {}
    for path in sorted(PROJECT.glob("models/**/*.yml")) + sorted(
        PROJECT.glob("python_models/**/*.yml")
    ):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []) or []:
            entries[model["name"]] = model
    return entries


def _has_key_test(entry: dict) -> bool:
    model_tests = entry.get("data_tests") or entry.get("tests") or []
    if any(isinstance(t, dict) and "unique_combination_of_columns" in t for t in model_tests):
        return True
    for column in entry.get("columns", []) or []:
        names = {
            (next(iter(t)) if isinstance(t, dict) else t)
            for t in (column.get("data_tests") or column.get("tests") or [])
        }
        if names & {"unique", "unique_incremental"}:
            return True
    return False


def test_every_table_model_has_a_primary_key_test() -> None:
    entries = _model_entries()
    models = [
        path.stem
        for folder in ("models", "python_models")
        for path in (PROJECT / folder).rglob("*")
        if path.suffix in (".sql", ".py") and "/base/" not in str(path)
    ]
    missing = sorted(m for m in models if m not in entries or not _has_key_test(entries[m]))
    assert not missing, "describe the grain and test the key of each model"
