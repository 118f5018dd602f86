"""The `lamplighter` command line: `main`, and the table of every package's commands.

Each command is a module with `add_parser(subcommands)`; a command that `lamplighter up` runs
as a long-lived process also has `process(settings)`, which gives its arguments (or None when it
should not run). The table names every such module, so a plain checkout has every command:
nothing is found through installed entry points. The long-running commands (`ingest`,
`simulate`, `web`) import their package's working code only when they run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from register.platform import config
from register.platform.db import DatabaseError
from register.stack.embedded import ServiceError

# In the order `lamplighter --help` lists them.
COMMANDS = (
    "register.platform.cli.config_cmd",
    "register.stack.cli.services_cmd",
    "register.platform.cli.db_cmd",
    "register.cli.orgs_cmd",
    "register.cli.devices_cmd",
    "register.cli.demo_cmd",
    "register.cli.users_cmd",
    "register.cli.tokens_cmd",
    "register.cli.broker_cmd",
    "register.stack.cli.up_cmd",
    "ingest.cli.ingest_cmd",
    "ingest.cli.simulate_cmd",
    "web.cli.web_cmd",
    "register.cli.jobs_cmd",
    "register.platform.cli.bench_cmd",
)
EXIT_CONFIG_ERROR = 2
LOG_FORMAT = "lamplighter: %(message)s"
LOG_FORMAT_VERBOSE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def command_modules() -> list[ModuleType]:
    """Every command's module, in the table's order."""
    return [importlib.import_module(name) for name in COMMANDS]


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
    for module in command_modules():
        module.add_parser(commands)
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
