"""Writing settings as TOML, for `config example` and for the config files that tests and
benchmarks give the processes they start. (Python reads TOML with `tomllib`, but cannot
write it.)"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    """A TOML literal for a string, number, boolean or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def toml_document(
    sections: Mapping[str, Mapping[str, Any]],
    table_lists: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> str:
    """TOML text with these `[section]` tables, then arrays of tables such as `[[mqtt.sources]]`."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    for name, rows in (table_lists or {}).items():
        for row in rows:
            lines.append(f"[[{name}]]")
            lines += [f"{key} = {toml_value(value)}" for key, value in row.items()]
    return "\n".join(lines) + "\n"


def write_toml(
    path: Path,
    sections: Mapping[str, Mapping[str, Any]],
    table_lists: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> Path:
    """Write a TOML file (see `toml_document`); its path."""
    path.write_text(toml_document(sections, table_lists), encoding="utf-8")
    return path
