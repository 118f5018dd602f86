"""`lamplighter db upgrade|status`: apply and inspect the numbered migrations.

After migrating, `upgrade` also stores the devices' export rows that are missing or outdated
(after a bulk load, or a new encoding), so that the next export need not encode them.
"""

from __future__ import annotations

import argparse
from typing import Any

from register.jobs import catalogue
from register.platform import db
from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("db", help="apply or inspect database migrations")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    upgrade = actions.add_parser(
        "upgrade",
        help="apply pending migrations, then the jobs that follow them (a no-op when none)",
    )
    upgrade.set_defaults(run=run_upgrade)
    status = actions.add_parser("status", help="list migrations, applied and pending")
    status.add_argument(
        "--check", action="store_true", help="exit 1 when a migration is pending or edited"
    )
    status.set_defaults(run=run_status)


def run_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        applied = db.upgrade(conn)
        done = catalogue.run_after_upgrade(conn, settings)
        total = len(db.available_migrations())
        version = db.timescaledb_version(conn)
    for migration in applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        print(f"database is up to date ({total} migrations applied)")
    for line in done:
        print(line)
    print(f"TimescaleDB {version}")
    return 0


def run_status(settings: Settings, args: argparse.Namespace) -> int:
    with db.connect(settings) as conn:
        states = db.migration_status(conn)
        version = db.timescaledb_version(conn)
        server = conn.info.parameter_status("server_version")
    print(
        f"PostgreSQL {server}, TimescaleDB {version or 'not created (run: lamplighter db upgrade)'}"
    )
    for state in states:
        m = state.migration
        if state.edited:
            when = "EDITED after it was applied"
        elif state.applied:
            when = f"applied {state.applied_at:%Y-%m-%d %H:%M:%S %Z}"
        else:
            when = "pending"
        print(f"  {m.version:04d}_{m.name:<30} {when}")
    pending = [s for s in states if not s.applied or s.edited]
    return 1 if args.check and pending else 0
