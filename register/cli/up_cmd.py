"""`lamplighter up`: the whole stack in the foreground until Ctrl-C.

With the embedded default it starts the local services, applies migrations and stores any
missing export rows (as `db upgrade` does), then supervises every process the installed
packages declare. Ctrl-C stops the processes, and the local services too when `up` was the one
that started them.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
from types import FrameType
from typing import Any

from register import db, exports, localstack
from register.cli.demo_cmd import seed_if_empty
from register.cli.services_cmd import describe
from register.config import Settings
from register.supervisor import Supervisor, declared_processes


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("up", help="run the whole stack in the foreground")
    parser.add_argument(
        "--no-services",
        action="store_true",
        help="do not start the embedded PostgreSQL and Mosquitto (use configured servers)",
    )
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help="do not seed the demo register into an empty database",
    )
    parser.set_defaults(run=run_up)


def uses_embedded_services(settings: Settings) -> bool:
    return not settings.database.url or not settings.mqtt.url


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_up(settings: Settings, args: argparse.Namespace) -> int:
    # Until the supervisor takes over, SIGTERM unwinds like Ctrl-C, so that the `finally` below
    # stops whatever was started.
    signal.signal(signal.SIGTERM, _interrupt)
    started_here = []
    if uses_embedded_services(settings) and not args.no_services:
        for state in localstack.start(settings):
            print(describe(state, "started"))
            if state.changed:
                started_here.append(state.name)
    try:
        with db.connect(settings) as conn:
            for migration in db.upgrade(conn):
                print(f"applied migration {migration.version:04d}_{migration.name}")
            if stored := exports.store_missing_rows(conn):
                print(f"stored the export rows of {stored} devices")
        if args.no_demo:
            # No demo register, so nothing to simulate either.
            settings = dataclasses.replace(
                settings, ingest=dataclasses.replace(settings.ingest, simulate_devices=0)
            )
        else:
            print(seed_if_empty(settings), flush=True)
        processes = declared_processes(settings)
        names = ", ".join(name for name, _ in processes) or "no processes are installed yet"
        Supervisor(processes, args.config).run(
            on_ready=lambda: print(
                f"Lamplighter is up ({names}). Press Ctrl-C to stop.", flush=True
            )
        )
    finally:
        if started_here:
            for state in localstack.stop(settings, only=started_here):
                print(describe(state, "stopped"))
    return 0
