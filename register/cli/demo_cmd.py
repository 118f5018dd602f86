"""`lamplighter demo`: seed the demo London register into an empty database."""

from __future__ import annotations

import argparse
import time
from typing import Any

from register.accounts import users
from register.accounts.links import password_link
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
        report = seed.seed(conn, Actor(seed.DEMO_ACTOR))
    return (
        f"seeded the demo register: {len(seed.organisation_entries())} organisations, "
        f"{len(report.created)} devices in {time.monotonic() - started:.1f} s"
    )


DEMO_ADMIN = "demo.admin@lamplighter.example"
DEMO_ADMIN_ORGANISATION = "gla"


def demo_admin_link(settings: Settings) -> str | None:
    """In a demo register, a fresh one-time link that sets the demo administrator's password
    (the account is made the first time); None when the register is not the demo's."""
    with db.connect(settings) as conn, db.transaction(conn):
        known = users.list_users(conn, DEMO_ADMIN_ORGANISATION)
        if not any(row["email"] == DEMO_ADMIN for row in known):
            if not seed.is_demo_register(conn):
                return None
            users.add_user(
                conn,
                organisation=DEMO_ADMIN_ORGANISATION,
                email=DEMO_ADMIN,
                role="admin",
                display_name="Demo administrator",
            )
        try:
            return password_link(settings, users.reset_user(conn, DEMO_ADMIN))
        except users.AccountError:  # disabled on purpose: no link
            return None


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    print(seed_if_empty(settings))
    return 0
