"""`lamplighter up`: the whole stack in the foreground until Ctrl-C.

With the embedded default it starts the local services, applies migrations and runs the jobs
that follow them (as `db upgrade` does), seeds the demo into an empty register, then supervises
every process that the command line's commands declare (`process()`). Ctrl-C stops the
processes, and the local services too when `up` was the one that started them.
"""

from __future__ import annotations

import argparse
from typing import Any

from register.cli.demo_cmd import DEMO_ADMIN, demo_admin_link, seed_if_empty
from register.jobs import catalogue
from register.platform import db
from register.platform.config import Settings
from register.stack import embedded
from register.stack.cli.services_cmd import describe
from register.stack.supervisor import Supervisor, declared_processes


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


def run_up(settings: Settings, args: argparse.Namespace) -> int:
    report = lambda state, verb: print(describe(state, verb), flush=True)  # noqa: E731
    with embedded.running(settings, start_them=not args.no_services, report=report):
        with db.connect(settings) as conn:
            for migration in db.upgrade(conn):
                print(f"applied migration {migration.version:04d}_{migration.name}")
            for line in catalogue.run_after_upgrade(conn, settings):
                print(line)
        if args.no_demo:
            # No demo register, so nothing to simulate either.
            settings = settings.with_values("ingest", simulate_devices=0)
        else:
            print(seed_if_empty(settings), flush=True)
        if not settings.mqtt.url:
            # The ingester's account (and the simulator's, if it runs), before either connects.
            embedded.open_broker_to_clients(settings)
        admin_link = None if args.no_demo else demo_admin_link(settings)
        processes = declared_processes(settings)
        names = ", ".join(name for name, _ in processes)
        Supervisor(processes, args.config).run(
            on_ready=lambda: print(
                f"Lamplighter is up ({names}).\n{places_to_open(settings)}\n"
                f"{console_sign_in(admin_link)}Press Ctrl-C to stop.",
                flush=True,
            )
        )
    return 0


def console_sign_in(link: str | None) -> str:
    """How to sign in to the demo's console, when there is a link for it."""
    if link is None:
        return ""
    return f"The console: set the password of {DEMO_ADMIN} at\n  {link}\nthen sign in.\n"


def places_to_open(settings: Settings) -> str:
    """The addresses to open once the stack is up, one per line."""
    site = (settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}").rstrip(
        "/"
    )
    places = [
        (f"{site}/", "the register: find sensors on the map, open any device's card"),
        (f"{site}/system", "the scheduled jobs: when each last ran and what it did"),
        (f"{site}/about", "what Lamplighter guarantees, and how"),
        (f"{site}/api", "API v1 and its OpenAPI document"),
    ]
    if settings.ingest.metrics_port:
        metrics = f"http://{settings.ingest.metrics_host}:{settings.ingest.metrics_port}/metrics"
        places.append((metrics, "the ingester's counters for Prometheus"))
    if settings.jobs.metrics_port:
        metrics = f"http://{settings.jobs.metrics_host}:{settings.jobs.metrics_port}/metrics"
        places.append((metrics, "the jobs' counters for Prometheus"))
    width = max(len(url) for url, _ in places)
    return "Open:\n" + "\n".join(f"  {url:<{width}}  {what}" for url, what in places)
