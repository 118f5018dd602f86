"""`lamplighter bench NAME`: run one of the benchmarks the installed packages declare.

Each package declares its benchmarks in the `lamplighter.benchmarks` entry-point group, as a
function that adds a subcommand to the parser given, so the register imports none of them.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("bench", help="measure speed and memory on the local services")
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    for plugin in sorted(entry_points(group="lamplighter.benchmarks"), key=lambda p: p.name):
        plugin.load()(benchmarks)
