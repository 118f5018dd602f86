"""`lamplighter ingest`: run the ingester in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
from typing import Any

from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "ingest", help="store MQTT readings the register allows; quarantine the rest"
    )
    parser.add_argument(
        "--client-id",
        metavar="PREFIX",
        help="client id prefix (default: mqtt.client_id); each ingester needs its own",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="port of the Prometheus endpoint (default: ingest.metrics_port; 0 for none)",
    )
    parser.set_defaults(run=run_ingest)


def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.service import Ingester  # noqa: PLC0415 - keeps `lamplighter --help` fast

    if args.metrics_port is not None:
        settings = settings.with_values("ingest", metrics_port=args.metrics_port)
    return Ingester(settings, client_id=args.client_id).run(
        on_ready=lambda: print("ingesting; press Ctrl-C to stop", flush=True)
    )


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` always runs one ingester."""
    return ["ingest"]
