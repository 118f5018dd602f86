"""`lamplighter demo`: seed the demo London register into an empty database."""

from __future__ import annotations

import argparse
import time
from typing import Any

from register.audit import Actor
from register.demo import seed
from register.platform import db
from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="seed a realistic London register (18 organisations, ~2,000 devices) if empty"
    )
    parser.set_defaults(run=run_demo)


def seed_if_empty(settings: Settings) -> str:
    """Seed the demo register when the register is empty; say what happened."""
    with db.connect(settings) as conn:
        if not seed.register_is_empty(conn):
            return "the register is not empty, so no demo data was added"
        started = time.monotonic()
        report = seed.seed(conn, Actor("demo data"))
    return (
        f"seeded the demo register: {len(seed.organisation_entries())} organisations, "
        f"{len(report.created)} devices in {time.monotonic() - started:.1f} s"
    )


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    print(seed_if_empty(settings))
    return 0
