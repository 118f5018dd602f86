"""`lamplighter services start|stop|status`: the embedded PostgreSQL and Mosquitto under var/."""

from __future__ import annotations

import argparse
import json
from typing import Any

from register.platform.config import Settings
from register.stack import embedded
from register.stack.embedded import ServiceState


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "services", help="start, stop or check the embedded PostgreSQL and Mosquitto"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="start both services (creating them the first time)")
    start.set_defaults(run=lambda s, a: report(embedded.start(s), a, "started"))
    stop = actions.add_parser("stop", help="stop both services; their data stays under var/")
    stop.set_defaults(run=lambda s, a: report(embedded.stop(s), a, "stopped"))
    status = actions.add_parser("status", help="say what runs where")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=run_status)


def describe(state: ServiceState, verb: str) -> str:
    if state.changed:
        what = f"{verb}, pid {state.pid}" if state.running else verb
    elif state.running:
        what = f"running, pid {state.pid}"
    else:
        what = state.detail or "stopped"
    return f"{state.name:<11} {what:<24} {state.address:<18} data: {state.data_dir}"


def report(states: list[ServiceState], args: argparse.Namespace, verb: str) -> int:
    for state in states:
        print(describe(state, verb))
    return 0


def run_status(settings: Settings, args: argparse.Namespace) -> int:
    states = embedded.status(settings)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "running": s.running,
                        "pid": s.pid,
                        "address": s.address,
                        "data_dir": str(s.data_dir),
                        "detail": s.detail,
                    }
                    for s in states
                ],
                indent=2,
            )
        )
    else:
        for state in states:
            print(describe(state, "running"))
    # Like `systemctl is-active`: a script can ask "is it all up?" from the exit code.
    return 0 if all(s.running for s in states) else 3
