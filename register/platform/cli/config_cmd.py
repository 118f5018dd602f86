"""`lamplighter config show` (the settings in force, where each came from, secrets masked) and
`lamplighter config example` (config.example.toml, made from the settings table)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from register.platform import config
from register.platform.config import SECTIONS, Settings, setting_fields, table_list_type
from register.platform.config.toml import toml_value

MASK = "********"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("config", help="show the settings in force")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings, secrets masked")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=run_show)
    example = actions.add_parser(
        "example", help="print config.example.toml: every setting, documented"
    )
    example.set_defaults(run=run_example)


def mask_url(url: str) -> str:
    """Hide the password in a URL, keeping the rest readable."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _shown(field: dataclasses.Field[Any], value: Any) -> Any:
    if field.metadata.get("secret") and value:
        return MASK
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def _section_values(section_obj: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, kind in setting_fields(type(section_obj)):
        value = getattr(section_obj, field.name)
        if table_list_type(kind) is not None:
            values[field.name] = [_section_values(row) for row in value]
        else:
            values[field.name] = _shown(field, value)
    return values


def effective_settings(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every setting's value in force, secrets masked, with the embedded URLs filled in."""
    shown = {name: _section_values(getattr(settings, name)) for name in SECTIONS}
    shown["database"]["url"] = mask_url(settings.database_url)
    shown["mqtt"]["url"] = mask_url(settings.mqtt_url)
    return shown


def _origin(settings: Settings, dotted: str) -> str:
    if dotted in settings.origins:
        return settings.origins[dotted]
    if dotted == "database.url":
        return "default: the embedded PostgreSQL"
    if dotted == "mqtt.url":
        return "default: the embedded Mosquitto"
    return "default"


def run_show(settings: Settings, args: argparse.Namespace) -> int:
    shown = effective_settings(settings)
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for section, values in shown.items():
        print(f"[{section}]")
        for key, value in values.items():
            if key == "sources":
                for source in value:
                    described = ", ".join(f"{k}={v!r}" for k, v in source.items() if v)
                    print(f"  source: {described}")
                continue
            print(f"  {key:<26} {json.dumps(value):<40} {_origin(settings, f'{section}.{key}')}")
    print(
        f"\nOverride any setting with {config.ENV_PREFIX}<SECTION>_<KEY>, e.g. "
        f"{config.env_name('web', 'port')}=8081."
    )
    return 0


EXAMPLE_HEADER = """\
# Lamplighter settings. Copy this file to config.toml (or point LAMPLIGHTER_CONFIG at a copy)
# and uncomment what you change. Every value shown is the default.
#
# Any setting can also be set in the environment as LAMPLIGHTER_<SECTION>_<KEY>, which wins over
# this file: LAMPLIGHTER_WEB_PORT=8081, LAMPLIGHTER_DATABASE_URL=postgresql://…
# List settings take comma-separated values there. `lamplighter config show` prints what is in
# force and where each value came from, with secrets masked.
#
# Relative paths are relative to this file's directory.
"""

SOURCES_HELP = """\
# MQTT sources: one [[mqtt.sources]] table per broker connection and payload format. Keys:
#   name      a short unique name, used in logs and metrics
#   format    {formats}
#   topics    topic filters; empty means the format's default topic
#   url, username, password   the broker, when it is not the [mqtt] one above
# Sources are set in this file only (not in the environment); their broker settings fall back to
# [mqtt], whose LAMPLIGHTER_MQTT_* variables do apply. With no [[mqtt.sources]] at all, one
# for each format is used:
"""


def example_text() -> str:
    """config.example.toml, generated from the settings table so it cannot fall behind."""
    out = [EXAMPLE_HEADER]
    defaults = config.Settings()
    for section in SECTIONS:
        out.append(f"\n[{section}]")
        for field, kind in setting_fields(type(getattr(defaults, section))):
            if table_list_type(kind) is not None:
                continue
            variable = config.env_name(section, field.name)
            out.append(f"# {field.metadata['help']}  ({variable})")
            out.append(
                f"# {field.name} = {toml_value(getattr(getattr(defaults, section), field.name))}"
            )
        if section == "mqtt":
            out.append("")
            formats = " | ".join(source.format for source in defaults.mqtt.sources)
            out.append(SOURCES_HELP.format(formats=formats).rstrip())
            for source in defaults.mqtt.sources:
                out.append("#\n# [[mqtt.sources]]")
                for key in ("name", "format", "topics"):
                    out.append(f"# {key} = {toml_value(getattr(source, key))}")
    return "\n".join(out) + "\n"


def run_example(settings: Settings, args: argparse.Namespace) -> int:
    print(example_text(), end="")
    return 0
