"""The `lamplighter` command line: one subcommand per job, each in its own module.

The register's own commands are listed here. Other packages add theirs through the
`lamplighter.commands` entry-point group, so this package never imports `ingest` or `web`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from register import config
from register.cli import (
    bench_cmd,
    config_cmd,
    db_cmd,
    demo_cmd,
    devices_cmd,
    orgs_cmd,
    services_cmd,
    up_cmd,
)
from register.db import DatabaseError
from register.localstack import ServiceError

BUILTIN_COMMANDS = (
    config_cmd,
    services_cmd,
    db_cmd,
    orgs_cmd,
    devices_cmd,
    demo_cmd,
    up_cmd,
    bench_cmd,
)
EXIT_CONFIG_ERROR = 2
LOG_FORMAT = "lamplighter: %(message)s"
LOG_FORMAT_VERBOSE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamplighter",
        description="A public register of street sensors that enforces what it declares.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: $LAMPLIGHTER_CONFIG, else ./config.toml if present)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in BUILTIN_COMMANDS:
        module.add_parser(commands)
    for plugin in entry_points(group="lamplighter.commands"):
        plugin.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=LOG_FORMAT_VERBOSE if args.verbose else LOG_FORMAT,
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    try:
        settings = config.load(args.config or config.default_config_path())
        return int(args.run(settings, args) or 0)
    except config.ConfigError as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except (ServiceError, DatabaseError) as error:
        print(f"lamplighter: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
