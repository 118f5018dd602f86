"""`lamplighter simulate`: publish realistic readings for the register's active devices."""

from __future__ import annotations

import argparse
import signal
from types import FrameType
from typing import Any

from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate",
        help="publish realistic readings for active devices, in every format, each device that "
        "declares a reporting interval at its interval",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        metavar="N",
        help="how many devices to simulate (default: ingest.simulate_devices)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="R",
        help="messages per second over all devices (default: ingest.simulate_rate)",
    )
    parser.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="P",
        help="share of messages (0 to 1) with an undeclared metric or a wrong unit",
    )
    parser.add_argument(
        "--count", type=int, default=None, metavar="M", help="stop after M messages"
    )
    parser.add_argument(
        "--silent",
        action="append",
        default=[],
        metavar="PUBLIC_ID",
        help="a device to leave silent, so that it is marked not reporting (repeat for more)",
    )
    parser.set_defaults(run=run_simulate)


def run_simulate(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: keeps `lamplighter --help` fast.
    from ingest.publisher import PublishError  # noqa: PLC0415
    from ingest.simulate import Simulator  # noqa: PLC0415

    devices = settings.ingest.simulate_devices if args.devices is None else args.devices
    rate = settings.ingest.simulate_rate if args.rate is None else args.rate
    problems = []
    if devices < 1:
        problems.append("--devices must be 1 or more")
    if rate <= 0:
        problems.append("--rate must be greater than 0")
    if not 0 <= args.faults <= 1:
        problems.append("--faults must be from 0 to 1")
    if problems:
        print(f"lamplighter simulate: {'; '.join(problems)}")
        return 2
    simulator = Simulator(
        settings, devices=devices, rate=rate, faults=args.faults, silent=frozenset(args.silent)
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        simulator.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        sent = simulator.run(limit=args.count)
    except PublishError as error:
        print(f"lamplighter simulate: {error}")
        return 1
    print(f"published {sent} messages")
    return 0


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` simulates devices only on the embedded broker, never on a real one; it
    leaves the demo's `SILENT` devices silent, so that "not reporting" has something to show."""
    if settings.mqtt.url or settings.ingest.simulate_devices < 1:
        return None
    from register.demo.seed import SILENT  # noqa: PLC0415 - keeps `lamplighter --help` fast

    silent = [option for public_id in SILENT for option in ("--silent", public_id)]
    return [
        "simulate",
        "--devices",
        str(settings.ingest.simulate_devices),
        "--rate",
        str(settings.ingest.simulate_rate),
        "--faults",
        "0.01",
        *silent,
    ]
