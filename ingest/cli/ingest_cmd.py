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
    parser.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="run N ingesters in one shared-subscription group (default: ingest.processes)",
    )
    parser.set_defaults(run=run_ingest)


def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    count = args.processes if args.processes is not None else settings.ingest.processes
    if count < 1:
        raise SystemExit("lamplighter: --processes must be 1 or more")
    if count > 1:
        from ingest import processes  # noqa: PLC0415 - keeps `lamplighter --help` fast

        metrics_port = (
            args.metrics_port if args.metrics_port is not None else settings.ingest.metrics_port
        )

        return processes.run(
            settings,
            count,
            client_id=args.client_id or settings.mqtt.client_id,
            metrics_port=metrics_port,
            config_file=args.config,
            on_ready=lambda group: print(
                f"ingesting with {count} processes in the shared group {group!r};"
                " press Ctrl-C to stop",
                flush=True,
            ),
        )
    from ingest.service import Ingester  # noqa: PLC0415 - keeps `lamplighter --help` fast

    if args.metrics_port is not None:
        settings = settings.with_values("ingest", metrics_port=args.metrics_port)
    return Ingester(settings, client_id=args.client_id).run(
        on_ready=lambda: print("ingesting; press Ctrl-C to stop", flush=True)
    )


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` always runs one ingester."""
    return ["ingest"]
