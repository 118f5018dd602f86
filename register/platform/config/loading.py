"""Loading settings: a TOML file read with `tomllib`, then `LAMPLIGHTER_<SECTION>_<KEY>` overrides.

Everything is checked on the way in. A bad setting raises `ConfigError`, whose message is one line
that names the key (or variable) and the file it came from.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from register.platform.config.fields import ConfigError
from register.platform.config.settings import (
    CONFIG_ENV,
    ENV_PREFIX,
    RESERVED_ENV,
    SECTIONS,
    Settings,
    env_name,
    setting_fields,
    table_list_type,
)


def default_config_path() -> Path | None:
    """The config file to use when none is named: $LAMPLIGHTER_CONFIG, else ./config.toml."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    candidate = Path.cwd() / "config.toml"
    return candidate if candidate.exists() else None


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (optional) and the environment, and check them."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML ({error})") from None
    origins: dict[str, str] = {}
    sections: dict[str, Any] = {}
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}]{_did_you_mean(name, SECTIONS)}")
    for name, section_cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(
            section_cls, name, table, where=where, environ=environ, origins=origins
        )
    _check_environment_names(environ)
    base_dir = path.resolve().parent if path is not None else Path.cwd()
    return Settings(**sections, base_dir=base_dir, origins=origins)


def _build_section(
    section_cls: type,
    section: str,
    table: Mapping[str, Any],
    *,
    where: str,
    environ: Mapping[str, str],
    origins: dict[str, str],
) -> Any:
    fields = setting_fields(section_cls)
    known = {f.name for f, _ in fields}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{section}.{key}'{_did_you_mean(key, known)}")
    values: dict[str, Any] = {}
    for field, kind in fields:
        dotted = f"{section}.{field.name}"
        variable = env_name(section, field.name)
        row_type = table_list_type(kind)
        if row_type is not None:
            # An array of tables ([[mqtt.sources]]): set in the file only, never the environment.
            if field.name in table:
                values[field.name] = _build_table_list(row_type, dotted, table[field.name], where)
                origins[dotted] = where
                problem = field.metadata["check"] and field.metadata["check"](values[field.name])
                if problem:
                    raise ConfigError(f"{where}: {problem}")
            continue
        if variable in environ:
            values[field.name] = _from_env(environ[variable], kind, variable)
            origins[dotted] = f"environment ({variable})"
            label = f"environment: {variable}"
        elif field.name in table:
            values[field.name] = _typed(table[field.name], kind, f"{where}: '{dotted}'")
            origins[dotted] = where
            label = f"{where}: '{dotted}'"
        else:
            continue
        problem = field.metadata["check"] and field.metadata["check"](values[field.name])
        if problem:
            raise ConfigError(f"{label} {problem}")
    return section_cls(**values)


def _build_table_list(row_type: type, dotted: str, value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: '{dotted}' must be a list of tables ([[{dotted}]])")
    return [
        _build_section(row_type, f"{dotted}[{n}]", table, where=where, environ={}, origins={})
        for n, table in enumerate(value)
    ]


def _type_name(kind: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        kind, "a list of strings"
    )


def _typed(value: Any, kind: Any, label: str) -> Any:
    """Check a TOML value against a setting's type (TOML already parsed numbers and booleans)."""
    ok = (
        (kind is bool and isinstance(value, bool))
        or (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (kind is str and isinstance(value, str))
        or (
            kind == list[str] and isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
    )
    if not ok:
        raise ConfigError(f"{label} must be {_type_name(kind)}, not {_toml_type(value)}")
    return float(value) if kind is float else value


def _toml_type(value: Any) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)


def _from_env(text: str, kind: Any, variable: str) -> Any:
    """Parse an environment variable's text as a setting's type."""
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind == list[str]:
            return [item.strip() for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(
            f"environment: {variable} must be {_type_name(kind)}, not {text!r}"
        ) from None
    return text


def _check_environment_names(environ: Mapping[str, str]) -> None:
    known = {
        env_name(section, f.name)
        for section, cls in SECTIONS.items()
        for f, kind in setting_fields(cls)
        if table_list_type(kind) is None
    }
    for variable in environ:
        if not variable.startswith(ENV_PREFIX) or variable.startswith(RESERVED_ENV):
            continue
        if variable not in known:
            raise ConfigError(
                f"environment: unknown setting variable {variable}{_did_you_mean(variable, known)}"
            )


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
