"""`lamplighter ingest --processes N`: N ingesters in one shared-subscription group, supervised.

Each is a `lamplighter ingest` child with a client id of its own (the prefix and its number)
and a metrics port of its own (the base port and the following ones, passing over the jobs'),
and the broker gives each message of the group's topics to one of them. A child that exits is
started again (with a growing pause); SIGTERM or Ctrl-C stops them all, each finishing and
acknowledging its batch.
Every message is still stored once: an ingester acknowledges only what it committed, and what
one of them took but did not commit comes back to the group.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from register.platform.config import Settings
from register.stack.supervisor import Supervisor

SHARED_GROUP_ENV = "LAMPLIGHTER_MQTT_SHARED_GROUP"


def group_of(settings: Settings, client_id: str) -> str:
    """The shared-subscription group: the configured one, or one named after the client ids."""
    return settings.mqtt.shared_group or client_id


def metrics_ports(settings: Settings, count: int, metrics_port: int) -> list[int]:
    """Each ingester's metrics port: `metrics_port` and the ones after it, passing over the
    jobs' own (9108, 9110 … by default); all 0 (none) when `metrics_port` is 0."""
    if not metrics_port:
        return [0] * count
    ports: list[int] = []
    port = metrics_port
    while len(ports) < count:
        if port != settings.jobs.metrics_port:
            ports.append(port)
        port += 1
    return ports


def children(client_id: str, ports: list[int]) -> list[tuple[str, list[str]]]:
    """(name, `lamplighter` arguments) of each ingester, one per metrics port."""
    return [
        (
            f"ingest-{number}",
            [
                "ingest",
                "--processes",
                "1",
                "--client-id",
                f"{client_id}-{number}",
                "--metrics-port",
                str(port),
            ],
        )
        for number, port in enumerate(ports, 1)
    ]


def run(
    settings: Settings,
    count: int,
    *,
    client_id: str,
    metrics_port: int,
    config_file: Path | None,
    on_ready: Callable[[str], None],
) -> int:
    """Run `count` ingesters until SIGTERM or Ctrl-C; `on_ready(group)` once they are started."""
    group = group_of(settings, client_id)
    # The children read the same settings, with the group given to all of them.
    os.environ[SHARED_GROUP_ENV] = group
    ports = metrics_ports(settings, count, metrics_port)
    supervisor = Supervisor(children(client_id, ports), config_file)
    supervisor.run(on_ready=lambda: on_ready(group))
    return 0
